"""Spoof-detector training: feature cache, models, protocols and ONNX export (needs torch)."""
