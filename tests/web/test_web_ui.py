"""The web UI in a real browser against a real server: what a new user does on day one."""

from __future__ import annotations

import csv
import io
import re

import numpy as np
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import Server
from tests.web.conftest import Recordings, axe_violations, ensure_speaker, shot, sign_in
from voxguard.audio import load_audio
from voxguard.speaker.campplus import kaldi_fbank
from voxguard.speaker.features import mel_spectrogram

TIMEOUT = 120_000  # ms: a check runs the real models on a shared 2-core machine
QUICK = 15_000  # ms: pages that only read


@pytest.fixture(autouse=True)
def _patience(browser: Browser) -> None:
    expect.set_options(timeout=TIMEOUT)


def _record_enrollment(page: Page, name: str, seconds: float) -> None:
    page.get_by_role("link", name="Speakers").click()
    enroll = page.get_by_role("button", name=re.compile("Enroll a speaker"))
    if enroll.get_attribute("aria-expanded") == "false":
        enroll.click()
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_role("button", name=re.compile("Record from microphone")).click()
    timer = page.get_by_test_id("record-timer")
    page.wait_for_function(
        "([el, s]) => parseFloat(el.textContent) >= s", arg=[timer.element_handle(), seconds]
    )
    page.get_by_role("button", name=re.compile("Stop recording")).click()
    expect(page.get_by_test_id("samples")).to_contain_text("recording-")
    page.get_by_role("button", name="Enroll", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text(f"Enrolled {name}", timeout=TIMEOUT)


def _check(page: Page, path: str) -> None:
    page.get_by_role("link", name="Check a voice").click()
    page.get_by_label(re.compile("Drop a recording here")).set_input_files(path)
    page.get_by_role("button", name="Check", exact=True).click()
    expect(page.get_by_test_id("result")).to_be_visible(timeout=TIMEOUT)


def test_sign_in_enroll_by_microphone_check_and_handle_the_alert(
    browser: Browser, web_server: Server, recordings: Recordings
) -> None:
    # A wrong key gets a message, not a page.
    context = browser.new_context()
    page = context.new_page()
    page.goto(web_server.url + "/")
    page.get_by_label("API key").fill("vg_not-a-real-key")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("API key")
    shot(page, "signin")
    page.get_by_label("API key").fill(web_server.admin_key)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_test_id("role")).to_have_text("admin")
    # The token lives in this tab's sessionStorage; the key is not kept anywhere.
    stored = page.evaluate("() => JSON.stringify({...sessionStorage, ...localStorage})")
    assert web_server.admin_key not in stored and "voxguard.token" in stored

    _record_enrollment(page, "Reader One", seconds=12)
    expect(page.get_by_test_id("speakers-table")).to_contain_text("Reader One")
    shot(page, "speakers")

    # The same reader, another part of the book: recognized, normal.
    _check(page, str(recordings.genuine))
    expect(page.get_by_test_id("result")).to_contain_text("Recognized as")
    expect(page.get_by_test_id("result")).to_contain_text("Reader One")
    expect(page.get_by_test_id("verdict")).to_have_text("Normal")
    expect(page.get_by_test_id("spoof-timeline")).to_be_visible()

    # A TTS deepfake: flagged, with an alert.
    _check(page, str(recordings.synthetic))
    expect(page.get_by_test_id("spoof-verdict")).to_have_text("Likely synthetic")
    expect(page.get_by_test_id("risk-level")).not_to_have_text("LOW")
    expect(page.get_by_test_id("spoof-timeline")).to_be_visible()
    page.wait_for_timeout(1500)  # let the spectrogram finish drawing for the screenshot
    shot(page, "check")

    page.get_by_role("link", name="An alert was raised").click()
    alert = page.locator("li.alert-item.focused")
    expect(alert.get_by_test_id("alert-status")).to_have_text("PENDING")
    expect(page.get_by_test_id("count-PENDING")).to_have_text("1")
    shot(page, "alerts")
    alert.get_by_label("Note").fill("Called back on the number on file: not the customer.")
    alert.get_by_role("button", name="Acknowledge").click()
    expect(alert.get_by_test_id("alert-status")).to_have_text("ACKNOWLEDGED")
    expect(alert).to_contain_text("Called back on the number on file")
    expect(page.get_by_test_id("count-ACKNOWLEDGED")).to_have_text("1")

    # The alert links to its event.
    alert.get_by_role("link", name="event").click()
    expect(page.get_by_role("heading", name=re.compile("Event: check"))).to_be_visible()

    # The triage is in the audit log.
    page.get_by_role("link", name="Audit log").click()
    expect(page.get_by_test_id("audit-table")).to_contain_text("alert")
    context.close()


def test_batch_detect_three_files_and_download_csv(
    browser: Browser, web_server: Server, recordings: Recordings
) -> None:
    page = sign_in(browser, web_server)
    page.get_by_role("link", name="Batch detect").click()
    files = [str(recordings.genuine), str(recordings.other), str(recordings.synthetic)]
    page.get_by_label(re.compile("Drop recordings here")).set_input_files(files)
    page.get_by_role("button", name="Detect 3 file(s)").click()
    expect(page.get_by_test_id("batch-progress")).to_contain_text("3 of 3 done", timeout=TIMEOUT)
    rows = page.get_by_test_id("batch-table").locator("tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.nth(2)).to_contain_text("synthetic")
    shot(page, "batch")
    with page.expect_download() as download:
        page.get_by_role("button", name="Download CSV").click()
    table = list(csv.DictReader(io.StringIO(download.value.path().read_text())))
    assert [r["file"] for r in table] == [p.rsplit("/", 1)[1] for p in files]
    assert all(r["status"] == "done" and 0 <= float(r["spoof_probability"]) <= 1 for r in table)
    assert table[2]["is_synthetic"] == "true"
    page.context.close()


def test_a_dropped_text_file_gets_a_clear_message(
    browser: Browser, web_server: Server, recordings: Recordings
) -> None:
    page = sign_in(browser, web_server)
    # Drag and drop, as a user would: a DataTransfer carrying the text file.
    page.evaluate(
        """(text) => {
            const data = new DataTransfer();
            data.items.add(new File([text], "notes.txt", { type: "text/plain" }));
            const zone = document.querySelector('[data-testid="dropzone"]');
            zone.dispatchEvent(new DragEvent("drop", { dataTransfer: data, bubbles: true }));
        }""",
        recordings.text.read_text(),
    )
    expect(page.get_by_test_id("chosen-file")).to_contain_text("notes.txt")
    page.get_by_role("button", name="Check", exact=True).click()
    message = page.get_by_role("alert")
    expect(message).to_contain_text("notes.txt")
    expect(message).to_contain_text("WAV")  # names what is accepted
    shot(page, "bad-input")
    page.context.close()


def test_privacy_mode_sends_the_servers_own_features_not_audio(
    browser: Browser, web_server: Server, recordings: Recordings
) -> None:
    ensure_speaker(web_server, recordings)
    page = sign_in(browser, web_server)
    page.get_by_label(re.compile("Drop a recording here")).set_input_files(str(recordings.genuine))
    page.get_by_label(re.compile("Privacy mode")).check()
    page.get_by_label("Verify against").select_option(label="Reader One")
    with page.expect_request(lambda r: r.url.endswith("/v1/verify/features")) as sent:
        page.get_by_role("button", name="Verify", exact=True).click()
    expect(page.get_by_test_id("result")).to_contain_text("accepted", timeout=TIMEOUT)

    body = sent.value.post_data_json
    assert "speaker_id" in body and set(body) == {"speaker_id", "features"}
    samples = load_audio(recordings.genuine).samples
    browser_mel = np.asarray(body["features"]["mel"], dtype=np.float64)
    server_mel = mel_spectrogram(samples).astype(np.float64)
    assert browser_mel.shape == server_mel.shape
    # Power mel spans many decades: compare against each frame's own scale.
    scale = np.maximum(server_mel.max(axis=1, keepdims=True), 1e-10)
    worst = float(np.max(np.abs(browser_mel - server_mel) / scale))
    print(f"browser vs server mel: max error {worst:.2e} of the frame peak")
    assert worst < 1e-3
    # CAM++'s input: log energies, compared in absolute terms (natural log units). The browser
    # decodes the file itself; the quietest bands differ most (0.57 % in energy at worst).
    browser_fbank = np.asarray(body["features"]["fbank"], dtype=np.float64)
    server_fbank = kaldi_fbank(samples).astype(np.float64)
    assert browser_fbank.shape == server_fbank.shape
    error = np.abs(browser_fbank - server_fbank)
    print(f"browser vs server fbank: max error {error.max():.2e}, mean {error.mean():.2e}")
    assert error.max() < 0.02 and error.mean() < 1e-3
    page.context.close()


def test_reader_role_sees_but_cannot_act(browser: Browser, web_server: Server) -> None:
    with web_server.client() as client:
        created = client.post("/v1/keys", json={"name": "analyst", "role": "reader"}).json()
    page = sign_in(browser, web_server, created["key"])
    expect(page.get_by_test_id("role")).to_have_text("reader")
    expect(page.get_by_role("button", name="Check", exact=True)).to_be_disabled()
    expect(page.get_by_role("link", name="Audit log")).to_have_count(0)
    page.get_by_role("link", name="Speakers").click()
    expect(page.get_by_role("button", name=re.compile("Enroll a speaker"))).to_have_count(0)
    page.context.close()


def test_a_conversation_shows_who_spoke_when_and_which_voice_is_synthetic(
    browser: Browser, web_server: Server, recordings: Recordings
) -> None:
    ensure_speaker(web_server, recordings)
    page = sign_in(browser, web_server)
    page.get_by_role("link", name="Conversations").click()
    page.get_by_label(re.compile("Drop a call recording")).set_input_files(
        str(recordings.conversation)
    )
    page.get_by_label("Speakers (if known)").fill("2")
    page.get_by_role("button", name="Analyze", exact=True).click()
    summary = page.get_by_test_id("speaker-summary")
    expect(summary).to_contain_text("Reader One", timeout=TIMEOUT)
    rows = summary.locator("tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.filter(has_text="Reader One")).not_to_contain_text("synthetic")
    expect(rows.filter(has_text="unknown")).to_contain_text("synthetic")
    expect(page.get_by_test_id("turn-chart")).to_be_visible()
    page.wait_for_timeout(1000)
    shot(page, "analyze")
    page.context.close()


def test_a_background_job_runs_and_its_results_download(
    browser: Browser, web_server: Server, recordings: Recordings
) -> None:
    page = sign_in(browser, web_server)
    page.get_by_role("link", name="Jobs").click()
    files = [str(recordings.genuine), str(recordings.other), str(recordings.synthetic)]
    page.get_by_label(re.compile("Drop recordings \\(or one .zip\\)")).set_input_files(files)
    expect(page.get_by_test_id("job-files")).to_contain_text("3 file(s)")
    page.get_by_role("button", name="Start job").click()
    status = page.get_by_test_id("job-status").first
    expect(status).to_have_text("succeeded", timeout=TIMEOUT)
    shot(page, "jobs")
    with page.expect_download() as download:
        page.get_by_role("button", name="CSV").first.click()
    table = list(csv.DictReader(io.StringIO(download.value.path().read_text())))
    assert len(table) == 3 and {r["status"] for r in table} == {"ok"}
    page.context.close()


PAGES = [
    "/check",
    "/analyze",
    "/jobs",
    "/speakers",
    "/alerts",
    "/events",
    "/batch",
    "/models",
    "/audit",
]


def test_every_page_passes_an_accessibility_scan_and_fits_a_phone(
    browser: Browser, web_server: Server, recordings: Recordings
) -> None:
    speaker_id = ensure_speaker(web_server, recordings)
    with web_server.client() as client:
        files = {"file": ("probe.wav", recordings.genuine.read_bytes(), "audio/wav")}
        event_id = client.post("/v1/detect", files=files).json()["event_id"]
    page = sign_in(browser, web_server)
    for path in [*PAGES, f"/speakers/{speaker_id}", f"/events/{event_id}"]:
        page.goto(web_server.url + path)
        page.locator("main h1").first.wait_for()
        page.wait_for_load_state("networkidle")
        assert axe_violations(page) == [], path
    shot(page, "audit")
    page.goto(web_server.url + "/models")
    expect(page.get_by_test_id("det-curve")).to_be_visible(timeout=QUICK)
    registry = page.get_by_test_id("registry-table")
    expect(registry.locator("tbody tr").first).to_contain_text("bundled", timeout=QUICK)
    expect(registry.locator("tbody tr").first).to_contain_text("active")
    shot(page, "models")

    # A phone-sized window: no sideways scrolling, the menu still reachable by keyboard.
    page.set_viewport_size({"width": 390, "height": 844})
    for path in PAGES:
        page.goto(web_server.url + path)
        page.locator("main h1").first.wait_for()
        width = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
        assert width <= 1, (path, width)
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")  # the skip link
    assert page.evaluate("() => document.activeElement.id") == "main"
    page.context.close()

    # The sign-in page too.
    anonymous = browser.new_context().new_page()
    anonymous.goto(web_server.url + "/")
    anonymous.get_by_label("API key").wait_for()
    assert axe_violations(anonymous) == []
    anonymous.context.close()
