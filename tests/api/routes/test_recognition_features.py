"""Privacy mode over HTTP: verify and identify on features sent instead of audio, served by
the real speaker engine; bad payloads get clear 4xx answers and leave nothing behind."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import func, select

from tests.api.audio import speaker_halves
from tests.api.conftest import Api, make_settings, open_api
from tests.databases import BACKENDS, database_url
from voxguard.audio import load_audio
from voxguard.config import Settings
from voxguard.services.engines import Loaded
from voxguard.speaker.engine import SpeakerEngine
from voxguard.speaker.frames import features_of
from voxguard.store.models import CheckEvent

MAX_DURATION_S = 30.0
VERIFY, IDENTIFY = "/v1/verify/features", "/v1/identify/features"


@pytest.fixture(scope="module")
def engine() -> SpeakerEngine:
    return SpeakerEngine(Settings())


@pytest.fixture(scope="module", params=BACKENDS)
def api(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    engine: SpeakerEngine,
) -> Iterator[Api]:
    """Alice and Bob enrolled from audio (first halves of two LibriSpeech readers)."""
    tmp_path: Path = tmp_path_factory.mktemp("features")
    with database_url(request.param, tmp_path) as url:
        settings = make_settings(tmp_path, url, max_duration_s=MAX_DURATION_S, store_raw_audio=True)
        for api in open_api(settings, speaker=Loaded(engine)):
            for name, reader in (("Alice", 0), ("Bob", 1)):
                first, _ = speaker_halves(reader)
                response = api.client.post(
                    "/v1/speakers",
                    data={"name": name},
                    files=[("files", (f"{name}.wav", first, "audio/wav"))],
                    headers=api.headers("operator"),
                )
                assert response.status_code == 201, response.text
                api.keys[name] = response.json()["speaker"]["id"]
            yield api


def features(recording: bytes | np.ndarray) -> dict[str, Any]:
    """The JSON a privacy-mode client sends for a recording (as web/src/lib/melFeatures.ts)."""
    samples = load_audio(recording).samples if isinstance(recording, bytes) else recording
    payload = features_of(samples)
    return {
        "sample_rate": 16000,
        "n_fft": 400,
        "hop_length": 160,
        "n_mels": 40,
        "n_samples": payload.n_samples,
        "mel": payload.mel.tolist(),
        "frame_rms": payload.frame_rms.tolist(),
        "fbank": payload.fbank.tolist() if payload.fbank is not None else None,
    }


def _events(api: Api) -> list[CheckEvent]:
    with api.runtime.store.sessions() as session:
        return list(session.scalars(select(CheckEvent).order_by(CheckEvent.created_at)))


def _event_count(api: Api) -> int:
    with api.runtime.store.sessions() as session:
        return session.scalar(select(func.count()).select_from(CheckEvent)) or 0


def test_verify_by_features_accepts_the_speaker_and_rejects_another(api: Api) -> None:
    _, alice_b = speaker_halves(0)
    _, bob_b = speaker_halves(1)
    op = api.headers("operator")
    same = api.client.post(
        VERIFY, json={"speaker_id": api.keys["Alice"], "features": features(alice_b)}, headers=op
    )
    assert same.status_code == 200, same.text
    body = same.json()
    assert body["accepted"] and body["decision"] == "accept" and body["display_name"] == "Alice"
    assert body["probability"] > 0.5 and body["normalized_score"] >= body["threshold"]
    assert body["quality"]["speech_s"] > 3 and body["quality"]["codes"] == []

    other = api.client.post(
        VERIFY, json={"speaker_id": api.keys["Alice"], "features": features(bob_b)}, headers=op
    ).json()
    assert not other["accepted"] and other["decision"] == "reject"
    assert other["probability"] < 0.5 and other["similarity"] < body["similarity"] - 0.3

    # The event says what was received: features, no audio, even with raw audio kept.
    event = api.client.get(f"/v1/events/{body['event_id']}", headers=api.headers("reader"))
    audio = event.json()["audio"]
    assert event.json()["operation"] == "verify" and event.json()["decision"] == "accept"
    assert audio["source"] == "features" and audio["audio_stored"] is False
    assert audio["frames"] == len(features(alice_b)["mel"]) and audio["vad"] == "energy"
    stored = {e.id: e for e in _events(api)}[body["event_id"]]
    assert stored.raw_audio is None and stored.speaker_id == api.keys["Alice"]


def test_features_and_audio_of_one_recording_get_the_same_decision(api: Api) -> None:
    op = api.headers("operator")
    for reader, speaker in ((0, "Alice"), (1, "Alice"), (1, "Bob")):
        _, probe = speaker_halves(reader)
        by_audio = api.client.post(
            "/v1/verify",
            data={"speaker_id": api.keys[speaker]},
            files={"file": ("probe.wav", probe, "audio/wav")},
            headers=op,
        ).json()
        by_features = api.client.post(
            VERIFY, json={"speaker_id": api.keys[speaker], "features": features(probe)}, headers=op
        ).json()
        assert by_features["decision"] == by_audio["decision"]
        assert by_features["similarity"] == pytest.approx(by_audio["similarity"], abs=0.05)
        assert by_features["quality"]["snr_db"] == pytest.approx(
            by_audio["quality"]["snr_db"], abs=1.0
        )


def test_identify_by_features(api: Api) -> None:
    _, alice_b = speaker_halves(0)
    _, bob_b = speaker_halves(1)
    stranger, _ = speaker_halves(2)
    op = api.headers("operator")
    for probe, name in ((alice_b, "Alice"), (bob_b, "Bob")):
        found = api.client.post(IDENTIFY, json={"features": features(probe)}, headers=op)
        assert found.status_code == 200, found.text
        assert found.json()["decision"] == "identified"
        assert found.json()["best"]["display_name"] == name
    unknown = api.client.post(
        IDENTIFY, json={"features": features(stranger), "top_k": 1}, headers=op
    ).json()
    assert unknown["decision"] == "unknown" and unknown["best"] is None
    assert len(unknown["candidates"]) == 1
    last = _events(api)[-1]
    assert last.operation == "identify" and last.audio["source"] == "features"


# --- refusals ------------------------------------------------------------------------------


def _good() -> dict[str, Any]:
    return features(speaker_halves(0)[1])


def _burst(seconds: float) -> np.ndarray:
    rng = np.random.default_rng(0)
    quiet = 1e-3 * rng.standard_normal(16000)
    loud = 0.1 * rng.standard_normal(int(seconds * 16000))
    return np.concatenate([quiet, loud, quiet]).astype(np.float32)


def _with(**changes: Any) -> dict[str, Any]:
    payload = _good()
    payload.update(changes)
    return payload


def _narrow_rows() -> dict[str, Any]:
    payload = _good()
    payload["mel"] = [row[:39] for row in payload["mel"]]
    return payload


def _negative() -> dict[str, Any]:
    payload = _good()
    payload["mel"][10][3] = -1.0
    return payload


def _too_long() -> dict[str, Any]:
    n_samples = int(MAX_DURATION_S * 16000) + 160
    frames = 1 + n_samples // 160
    return _with(n_samples=n_samples, mel=[[0.0] * 40] * frames, frame_rms=[0.0] * frames)


BAD: dict[str, tuple[Any, int, str, str]] = {
    "n_mels": (lambda: _with(n_mels=80), 422, "invalid_features", "only 40 is accepted"),
    "rows": (_narrow_rows, 422, "invalid_features", "each frame must have 40"),
    "rate": (lambda: _with(sample_rate=44100), 422, "invalid_features", "only 16000"),
    "hop": (lambda: _with(hop_length=256), 422, "invalid_features", "only 160"),
    "frames": (
        lambda: _with(n_samples=_good()["n_samples"] + 800),
        422,
        "invalid_features",
        "samples make 1 +",
    ),
    "negative": (_negative, 422, "invalid_features", "must be finite and >= 0"),
    "too_long": (_too_long, 413, "features_too_long", f"at most {MAX_DURATION_S:.0f} s"),
    "silence": (
        lambda: features(np.zeros(3 * 16000, dtype=np.float32)),
        422,
        "no_speech",
        "no speech was found",
    ),
    "short": (lambda: features(_burst(0.3)), 422, "audio_too_short", "at least 0.50 s"),
    "missing": (
        lambda: {k: v for k, v in _good().items() if k != "frame_rms"},
        422,
        "validation_error",
        "features.frame_rms",
    ),
    "extra": (lambda: _with(audio="UklGRg=="), 422, "validation_error", "features.audio"),
    # the CAM++ speaker model embeds Kaldi filterbanks, not the mel
    "no_fbank": (
        lambda: {k: v for k, v in _good().items() if k != "fbank"},
        422,
        "invalid_features",
        "fbank is missing: this server's speaker model (CAM++)",
    ),
    "fbank_frames": (
        lambda: _with(fbank=_good()["fbank"][:-1]),
        422,
        "invalid_features",
        "fbank has",
    ),
}


def _send(api: Api, endpoint: str, payload: dict[str, Any] | str) -> Any:
    body: dict[str, Any] | str
    if isinstance(payload, str):  # raw JSON text (NaN is not valid JSON for the client)
        wrapper = f'"speaker_id": "{api.keys["Alice"]}", ' if endpoint == VERIFY else ""
        body = "{" + wrapper + '"features": ' + payload + "}"
        headers = {**api.headers("operator"), "Content-Type": "application/json"}
        return api.client.post(endpoint, content=body, headers=headers)
    body = {"features": payload}
    if endpoint == VERIFY:
        body["speaker_id"] = api.keys["Alice"]
    return api.client.post(endpoint, json=body, headers=api.headers("operator"))


@pytest.mark.parametrize("kind", list(BAD))
@pytest.mark.parametrize("endpoint", [VERIFY, IDENTIFY])
def test_bad_payload_is_refused_clearly_and_records_nothing(
    api: Api, endpoint: str, kind: str
) -> None:
    make, status, code, message = BAD[kind]
    before = _event_count(api)
    response = _send(api, endpoint, make())
    body = response.json()
    assert response.status_code == status, body
    assert set(body) == {"error", "detail", "code"}
    assert body["code"] == code and message in body["error"], body
    assert _event_count(api) == before


def test_non_finite_values_are_refused(api: Api) -> None:
    text = json.dumps(_good())
    first_value = text.index('"mel": [[') + len('"mel": [[')
    end = text.index(",", first_value)
    response = _send(api, VERIFY, text[:first_value] + "NaN" + text[end:])
    assert response.status_code == 422
    assert response.json()["code"] == "invalid_features"
    assert "mel[0, 0] is nan" in response.json()["error"]


def test_unknown_speaker_and_roles(api: Api) -> None:
    payload = {"speaker_id": "nobody", "features": _good()}
    missing = api.client.post(VERIFY, json=payload, headers=api.headers("operator"))
    assert missing.status_code == 404 and missing.json()["code"] == "speaker_not_found"
    assert api.client.post(VERIFY, json=payload).status_code == 401
    reader = api.client.post(IDENTIFY, json={"features": _good()}, headers=api.headers("reader"))
    assert reader.status_code == 403
