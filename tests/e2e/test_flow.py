"""Enroll, identify, verify and check real speakers over HTTP, with the real speaker engine.

Skips (with the reason the server gives) while the speaker engine is not part of the build.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.databases import BACKENDS
from tests.e2e.conftest import Server, backend_server
from tests.e2e.data import FSDD_SPEAKERS, fsdd_enrollment, fsdd_test, librispeech_readers


@pytest.fixture(scope="module", params=BACKENDS)
def flow_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    for server in backend_server(request, tmp_path_factory.mktemp("flow")):
        speaker = httpx.get(f"{server.url}/health").json()["models"]["speaker"]
        if speaker["status"] != "loaded":
            pytest.skip(f"speaker engine unavailable: {speaker['reason']}")
        yield server


def _enroll(client: httpx.Client, name: str, *recordings: bytes) -> str:
    files = [("files", (f"{name}-{i}.wav", data, "audio/wav")) for i, data in enumerate(recordings)]
    response = client.post("/v1/speakers", data={"name": name}, files=files)
    assert response.status_code == 201, response.text
    speaker_id: str = response.json()["speaker"]["id"]
    return speaker_id


def _file(data: bytes) -> dict[str, tuple[str, bytes, str]]:
    return {"file": ("probe.wav", data, "audio/wav")}


def test_fsdd_and_librispeech_enroll_identify_verify(flow_server: Server) -> None:
    readers = librispeech_readers(7)
    enrolled, impostors = readers[:5], readers[5:]
    with flow_server.client() as client:
        ids = {name: _enroll(client, name, fsdd_enrollment(name)) for name in FSDD_SPEAKERS}
        ids |= {name: _enroll(client, name, first) for name, first, _ in enrolled}
        assert client.get("/v1/speakers?limit=100").json()["total"] == len(ids)

        probes = [(n, fsdd_test(n)) for n in FSDD_SPEAKERS] + [(n, s) for n, _, s in enrolled]
        for name, probe in probes:
            found = client.post("/v1/identify", files=_file(probe)).json()
            assert found["decision"] == "identified", (name, found)
            assert found["best"]["display_name"] == name, (name, found["candidates"][:3])
            verified = client.post(
                "/v1/verify", data={"speaker_id": ids[name]}, files=_file(probe)
            ).json()
            assert verified["decision"] == "accept", (name, verified)

        # An impostor claims to be an enrolled reader: rejected, and a check raises an alert.
        victim = enrolled[0][0]
        for _, impostor, _ in impostors:
            claim = client.post(
                "/v1/verify", data={"speaker_id": ids[victim]}, files=_file(impostor)
            ).json()
            assert claim["decision"] == "reject", claim
            check = client.post("/v1/check", files=_file(impostor)).json()
            assert not check["recognized"], check
            assert check["verdict"] in ("Unknown speaker", "Possible impersonation"), check
            assert check["risk_level"] in ("MEDIUM", "HIGH") and check["alert_id"]
            assert check["spoof"]["status"] in ("ok", "unavailable")
        alerts = client.get("/v1/alerts?status=PENDING&recent=true").json()
        assert len(alerts) == len(impostors)
        for alert in alerts:
            if alert["reason"].startswith("Unknown speaker"):
                assert alert["speaker_id"] is None  # a stranger is nobody's alert

        genuine = client.post("/v1/check", files=_file(enrolled[1][2])).json()
        assert genuine["recognized"] and genuine["speaker"]["display_name"] == enrolled[1][0]
        assert genuine["verdict"] in ("Normal", "Possible impersonation")


def test_interactive_check_enrolls_after_name_and_confirmation(
    flow_server: Server, tmp_path: Path
) -> None:
    newcomer = librispeech_readers(9)[8]
    probe = tmp_path / "newcomer.wav"
    probe.write_bytes(newcomer[1])
    declined = flow_server.cli("check", str(probe), stdin="y\nNew Person\nn\n")
    assert declined.returncode == 0, declined.stderr
    assert "Warning: unknown voice" in declined.stdout and "Not enrolled" in declined.stdout

    accepted = flow_server.cli("check", str(probe), stdin="y\nNew Person\ny\n")
    assert accepted.returncode == 0, accepted.stderr
    assert "Enrolled New Person" in accepted.stdout

    again = newcomer[2]
    with flow_server.client() as client:
        found = client.post("/v1/identify", files=_file(again)).json()
    assert found["best"] and found["best"]["display_name"] == "New Person"
    recognized = flow_server.cli("check", str(probe), "--no-input")
    assert "speaker: New Person" in recognized.stdout
