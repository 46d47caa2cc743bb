"""Every upload endpoint refuses bad audio with a clear 4xx and leaves stored data unchanged."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from scipy import signal
from sqlalchemy import func, select

from tests.api.audio import silence, speaker_halves, wav
from tests.api.conftest import Api, make_settings, open_api
from tests.conftest import encode_audio
from tests.databases import BACKENDS, database_url
from voxguard.audio import load_audio
from voxguard.audio.vad import SpeechDetector
from voxguard.store.models import Alert, AuditEntry, CheckEvent, Speaker, VoiceprintRow

MULTIPART_HEAD = (
    b'--b\r\nContent-Disposition: form-data; name="file"; filename="big.wav"\r\n'
    b"Content-Type: audio/wav\r\n\r\n"
)


def _too_large() -> bytes:
    rng = np.random.default_rng(0)
    return wav((0.1 * rng.standard_normal(40 * 16000)).astype(np.float32))  # ~1.3 MB > 1 MB


BAD = {
    "empty": (b"", 422, "audio_decode_error"),
    "truncated": (None, 422, None),  # a WAV cut inside its first frames
    "wrong_type": (b"%PDF-1.7\n" + b"x" * 5000, 415, "unsupported_audio_format"),
    "too_large": (None, 413, None),
    "silence": (None, 422, "no_speech"),
    "below_telephone_rate": (None, 422, "sample_rate_too_low"),  # speech sampled at 4 kHz
}
ENDPOINTS = ["enroll", "samples", "verify", "identify", "check", "detect", "detect_batch"]


@pytest.fixture(scope="module", params=BACKENDS)
def bad_api(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Api]:
    tmp_path: Path = tmp_path_factory.mktemp("bad")
    with database_url(request.param, tmp_path) as url:
        for api in open_api(make_settings(tmp_path, url)):
            good, _ = speaker_halves(0)
            response = api.client.post(
                "/v1/speakers",
                data={"name": "Alice"},
                files=[("files", ("a.wav", good, "audio/wav"))],
                headers=api.headers(),
            )
            assert response.status_code == 201
            api.keys["speaker_id"] = response.json()["speaker"]["id"]
            yield api


def _payload(kind: str) -> bytes:
    data, _, _ = BAD[kind]
    if data is not None:
        return data
    if kind == "truncated":
        return speaker_halves(0)[0][:60]
    if kind == "too_large":
        return _too_large()
    if kind == "below_telephone_rate":
        return _at_4khz(speaker_halves(0)[0])
    return silence()


def _at_4khz(recording: bytes) -> bytes:
    samples = load_audio(recording).samples
    return encode_audio(
        signal.resample_poly(samples, 1, 4).astype(np.float32), 4000, "wav", "pcm_s16le"
    )


def _post(api: Api, endpoint: str, data: bytes):  # type: ignore[no-untyped-def]
    f = ("bad.wav", data, "audio/wav")
    sid = api.keys["speaker_id"]
    h = api.headers()
    c = api.client
    if endpoint == "enroll":
        return c.post("/v1/speakers", data={"name": "Eve"}, files=[("files", f)], headers=h)
    if endpoint == "samples":
        return c.post(f"/v1/speakers/{sid}/samples", files=[("files", f)], headers=h)
    if endpoint == "verify":
        return c.post("/v1/verify", data={"speaker_id": sid}, files={"file": f}, headers=h)
    if endpoint == "detect_batch":
        return c.post("/v1/detect/batch", files=[("files", f)], headers=h)
    return c.post(f"/v1/{endpoint}", files={"file": f}, headers=h)


def _snapshot(api: Api) -> tuple[int, ...]:
    with api.runtime.store.sessions() as session:
        counts = tuple(
            session.scalar(select(func.count()).select_from(model)) or 0
            for model in (Speaker, VoiceprintRow, CheckEvent, Alert, AuditEntry)
        )
        speaker = session.get(Speaker, api.keys["speaker_id"])
        assert speaker is not None
        return (*counts, speaker.enrollment_count)


@pytest.mark.parametrize("kind", list(BAD))
@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_bad_upload_is_refused_and_changes_nothing(bad_api: Api, endpoint: str, kind: str) -> None:
    before = _snapshot(bad_api)
    response = _post(bad_api, endpoint, _payload(kind))
    _, status, code = BAD[kind]
    body = response.json()
    assert response.status_code == status, body
    assert set(body) == {"error", "detail", "code"}
    if code:
        assert body["code"] == code
    assert "bad.wav" in body["error"] or kind == "too_large"
    assert "<bytes>" not in body["error"]  # the decoder's placeholder for unnamed input
    assert _snapshot(bad_api) == before


def test_missing_file_field_is_a_validation_error(bad_api: Api) -> None:
    response = bad_api.client.post("/v1/check", headers=bad_api.headers())
    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"
    assert "file" in response.json()["error"]


def test_too_many_files(bad_api: Api) -> None:
    good, _ = speaker_halves(0)
    files = [("files", (f"{i}.wav", good, "audio/wav")) for i in range(4)]
    response = bad_api.client.post("/v1/detect/batch", files=files, headers=bad_api.headers())
    assert response.status_code == 422 and "At most 3" in response.json()["error"]


def test_body_over_the_streaming_limit(bad_api: Api) -> None:
    # The request limit is 4 MB: a 5 MB body is cut off while it streams in.
    def chunks() -> Iterator[bytes]:
        yield MULTIPART_HEAD
        for _ in range(80):
            yield b"x" * 65536

    response = bad_api.client.post(
        "/v1/check",
        content=chunks(),
        headers={**bad_api.headers(), "Content-Type": "multipart/form-data; boundary=b"},
    )
    assert response.status_code == 413 and response.json()["code"] == "request_too_large"


def test_enrollment_with_too_little_speech_names_the_minimum(bad_api: Api) -> None:
    before = _snapshot(bad_api)
    good, _ = speaker_halves(0)
    clip = load_audio(good).samples
    segments = SpeechDetector().segments(clip)
    first = segments[0]
    # 0.6 s of speech: enough to embed, less than the 1 s enrollment minimum.
    start = int(first.start_s * 16000)
    short = wav(clip[start : start + int(0.6 * 16000)])
    response = _post(bad_api, "enroll", short)
    body = response.json()
    assert response.status_code == 422, body
    assert body["code"] == "audio_too_short"
    assert "at least 1.0 s of speech" in body["error"]
    assert body["detail"]["min_speech_s"] == 1.0
    assert _snapshot(bad_api) == before
