from __future__ import annotations

import json
from pathlib import Path

import pytest

from voxguard.errors import InvalidInput
from voxguard.services.batch import BatchMode, results_file
from voxguard.services.batch_results import FileResult

OK = FileResult("a.wav", summary={"event_id": "e1", "spoof_probability": 0.123456})
FAILED = FileResult("b.wav", error="b.wav: no speech\nat all", error_code="no_speech")


def test_csv_rows_header_once_and_resume(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    results = results_file(path, BatchMode.DETECT)
    assert results.load() == {}
    results.append(OK)
    results.append(FAILED)
    results.close()
    lines = path.read_text().splitlines()
    assert lines[0] == "file,status,error,event_id,spoof_probability,is_synthetic,channel,speech_s"
    assert lines[1] == "a.wav,ok,,e1,0.1235,,,"
    assert lines[2] == "b.wav,failed,b.wav: no speech at all,,,,,"  # one line per record

    again = results_file(path, BatchMode.DETECT)
    assert again.load() == {"a.wav": "ok", "b.wav": "failed"}
    again.append(FileResult("c.wav", summary={"event_id": "e3"}))
    again.close()
    assert path.read_text().count("file,status") == 1


def test_torn_last_line_is_cut(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    results = results_file(path, BatchMode.CHECK)
    results.append(OK)
    results.close()
    with path.open("a") as handle:
        handle.write('{"file": "b.wav", "sta')  # killed while writing
    again = results_file(path, BatchMode.CHECK)
    assert again.load() == {"a.wav": "ok"}
    again.append(FAILED)
    again.close()
    records = [json.loads(line) for line in path.read_text().splitlines()]
    assert [r["file"] for r in records] == ["a.wav", "b.wav"]
    assert records[1]["error_code"] == "no_speech" and records[1]["mode"] == "check"


@pytest.mark.parametrize("name", ["r.csv", "r.jsonl"])
def test_drop_failed_rewrites_the_file(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    results = results_file(path, BatchMode.IDENTIFY)
    for result in (OK, FAILED, FileResult("c.wav")):
        results.append(result)
    results.close()
    again = results_file(path, BatchMode.IDENTIFY)
    again.load()
    assert again.drop_failed() == 1
    assert results_file(path, BatchMode.IDENTIFY).load() == {"a.wav": "ok", "c.wav": "ok"}
    assert [p.name for p in tmp_path.iterdir()] == [name]  # no temp file left


def test_other_modes_and_formats_are_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match=r"\.csv or \.jsonl"):
        results_file(tmp_path / "r.xlsx", BatchMode.DETECT)
    for name in ("r.csv", "r.jsonl"):
        results = results_file(tmp_path / name, BatchMode.DETECT)
        results.append(OK)
        results.close()
        with pytest.raises(InvalidInput, match="name another file"):
            results_file(tmp_path / name, BatchMode.ANALYZE).load()
