"""The service with a spoof detector present: synthetic voices are HIGH risk, even matched ones."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.api.audio import speaker_halves
from tests.api.conftest import Api, make_settings, open_api
from tests.databases import database_url
from tests.doubles import FixedSpoofDetector
from voxguard.audio.types import Channel
from voxguard.services.engines import Loaded, SpoofAdapter


def _api(
    tmp_path: Path,
    probability: float,
    channel: Channel = "wideband",
    short_speech: bool = False,
    classical_tts_probability: float | None = None,
) -> Iterator[Api]:
    with database_url("sqlite", tmp_path) as url:
        detector = FixedSpoofDetector(
            probability,
            channel=channel,
            short_speech=short_speech,
            classical_tts_probability=classical_tts_probability,
        )
        spoof = Loaded(SpoofAdapter(detector))
        yield from open_api(make_settings(tmp_path, url), spoof=spoof)


@pytest.fixture
def cloned(tmp_path: Path) -> Iterator[Api]:
    yield from _api(tmp_path, 0.93)


def test_matched_but_synthetic_is_high_risk(cloned: Api) -> None:
    audio, _ = speaker_halves(0)
    cloned.client.post(
        "/v1/speakers",
        data={"name": "Alice"},
        files=[("files", ("a.wav", audio, "audio/wav"))],
        headers=cloned.headers(),
    )
    check = cloned.client.post(
        "/v1/check", files={"file": ("a.wav", audio, "audio/wav")}, headers=cloned.headers()
    ).json()
    assert check["recognized"] and check["speaker"]["display_name"] == "Alice"
    assert check["spoof_probability"] == pytest.approx(0.93)
    assert (check["risk_level"], check["verdict"]) == ("HIGH", "Synthetic voice suspected")
    assert check["reasons"][0].startswith("voice matches Alice but is likely synthetic")
    alerts = cloned.client.get("/v1/alerts?level=HIGH", headers=cloned.headers()).json()
    assert [a["id"] for a in alerts] == [check["alert_id"]]


def test_detect_and_batch_return_windows(cloned: Api) -> None:
    audio, other = speaker_halves(0)
    one = cloned.client.post(
        "/v1/detect", files={"file": ("a.wav", audio, "audio/wav")}, headers=cloned.headers()
    ).json()
    assert one["spoof"]["status"] == "ok" and one["spoof"]["is_synthetic"] is True
    assert one["spoof"]["channel"] == "wideband"
    assert one["spoof"]["windows"][0]["probability"] == pytest.approx(0.93)
    batch = cloned.client.post(
        "/v1/detect/batch",
        files=[("files", ("a.wav", audio, "audio/wav")), ("files", ("b.wav", other, "audio/wav"))],
        headers=cloned.headers(),
    ).json()
    assert [r["filename"] for r in batch] == ["a.wav", "b.wav"]
    health = cloned.client.get("/health").json()
    assert health["models"]["spoof"] == {"status": "loaded", "version": "test-fixed-spoof"}


def test_genuine_voice_with_spoof_check_is_normal(tmp_path: Path) -> None:
    for api in _api(tmp_path, 0.02):
        audio, _ = speaker_halves(0)
        api.client.post(
            "/v1/speakers",
            data={"name": "Alice"},
            files=[("files", ("a.wav", audio, "audio/wav"))],
            headers=api.headers(),
        )
        check = api.client.post(
            "/v1/check", files={"file": ("a.wav", audio, "audio/wav")}, headers=api.headers()
        ).json()
        assert check["spoof"]["status"] == "ok"
        assert (check["risk_level"], check["verdict"]) == ("LOW", "Normal"), check
        assert check["alert_id"] is None


def test_detect_says_when_the_phone_line_calibration_was_used(tmp_path: Path) -> None:
    for api in _api(tmp_path, 0.2, channel="narrowband"):
        audio, _ = speaker_halves(0)
        spoof = api.client.post(
            "/v1/detect", files={"file": ("call.wav", audio, "audio/wav")}, headers=api.headers()
        ).json()["spoof"]
        assert (spoof["channel"], spoof["is_synthetic"]) == ("narrowband", False)
        assert spoof["short_speech"] is False
        assert spoof["classical_tts_probability"] is None  # a model without the head


def test_detect_reports_the_classical_tts_heads_share(tmp_path: Path) -> None:
    for api in _api(tmp_path, 0.97, classical_tts_probability=0.95):
        audio, _ = speaker_halves(0)
        spoof = api.client.post(
            "/v1/detect", files={"file": ("robot.wav", audio, "audio/wav")}, headers=api.headers()
        ).json()["spoof"]
        assert (spoof["classical_tts_probability"], spoof["is_synthetic"]) == (0.95, True)


def test_detect_says_when_the_band_limited_calibration_was_used(tmp_path: Path) -> None:
    for api in _api(tmp_path, 0.3, channel="band_limited"):
        audio, _ = speaker_halves(0)
        spoof = api.client.post(
            "/v1/detect", files={"file": ("memo.wav", audio, "audio/wav")}, headers=api.headers()
        ).json()["spoof"]
        assert (spoof["channel"], spoof["is_synthetic"]) == ("band_limited", False)


def test_detect_says_when_the_short_speech_calibration_was_used(tmp_path: Path) -> None:
    for api in _api(tmp_path, 0.6, short_speech=True):
        audio, _ = speaker_halves(0)
        spoof = api.client.post(
            "/v1/detect", files={"file": ("hello.wav", audio, "audio/wav")}, headers=api.headers()
        ).json()["spoof"]
        assert (spoof["short_speech"], spoof["is_synthetic"]) == (True, True)
