"""``voxguard stream``: follow a call live, from a file played as one or from a microphone."""

from __future__ import annotations

import queue
import time
from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from rich.console import Console

from voxguard.audio import load_audio
from voxguard.audio.live import live_decoder
from voxguard.audio.opus import OpusEncoder
from voxguard.cli.errors import handle_errors
from voxguard.cli.local import actor, local_runtime
from voxguard.errors import AudioDecodeError, ConfigurationError
from voxguard.services.schemas import StreamUpdateOut
from voxguard.services.streaming import RATE, LiveAnalysis

console = Console()
CHUNK_S = 0.1
PACKET_S = 0.02  # an Opus packet's audio: a file plays as a line would send it
_STYLE = {"LOW": "green", "MEDIUM": "yellow", "HIGH": "bold red"}


def register(app: typer.Typer) -> None:
    app.command()(stream)


class Encoding(StrEnum):
    PCM = "pcm"
    OPUS = "opus"


def _file_chunks(path: Path, realtime: bool, chunk_s: float = CHUNK_S) -> Iterator[np.ndarray]:
    if not path.is_file():
        raise AudioDecodeError(f"Audio file not found: {path}", path=str(path))
    samples = load_audio(path).samples
    step = int(chunk_s * RATE)
    started = time.monotonic()
    for index, first in enumerate(range(0, samples.size, step)):
        if realtime:  # deliver each chunk when a live line would have
            time.sleep(max(0.0, started + (index + 1) * chunk_s - time.monotonic()))
        yield samples[first : first + step]


def _updates(
    live: LiveAnalysis, chunks: Iterator[np.ndarray], encoding: Encoding
) -> Iterator[StreamUpdateOut]:
    """Samples straight in, or through Opus packets decoded as /v1/stream decodes them."""
    if encoding is Encoding.PCM:
        for chunk in chunks:
            yield from live.feed(chunk)
        return
    encoder = OpusEncoder()
    for chunk in chunks:
        for packet in encoder.encode(chunk):
            yield from live.feed_bytes(packet)
    for packet in encoder.flush():
        yield from live.feed_bytes(packet)


def _mic_chunks() -> Iterator[np.ndarray]:  # pragma: no cover - needs a sound card
    try:
        import sounddevice  # type: ignore[import-not-found]
    except ImportError:
        raise ConfigurationError(
            "--mic needs the sounddevice package and a microphone: pip install sounddevice."
        ) from None
    chunks: queue.Queue[np.ndarray] = queue.Queue()
    with sounddevice.InputStream(
        samplerate=RATE,
        channels=1,
        dtype="float32",
        blocksize=int(CHUNK_S * RATE),
        callback=lambda data, *_: chunks.put(data[:, 0].copy()),
    ):
        console.print("Listening; Ctrl-C ends the call.")
        try:
            while True:
                yield chunks.get()
        except KeyboardInterrupt:
            return


def _line(update: StreamUpdateOut) -> str:
    who = update.display_name or (f"{update.speaker} (unknown)" if update.speaker else "silence")
    spoof = "-" if update.spoof_probability is None else f"{update.spoof_probability:.2f}"
    style = _STYLE.get(update.risk.level, "")
    took = f"{update.compute_s * 1000:.0f} ms"
    return (
        f"{update.t_s:6.1f} s  {who:<24} P(synthetic) {spoof:>4}  "
        f"[{style}]{update.risk.level:<6}[/] {update.risk.verdict}  ({took})"
    )


@handle_errors
def stream(
    file: Annotated[Path | None, typer.Argument(help="A recording to play as a live call.")] = None,
    realtime: Annotated[
        bool, typer.Option("--realtime", help="Play the file at the pace of a live call.")
    ] = False,
    mic: Annotated[bool, typer.Option("--mic", help="Listen to the microphone instead.")] = False,
    encoding: Annotated[
        Encoding,
        typer.Option(
            help="How the audio travels: 16-bit PCM, or Opus packets of 20 ms (encoded here, "
            "decoded as /v1/stream decodes them)."
        ),
    ] = Encoding.PCM,
) -> None:
    """Follow a call as it happens: about once a second, who is speaking, the spoof
    probability of the last window and the risk; at the end the whole call is analysed and
    stored as an event."""
    if (file is None) == (not mic):
        raise ConfigurationError("Give a FILE to play, or --mic.")
    chunk_s = PACKET_S if encoding is Encoding.OPUS else CHUNK_S
    with local_runtime() as runtime:
        live = LiveAnalysis(runtime, actor(), live_decoder(encoding))
        chunks = _mic_chunks() if file is None else _file_chunks(file, realtime, chunk_s)
        for update in _updates(live, chunks, encoding):
            console.print(_line(update), highlight=False, soft_wrap=True)
        result = live.finish(file.name if file else "microphone.wav")
    console.print(
        f"Call stored (event {result.event_id}): {result.num_speakers} speaker(s), "
        f"risk {result.risk.level}: {result.risk.verdict}"
    )
    for summary in result.speakers:
        name = summary.display_name or "unknown"
        console.print(
            f"  {summary.speaker}: {name}, {summary.speech_s:.1f} s, {summary.risk.level}"
        )
