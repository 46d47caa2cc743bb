"""Synthetic multi-speaker conversations with ground-truth RTTM, for diarization evaluation.

Built from the shared LibriSpeech readers (and espeak-ng for the ``tts`` condition), seeded
and deterministic, so the set is rebuilt rather than committed::

    python -m voxguard.evaluation.conversations --out artifacts/diar --seed 0

Turns of 1.5-8 s are cut at the speakers' pauses, separated by 0.2-1.5 s pauses or started
before the previous turn ends so that 10-20 % of the speech is overlapped; speakers' levels
differ by up to +-6 dB. Conditions: ``clean``, ``phone`` (8 kHz call codecs), ``babble``
(three other readers at 10 dB SNR) and ``tts`` (a reader talking with an espeak-ng voice).
"""

from voxguard.evaluation.conversations.build import CONDITIONS, SetOptions, build_set
from voxguard.evaluation.conversations.timeline import ComposeParams, Conversation, compose

__all__ = ["CONDITIONS", "ComposeParams", "Conversation", "SetOptions", "build_set", "compose"]
