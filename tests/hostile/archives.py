"""Hostile archives: for the .zip uploads (a job's recordings, a labelled dataset)."""

from __future__ import annotations

import stat
from collections.abc import Iterator

from tests.hostile import formats as f
from tests.hostile.audio import wav_zip_polyglot
from tests.hostile.kinds import DECODE, NOT_SPEECH, UNSUPPORTED, Hostile, archive, tone_wav

LABELS = b"path,label\na.wav,bonafide\nb.wav,spoof\n"
UNSAFE = frozenset({"unsafe_archive"})
TOO_LARGE = frozenset({"archive_too_large"})
INVALID = frozenset({"invalid_archive"})
# No recording in it: a job finds no audio, a dataset no labels CSV.
NO_AUDIO = frozenset({"no_audio_files", "invalid_labels"})
# Archives whose members can be listed are refused when a member is read, decoded or
# labelled: a dataset at once, a job file by file in its worker.
READ_LATER = NOT_SPEECH | DECODE | UNSUPPORTED | frozenset({"invalid_labels"})


def slips() -> Iterator[Hostile]:
    wav = tone_wav()
    for key, member in (
        ("zip_slip_dotdot", "../evil.wav"),
        ("zip_slip_absolute", "/etc/cron.d/evil.wav"),
        ("zip_slip_windows", "..\\..\\evil.wav"),
        ("zip_slip_drive", "C:/Windows/evil.wav"),
        ("zip_slip_nested", "calls/2025/../../../evil.wav"),
    ):
        data = f.zip_archive([f.deflated(wav, member), f.stored(LABELS, "labels.csv")])
        yield archive(key, f"{key}.zip", data, f"a member named {member}", UNSAFE)
    what = "a ZIP that is also a WAV, holding ../evil.wav"
    yield archive("zip_wav_polyglot", "polyglot.zip", wav_zip_polyglot(), what, UNSAFE)


def bombs() -> Iterator[Hostile]:
    inner = f.zip_archive([f.zeros_bomb("a.wav", 64)])
    yield from [
        archive(
            "zip_bomb_1gb",
            "bomb.zip",
            f.zip_archive([f.zeros_bomb("a.wav", 1024)]),
            "1 MB of deflate: 1 GB of zeros",
            TOO_LARGE,
        ),
        archive(
            "zip_bomb_declared",
            "zip64.zip",
            f.zip_archive([f.deflated(bytes(1024), "a.wav", size=4 << 30)]),
            "a ZIP64 member declaring 4 GB",
            TOO_LARGE,
        ),
        archive(
            "zip_bomb_overlap",
            "overlap.zip",
            f.zip_archive([f.zeros_bomb("a.wav", 1)], aliases=3000),
            "3,001 entries sharing one 1 MB deflate stream: 3 GB declared",
            TOO_LARGE,
        ),
        archive(
            "zip_bomb_nested",
            "nested.zip",
            f.zip_archive([f.stored(inner, f"{i}.zip") for i in range(16)]),
            "16 ZIPs of 64 MB bombs inside (never opened)",
            NO_AUDIO,
        ),
        archive(
            "zip_many_members",
            "many.zip",
            f.zip_archive([f.stored(b"", f"{i:05d}.wav") for i in range(5000)]),
            "5,000 empty members",
            frozenset({"invalid_input", "invalid_labels"}),
        ),
    ]


def unreadable() -> Iterator[Hostile]:
    wav = tone_wav()
    csv = f.stored(LABELS, "labels.csv")
    lying = f.deflated(b"path,label\n" * 100_000, "labels.csv", size=100)
    link = f.stored(b"/etc/passwd", "a.wav", external_attr=(stat.S_IFLNK | 0o777) << 16)
    locked = [f.stored(wav, n, flags=0x801) for n in ("a.wav", "b.wav")]
    whole = f.zip_archive([f.deflated(wav, "a.wav"), csv])
    yield from [
        archive(
            "zip_lying_size",
            "lying.zip",
            f.zip_archive([lying, f.deflated(wav, "a.wav"), f.deflated(wav, "b.wav")]),
            "labels.csv declares 100 bytes and inflates to 1.1 MB",
            READ_LATER,
        ),
        archive(
            "zip_symlink",
            "link.zip",
            f.zip_archive([link, f.deflated(wav, "b.wav"), csv]),
            "a.wav is a symlink to /etc/passwd",
            READ_LATER,
        ),
        archive(
            "zip_encrypted",
            "locked.zip",
            f.zip_archive([*locked, csv]),
            "members flagged encrypted",
            READ_LATER,
        ),
        archive("zip_not_a_zip", "picture.zip", f.png_1x1(), "a PNG named .zip", INVALID),
        archive("zip_empty_file", "empty.zip", b"", "zero bytes", INVALID),
        archive("zip_truncated", "cut.zip", whole[: len(whole) // 2], "cut in half", INVALID),
        archive("zip_no_members", "none.zip", f.zip_archive([]), "no members", NO_AUDIO),
    ]


def bad_label_files() -> Iterator[Hostile]:
    wav = tone_wav()
    members = [f.deflated(wav, "a.wav"), f.deflated(wav[:-2] + b"\1\1", "b.wav")]
    for key, csv, what in (
        ("csv_nul", b"path,label\na.wav,bona\0fide\nb.wav,spoof\n", "NUL bytes"),
        (
            "csv_traversal",
            b"path,label\n../../etc/passwd.wav,bonafide\nb.wav,spoof\n",
            "a row naming ../../etc/passwd.wav",
        ),
        ("csv_huge_field", b"path,label\n" + b"x" * 200_000 + b".wav,spoof\n", "a 200 kB field"),
        (
            "csv_formula",
            b'path,label\n=HYPERLINK("http://x"),bonafide\nb.wav,=1+1\n',
            "spreadsheet formulas",
        ),
        ("csv_not_utf8", b"path,label\n\xff\xfe\xfa.wav,bonafide\n", "bytes that are not UTF-8"),
    ):
        data = f.zip_archive([*members, f.deflated(csv, "labels.csv")])
        yield archive(key, f"{key}.zip", data, f"labels.csv with {what}", READ_LATER)


def archive_files() -> Iterator[Hostile]:
    for part in (slips, bombs, unreadable, bad_label_files):
        yield from part()
