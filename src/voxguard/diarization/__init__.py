"""Who spoke when: VAD, speaker embeddings on sliding windows, clustering with the number of
speakers estimated, then turns with overlapping speech attributed (``Diarizer``)."""

from voxguard.diarization.rttm import parse_rttm, to_rttm
from voxguard.diarization.types import Diarization, Turn

__all__ = ["Diarization", "Turn", "parse_rttm", "to_rttm"]
