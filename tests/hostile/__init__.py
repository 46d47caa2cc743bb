"""The hostile-input corpus: see corpus.py."""
