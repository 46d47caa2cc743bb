"""Detection metrics shared by speaker verification and spoof evaluation."""
