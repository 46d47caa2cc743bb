"""Identification: exact search vs faiss index, open-set rejection."""

from __future__ import annotations

import numpy as np

from tests.conftest import shared_data
from tests.speaker.conftest import as_clip
from voxguard.audio import load_audio
from voxguard.speaker.engine import SpeakerEngine
from voxguard.speaker.gallery import SpeakerGallery
from voxguard.speaker.index import ExactSearch, FaissSearch, build_search
from voxguard.speaker.scoring import unit_rows
from voxguard.speaker.types import Embedding


def test_faiss_index_agrees_with_exact_search() -> None:
    rng = np.random.default_rng(0)
    vectors = unit_rows(rng.standard_normal((2000, 256)).astype(np.float32))
    ids = [f"s{i}" for i in range(len(vectors))]
    exact, index = ExactSearch(ids, vectors), FaissSearch(ids, vectors)
    agree = 0
    for q in range(50):
        query = unit_rows(vectors[q : q + 1] + 0.03 * rng.standard_normal((1, 256)))[0]
        top_exact = [row for row, _ in exact.search(query, 5)]
        top_index = [row for row, _ in index.search(query, 5)]
        assert top_exact[0] == top_index[0] == q
        agree += len(set(top_exact) & set(top_index))
    assert agree / (50 * 5) > 0.95
    by_id = dict(zip(ids, vectors, strict=True))
    assert isinstance(build_search(by_id, threshold=100), FaissSearch)
    assert isinstance(build_search(by_id), ExactSearch)


def test_identify_finds_the_speaker_and_rejects_unknowns(engine: SpeakerEngine) -> None:
    folder = shared_data("librispeech")
    files = sorted(folder.glob("*.flac"))[:8]
    enrolled, tests = {}, {}
    for path in files:
        wav = load_audio(path).samples
        half = wav.size // 2
        name = path.stem.split("-")[0]
        enrolled[name] = engine.enroll(
            [engine.embed(engine.front_end.analyze_clip(as_clip(wav[:half])), variants=True)]
        )
        # The whole utterance as the probe: it overlaps the enrollment, so a known speaker is
        # an unambiguous match and the test checks the mechanism, not the model's accuracy.
        tests[name] = engine.embed(engine.front_end.analyze_clip(as_clip(wav)))
    known = dict(list(enrolled.items())[:6])
    gallery = engine.gallery(known)
    assert isinstance(gallery, SpeakerGallery) and len(gallery) == 6
    for name in list(known)[:3]:
        result = engine.identify(tests[name], gallery, top_k=3)
        assert result.best is not None and result.best.speaker_id == name
        assert len(result.candidates) == 3
        scores = [c.normalized_score for c in result.candidates]
        assert scores == sorted(scores, reverse=True)
    for name in list(enrolled)[6:]:
        assert engine.identify(tests[name], known).best is None


def test_gallery_on_faiss_ranks_like_exact(engine: SpeakerEngine) -> None:
    rng = np.random.default_rng(3)
    voiceprints = {}
    for i in range(40):
        vector = unit_rows(rng.standard_normal((1, 256)).astype(np.float32))[0]
        embedding = Embedding(
            vector=np.abs(vector), speech_s=5.0, model_version=engine.model_version
        )
        voiceprints[f"s{i}"] = engine.enroll([embedding])
    exact = SpeakerGallery(voiceprints, engine.backend)
    indexed = SpeakerGallery(voiceprints, engine.backend, index_threshold=10)
    probe = Embedding(
        vector=voiceprints["s7"].vector, speech_s=5.0, model_version=engine.model_version
    )
    for path in ("clean", "noisy", "short"):
        want = exact.rank(probe.vector, path, 5)
        got = indexed.rank(probe.vector, path, 5)
        assert [w[0] for w in want][:3] == [g[0] for g in got][:3]
        assert want[0][0] == "s7"
    assert engine.identify(probe, indexed).best is not None
