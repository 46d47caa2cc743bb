"""``python -m voxguard.evaluation.conversations --out DIR [--seed 0] [--per-condition 20]
[--piper COMMAND --piper-voice MODEL.onnx]``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from voxguard.evaluation.conversations.build import (
    CONDITIONS,
    DEFAULT_LIBRISPEECH,
    SetOptions,
    build_set,
)
from voxguard.evaluation.conversations.voices import PiperVoice
from voxguard.training.demopages.guarding import DEFAULT_GUARD_DIR, GuardUnavailable


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m voxguard.evaluation.conversations",
        description="Build the diarization evaluation set: synthetic conversations with RTTM.",
    )
    parser.add_argument("--out", type=Path, required=True, help="Folder to write the set to.")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--per-condition", type=int, default=20, help="Conversations per condition (20)."
    )
    parser.add_argument(
        "--conditions",
        default=",".join(CONDITIONS),
        help=f"Comma-separated subset of {','.join(CONDITIONS)} (all).",
    )
    parser.add_argument("--librispeech", type=Path, default=DEFAULT_LIBRISPEECH)
    parser.add_argument(
        "--min-talker-s",
        type=float,
        default=10.0,
        help="Recordings shorter than this are the babble crowd (10).",
    )
    parser.add_argument(
        "--guard", type=Path, default=DEFAULT_GUARD_DIR, help="The holdout guard's folder."
    )
    parser.add_argument(
        "--piper",
        type=Path,
        help="The piper command: the tts condition's synthetic voice is then a Piper (neural "
        "VITS) voice instead of espeak-ng; needs --piper-voice.",
    )
    parser.add_argument("--piper-voice", type=Path, help="The Piper voice model (.onnx).")
    args = parser.parse_args(argv)
    if (args.piper is None) != (args.piper_voice is None):
        parser.error("--piper and --piper-voice go together")
    conditions = tuple(c.strip() for c in args.conditions.split(",") if c.strip())
    if args.per_condition < 1:
        parser.error("--per-condition must be at least 1")
    if set(conditions) - set(CONDITIONS):
        parser.error(f"--conditions: choose from {','.join(CONDITIONS)}")
    options = SetOptions(
        out=args.out,
        seed=args.seed,
        per_condition=args.per_condition,
        conditions=conditions,
        librispeech=args.librispeech,
        guard_dir=args.guard,
        min_talker_s=args.min_talker_s,
        piper=PiperVoice(args.piper, args.piper_voice) if args.piper else None,
    )
    try:
        summary = build_set(options, log=lambda line: print(line, file=sys.stderr))
    except (GuardUnavailable, FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(summary["conditions"], indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
