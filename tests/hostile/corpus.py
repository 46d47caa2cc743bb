"""The hostile-input corpus: files no upload endpoint may crash, hang or run out of memory on.

Every file is made here, deterministically, from numpy, PyAV's encoders (bit-exact) and the
hand-written headers of ``formats.py``: nothing is downloaded. Each carries the name it is
uploaded under (some names are hostile themselves), what is wrong with it, and the error
codes an endpoint may refuse it with (``kinds.py``). Audio files (``audio.py``) go to every
endpoint that takes a recording; archives (``archives.py``) to the .zip uploads.

    python -m tests.hostile.corpus --out DIR

writes them all to DIR, each named by its id, with ``manifest.json`` giving each id's upload
name, target, size, description and expected codes.
"""

from __future__ import annotations

import argparse
import json
from functools import lru_cache
from pathlib import Path, PurePosixPath

from tests.hostile.archives import archive_files
from tests.hostile.audio import audio_files as _audio_files
from tests.hostile.kinds import Hostile


@lru_cache(maxsize=1)
def corpus() -> tuple[Hostile, ...]:
    """Every hostile file, in a fixed order (built once per process, in about a second)."""
    files = (*_audio_files(), *archive_files())
    ids = [h.id for h in files]
    assert len(set(ids)) == len(ids), "corpus ids must be unique"
    return files


def audio_files() -> list[Hostile]:
    return [h for h in corpus() if h.target == "audio"]


def archives() -> list[Hostile]:
    return [h for h in corpus() if h.target == "archive"]


def write(out: Path) -> list[Path]:
    """Write the corpus to ``out``: one file per id, and the manifest."""
    out.mkdir(parents=True, exist_ok=True)
    written, manifest = [], []
    for h in corpus():
        suffix = PurePosixPath(h.filename.replace("\\", "/")).suffix
        path = out / (h.id + (suffix if suffix[1:].isalnum() else ".bin"))
        path.write_bytes(h.data)
        written.append(path)
        manifest.append(
            {
                "id": h.id,
                "file": path.name,
                "upload_name": h.filename,
                "target": h.target,
                "bytes": len(h.data),
                "what": h.what,
                "expect": sorted(h.expect),
            }
        )
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1, ensure_ascii=False) + "\n")
    return written


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m tests.hostile.corpus", description="Write the hostile-input corpus."
    )
    parser.add_argument("--out", type=Path, required=True, help="folder to write the files to")
    args = parser.parse_args(argv)
    paths = write(args.out)
    audio = len(audio_files())
    print(
        f"{len(paths)} hostile files ({audio} audio, {len(paths) - audio} archives) in "
        f"{args.out}; manifest.json describes each."
    )


if __name__ == "__main__":
    main()
