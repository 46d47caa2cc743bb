"""A real ``voxguard serve`` on a temporary data directory, driven by Debian's Chromium.

Chromium comes from the system (``.ci/run`` installs Debian's ``chromium``); Playwright only
drives it and never downloads a browser. The fake microphone plays a LibriSpeech reader.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tests.conftest import encode_audio, shared_data
from tests.diarization.conversation import human_and_tts
from tests.e2e.conftest import Server, start_server
from voxguard.audio import load_audio
from voxguard.web import static_dir

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "web" / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = ROOT / "test-results" / "screenshots"
# A demo-page deepfake (MelGAN TTS) that the bundled detector flags, and a genuine reader.
SYNTHETIC = ("demos", "wav", "melgan", "assets_tts_samples_linda_4.wav")


def chromium_path() -> str | None:
    for name in (os.environ.get("VOXGUARD_CHROMIUM", ""), "chromium", "chromium-browser"):
        found = shutil.which(name) if name else None
        if found:
            return found
    return None


@dataclass(frozen=True)
class Recordings:
    enroll: Path  # the fake microphone: first half of a reader
    genuine: Path  # second half of the same reader, 16 kHz WAV
    other: Path  # another reader
    synthetic: Path
    text: Path  # not audio at all
    conversation: Path  # the enrolled reader talking with a TTS voice


@pytest.fixture(scope="session")
def recordings(tmp_path_factory: pytest.TempPathFactory) -> Recordings:
    root = tmp_path_factory.mktemp("web-audio")
    files = sorted(shared_data("librispeech").glob("*.flac"), key=lambda p: -p.stat().st_size)

    def wav(samples: np.ndarray, name: str) -> Path:
        path = root / name
        path.write_bytes(encode_audio(samples, 16000, "wav", "pcm_s16le"))
        return path

    reader = load_audio(files[0]).samples
    half = reader.size // 2
    other = load_audio(files[1]).samples
    conversation = root / "call.wav"
    conversation.write_bytes(human_and_tts()[1])
    text = root / "notes.txt"
    text.write_text("These are meeting notes, not a recording.\n")
    return Recordings(
        enroll=wav(reader[:half], "reader-enroll.wav"),
        genuine=wav(reader[half:], "reader-probe.wav"),
        other=wav(other[: 16000 * 12], "other-reader.wav"),
        synthetic=shared_data(*SYNTHETIC),
        text=text,
        conversation=conversation,
    )


@pytest.fixture(scope="module")
def web_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    if not (static_dir() / "index.html").is_file():
        pytest.fail("the web UI bundle is missing: run `make web` (make test builds it)")
    yield from start_server(tmp_path_factory.mktemp("web") / "data")


@pytest.fixture(scope="module")
def browser(recordings: Recordings) -> Iterator[Browser]:
    path = chromium_path()
    if path is None:
        pytest.skip("Chromium not found: install Debian's chromium (.ci/run does)")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=path,
            headless=True,
            args=[
                "--use-fake-ui-for-media-stream",
                "--use-fake-device-for-media-stream",
                f"--use-file-for-fake-audio-capture={recordings.enroll}",
                "--autoplay-policy=no-user-gesture-required",
            ],
        )
        yield browser
        browser.close()


def shot(page: Page, name: str) -> None:
    """A full-page screenshot under test-results/screenshots (the README takes the best)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def sign_in(browser: Browser, server: Server, key: str | None = None) -> Page:
    """A new tab signed in through the sign-in page."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(server.url + "/")
    page.get_by_label("API key").fill(key or server.admin_key)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Check a voice").wait_for()
    return page


def axe_violations(page: Page) -> list[dict[str, object]]:
    """axe-core's critical violations on the page as it stands."""
    # evaluate() runs through the DevTools protocol, which the page's CSP does not block.
    page.evaluate(AXE.read_text())
    result = page.evaluate("async () => (await axe.run(document)).violations")
    return [v for v in result if v.get("impact") == "critical"]


def ensure_speaker(server: Server, recordings: Recordings, name: str = "Reader One") -> str:
    """The id of ``name``, enrolled over the API from the fake microphone's file if missing."""
    with server.client() as client:
        found = client.get("/v1/speakers", params={"q": name}).json()["items"]
        if found:
            return str(found[0]["id"])
        files = [("files", ("enroll.wav", recordings.enroll.read_bytes(), "audio/wav"))]
        response = client.post("/v1/speakers", data={"name": name}, files=files)
        assert response.status_code == 201, response.text
        return str(response.json()["speaker"]["id"])
