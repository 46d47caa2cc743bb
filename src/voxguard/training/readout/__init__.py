"""Retraining the spoof detector's read-out on uploaded recordings (needs the export extra)."""
