"""Read audio straight from a repository's git objects at one commit: no checkout needed."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from voxguard.training.demopages.rules import is_audio


class SourceMissing(FileNotFoundError):
    """The repository or its commit is not in the sources folder."""


@dataclass(frozen=True)
class BlobEntry:
    path: str
    blob: str
    size: int


def find_git_dir(sources: Path, repo: str) -> Path:
    """The git directory of ``owner/name`` under ``sources``.

    Accepted layouts: ``owner+name`` (bare or with ``.git`` or ``repo/``, as the fetch tool
    writes them) and ``owner/name``.
    """
    owner, name = repo.split("/", 1)
    for base in (sources / f"{owner}+{name}", sources / owner / name):
        for candidate in (base / "repo" / ".git", base / "repo", base / ".git", base):
            if (candidate / "objects").is_dir() and (candidate / "HEAD").exists():
                return candidate
    raise SourceMissing(
        f"{repo}: no git repository under {sources} (looked for {owner}+{name}/ and "
        f"{owner}/{name}/, bare or with .git/ or repo/)"
    )


def _git(git_dir: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", f"--git-dir={git_dir}", *args], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise SourceMissing(f"git {' '.join(args)} failed in {git_dir}: {done.stderr.strip()}")
    return done.stdout


def list_files(git_dir: Path, commit: str) -> list[BlobEntry]:
    """Every file of the tree at ``commit``, sorted by path."""
    out = _git(git_dir, "ls-tree", "-r", "-l", "-z", commit)
    entries = []
    for record in out.split("\0"):
        if not record:
            continue
        meta, path = record.split("\t", 1)
        _mode, kind, blob, size = meta.split()
        if kind == "blob":
            entries.append(BlobEntry(path, blob, int(size) if size.isdigit() else -1))
    return sorted(entries, key=lambda e: e.path)


def list_audio(git_dir: Path, commit: str) -> list[BlobEntry]:
    return [e for e in list_files(git_dir, commit) if is_audio(e.path)]


class BlobReader:
    """One ``git cat-file --batch`` process serving many blobs; ``None`` for a missing blob."""

    def __init__(self, git_dir: Path) -> None:
        self._proc = subprocess.Popen(
            ["git", f"--git-dir={git_dir}", "cat-file", "--batch"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )

    def read(self, blob: str) -> bytes | None:
        assert self._proc.stdin and self._proc.stdout
        self._proc.stdin.write(blob.encode() + b"\n")
        self._proc.stdin.flush()
        header = self._proc.stdout.readline().decode().split()
        if len(header) < 3 or header[1] != "blob":
            return None  # "<sha> missing": absent from this snapshot
        data = self._proc.stdout.read(int(header[2]))
        self._proc.stdout.read(1)  # the newline after the content
        return data

    def close(self) -> None:
        if self._proc.stdin:
            self._proc.stdin.close()
        self._proc.wait()

    def __enter__(self) -> BlobReader:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def page_text(git_dir: Path, commit: str, pages: tuple[str, ...]) -> str:
    """The page files' text, joined (for the check that clips are referenced by a page)."""
    texts = []
    for page in pages:
        try:
            texts.append(_git(git_dir, "show", f"{commit}:{page}"))
        except SourceMissing:
            continue
    return "\n".join(texts)
