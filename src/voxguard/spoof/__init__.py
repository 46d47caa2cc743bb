"""Synthetic-speech (spoof) detection with the bundled ONNX model."""

from voxguard.spoof.detector import SpoofDetector, SpoofResult, WindowScore

__all__ = ["SpoofDetector", "SpoofResult", "WindowScore"]
