"""/v1/stream: a live call over a WebSocket, with the real models."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pytest
from starlette.websockets import WebSocketDisconnect

from tests.api.conftest import Api, make_settings, open_api
from tests.databases import database_url
from tests.diarization.conversation import human_and_tts
from voxguard.audio import load_audio
from voxguard.audio.opus import MAX_BAD_IN_A_ROW, OpusEncoder
from voxguard.config import Settings
from voxguard.services.engines import Loaded, load_spoof_detector
from voxguard.speaker.engine import SpeakerEngine

BAD = b"\x03\x00"  # an Opus packet of zero frames: no decoder takes it


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    tmp: Path = tmp_path_factory.mktemp("stream")
    with database_url("sqlite", tmp) as url:
        settings = make_settings(tmp, url, max_duration_s=60.0)
        speaker = Loaded(SpeakerEngine(Settings()))
        for api in open_api(settings, speaker=speaker, spoof=load_spoof_detector(settings)):
            enrollment, _ = human_and_tts()
            response = api.client.post(
                "/v1/speakers",
                data={"name": "Alice"},
                files=[("files", ("alice.wav", enrollment, "audio/wav"))],
                headers=api.headers("operator"),
            )
            assert response.status_code == 201, response.text
            yield api


def _pcm(seconds: float | None = None) -> bytes:
    _, conversation = human_and_tts()
    samples = load_audio(conversation).samples
    if seconds is not None:
        samples = samples[: int(seconds * 16000)]
    return (np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes()


def _opus(pcm: bytes) -> list[bytes]:
    """The same call as a WebRTC client sends it: one 20 ms Opus packet a message."""
    samples = np.frombuffer(pcm, "<i2").astype(np.float32) / 32768
    encoder = OpusEncoder()
    packets = [
        p for start in range(0, samples.size, 320) for p in encoder.encode(samples[start:][:320])
    ]
    return packets + encoder.flush()


def _token(api: Api, role: str = "operator") -> str:
    token: str = api.client.post("/v1/auth/token", headers=api.headers(role)).json()["access_token"]
    return token


class Call(NamedTuple):
    ready: dict[str, Any]
    updates: list[dict[str, Any]]
    final: dict[str, Any]


def _call(api: Api, messages: list[bytes], query: str = "") -> Call:
    """Send a call's messages, then 'end': what the server sent back."""
    updates: list[dict[str, Any]] = []
    with api.client.websocket_connect(f"/v1/stream?token={_token(api)}{query}") as ws:
        ready = ws.receive_json()
        for message in messages:
            ws.send_bytes(message)
        ws.send_text("end")
        while (message := ws.receive_json())["type"] == "update":
            updates.append(message)
    return Call(ready, updates, message)


@pytest.fixture(scope="module")
def pcm_call(api: Api) -> Call:
    pcm = _pcm()
    return _call(api, [pcm[start : start + 3200] for start in range(0, len(pcm), 3200)])


def test_a_live_call_gets_rolling_results_and_is_stored(api: Api, pcm_call: Call) -> None:
    pcm = _pcm()
    ready, updates, message = pcm_call
    assert ready["type"] == "ready" and ready["sample_rate"] == 16000
    assert ready["format"] == "pcm_s16le"
    assert message["type"] == "final"
    seconds = len(pcm) / 32000
    assert len(updates) == int(seconds)  # one a second
    assert [u["t_s"] for u in updates] == [float(i + 1) for i in range(len(updates))]
    # The reader opens the call and is recognised within its first turn; the TTS voice that
    # answers is flagged.
    assert "Alice" in {u["display_name"] for u in updates[:5]}
    tts_turn = [u for u in updates if 6 <= u["t_s"] <= 10]
    assert any(u["is_synthetic"] for u in tts_turn)
    assert updates[-1]["turns"] and all(u["compute_s"] < 1.0 for u in updates)
    assert all(u["bad_packets"] == 0 for u in updates)
    result = message["result"]
    # The final analysis estimates the count; on this MelGAN voice it may split it in two
    # (Round 1, docs/diarization-experiments/2026-12-05-development-set-tuning.md), so only
    # the reader and the verdict are pinned here.
    assert "Alice" in {s["display_name"] for s in result["speakers"]}
    assert result["num_speakers"] >= 2 and result["risk"]["level"] == "HIGH"
    event = api.client.get(f"/v1/events/{result['event_id']}", headers=api.headers())
    assert event.json()["operation"] == "stream"


def test_credentials_and_bad_audio_are_refused(api: Api) -> None:
    for url in (
        "/v1/stream",
        "/v1/stream?token=nonsense",
        f"/v1/stream?token={_token(api, 'reader')}",
    ):
        with api.client.websocket_connect(url) as ws:
            error = ws.receive_json()
            assert error["type"] == "error" and error["code"] in (
                "authentication_required",
                "invalid_credentials",
                "permission_denied",
            ), error
            with pytest.raises(WebSocketDisconnect) as closed:
                ws.receive_json()
            assert closed.value.code == 1008
    with api.client.websocket_connect(f"/v1/stream?token={_token(api)}") as ws:
        ws.receive_json()
        ws.send_bytes(b"\x01\x02\x03")
        error = ws.receive_json()
        assert error["code"] == "invalid_input" and "16-bit" in error["error"]


def test_a_call_over_the_limit_is_cut_with_a_message(api: Api) -> None:
    too_long = b"\x00\x00" * (16000 * 61)
    with api.client.websocket_connect(f"/v1/stream?token={_token(api)}") as ws:
        ws.receive_json()
        ws.send_bytes(too_long)
        error = ws.receive_json()
        assert error["code"] == "audio_too_long" and "60 s" in error["error"]


def test_an_opus_call_gets_the_results_of_the_same_call_in_pcm(api: Api, pcm_call: Call) -> None:
    ready, updates, final = _call(api, _opus(_pcm()), "&encoding=opus&sample_rate=48000")
    _, pcm_updates, pcm_final = pcm_call
    assert (ready["format"], ready["sample_rate"]) == ("opus", 48000)
    assert final["type"] == "final" and len(updates) == len(pcm_updates)
    pairs = list(zip(updates, pcm_updates, strict=True))
    same_name = [u["display_name"] == p["display_name"] for u, p in pairs]
    assert sum(same_name) >= 0.9 * len(updates)
    assert any(u["is_synthetic"] for u in updates if 6 <= u["t_s"] <= 10)
    # Opus at 32 kb/s lifts the detector's P(synthetic) on this call by 0.11 on average and
    # 0.26 at most (the reader's whole-call score 0.32 -> 0.50, docs/api.md): bounded here.
    shift = [abs((u["spoof_probability"] or 0) - (p["spoof_probability"] or 0)) for u, p in pairs]
    assert np.mean(shift) < 0.15 and max(shift) < 0.35
    speakers, pcm_speakers = final["result"]["speakers"], pcm_final["result"]["speakers"]
    reader = next(s for s in speakers if s["display_name"] == "Alice")
    pcm_reader = next(s for s in pcm_speakers if s["display_name"] == "Alice")
    assert abs(reader["spoof_probability"] - pcm_reader["spoof_probability"]) < 0.25
    assert final["result"]["risk"]["level"] == pcm_final["result"]["risk"]["level"] == "HIGH"


def test_a_damaged_opus_packet_is_counted_and_the_call_goes_on(api: Api) -> None:
    packets = _opus(_pcm(4.0))
    damaged = [BAD if index % 20 == 5 else p for index, p in enumerate(packets)]
    _, updates, final = _call(api, damaged, "&encoding=opus")
    assert [u["bad_packets"] for u in updates] == [3, 5, 8, 10]  # 1 in 20: 2.5 a second
    assert final["type"] == "final" and final["result"]["duration_s"] == pytest.approx(4, abs=0.1)


@pytest.mark.parametrize(
    ("query", "messages", "code", "close", "says"),
    [
        ("&encoding=opus", [BAD] * MAX_BAD_IN_A_ROW, "audio_decode_error", 1003, "in a row"),
        ("&encoding=opus", [b"\x78" * 9000], "audio_too_large", 1009, "not one Opus packet"),
        ("&encoding=opus", [b"OggS" + bytes(60)], "unsupported_audio_format", 1003, "Ogg page"),
        ("&encoding=mp3", [], "unsupported_audio_format", 1003, "accepted are pcm_s16le"),
        ("&encoding=opus&sample_rate=44100", [], "unsupported_audio_format", 1003, "48000 Hz"),
        ("&sample_rate=8000", [], "unsupported_audio_format", 1003, "16000 Hz"),
    ],
)
def test_bad_opus_and_unsupported_encodings_are_refused_with_a_reason(
    api: Api, query: str, messages: list[bytes], code: str, close: int, says: str
) -> None:
    with api.client.websocket_connect(f"/v1/stream?token={_token(api)}{query}") as ws:
        if messages:
            assert ws.receive_json()["format"] == "opus"
        for message in messages:
            ws.send_bytes(message)
        error = ws.receive_json()
        assert error["type"] == "error" and error["code"] == code and says in error["error"]
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
        assert closed.value.code == close
