"""Spoof-detection training data: corpus builder, channel augmentation, evaluation protocols.

Installed with the ``train`` extra. Nothing in the service imports this package: the
generators it drives (TTS engines, neural vocoders) stay out of the serving import graph.
"""
