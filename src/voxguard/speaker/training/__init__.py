"""Fitting the speaker back end (offline; used by scripts/ and bench/, never at serve time)."""
