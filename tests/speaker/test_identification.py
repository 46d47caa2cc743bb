"""Identification: the exact and the approximate index, the gallery kept current in place and
persisted, open-set rejection."""

from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import shared_data
from tests.speaker.conftest import as_clip
from voxguard.audio import load_audio
from voxguard.errors import ModelMismatch
from voxguard.speaker.engine import SpeakerEngine
from voxguard.speaker.enrollment import enrolled_in_noise
from voxguard.speaker.gallery import GallerySnapshot, SpeakerGallery
from voxguard.speaker.index import VectorIndex
from voxguard.speaker.scoring import unit_rows
from voxguard.speaker.types import Embedding, Voiceprint


def _vectors(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return unit_rows(rng.standard_normal((n, 256)).astype(np.float32))


def _exact_top(vectors: np.ndarray, labels: np.ndarray, query: np.ndarray, k: int) -> list[int]:
    scores = vectors @ query
    return [int(labels[i]) for i in np.argsort(-scores, kind="stable")[:k]]


@pytest.mark.parametrize("nprobe", [8, 128])  # 8 of the 50 cells; all of them
def test_index_agrees_with_exact_search_above_the_threshold(nprobe: int) -> None:
    vectors = _vectors(2000, 0)
    labels = np.arange(2000, dtype=np.int64) * 7  # labels are not row numbers
    index = VectorIndex(256, threshold=500, nprobe=nprobe)
    index.add(labels, vectors)
    assert index.approximate and len(index) == 2000 and index.cells == 50
    rng = np.random.default_rng(1)
    agree = 0
    for q in range(50):
        query = unit_rows(vectors[q : q + 1] + 0.03 * rng.standard_normal((1, 256)))[0]
        want = _exact_top(vectors, labels, query, 5)
        got = index.search(query, 5)
        assert got[0][0] == want[0] == labels[q]
        assert got[0][1] == pytest.approx(float(vectors[q] @ query), abs=1e-3)  # float16
        agree += len(set(want) & {label for label, _ in got})
    if nprobe >= index.cells:  # every cell scanned: the same top 5
        assert agree / (50 * 5) > 0.95


def test_index_is_exact_up_to_the_threshold_and_follows_additions_and_removals() -> None:
    vectors = _vectors(300, 2)
    index = VectorIndex(256, threshold=100)
    index.add(np.arange(100), vectors[:100])
    assert not index.approximate  # exactly at the threshold: still exact
    for q in (0, 50, 99):
        scores = vectors[:100] @ vectors[q]
        want = [int(i) for i in np.argsort(-scores, kind="stable")[:3]]
        assert [label for label, _ in index.search(vectors[q], 3)] == want
    index.add(np.arange(100, 300), vectors[100:])
    assert index.approximate and len(index) == 300
    gone = np.arange(0, 300, 3)
    assert index.remove(gone) == len(gone)
    assert index.remove(gone) == 0  # already gone
    assert index.approximate and len(index) == 200
    for q in gone[:20]:
        assert int(q) not in {label for label, _ in index.search(vectors[q], 10)}
    index.remove(np.arange(1, 300, 3))
    assert not index.approximate and len(index) == 100  # back to exact at the threshold
    index.add(np.array([0]), vectors[:1])  # 101: the inverted file again
    assert index.approximate and index.search(vectors[0], 1)[0][0] == 0
    labels, stored = index.contents()
    assert sorted(labels.tolist()) == [0, *range(2, 300, 3)]
    # Stored as float16 above the threshold.
    np.testing.assert_allclose(
        stored[np.argsort(labels)], vectors[labels[np.argsort(labels)]], atol=1e-3
    )


@pytest.mark.parametrize("threshold", [10_000, 100])
def test_index_round_trips_through_bytes(threshold: int) -> None:
    vectors = _vectors(400, 4)
    index = VectorIndex(256, threshold=threshold)
    index.add(np.arange(400), vectors)
    index.remove(np.arange(0, 400, 5))
    restored = VectorIndex.from_bytes(index.to_bytes(), index.trained_for, threshold=threshold)
    assert (restored.approximate, len(restored)) == (index.approximate, 320)
    for q in range(0, 400, 7):
        assert restored.search(vectors[q], 5) == index.search(vectors[q], 5)


def _voiceprints(
    engine: SpeakerEngine, n: int, seed: int, prefix: str = "s"
) -> dict[str, Voiceprint]:
    rng = np.random.default_rng(seed)
    out = {}
    for i in range(n):
        vector = unit_rows(rng.standard_normal((1, engine.embedding_size)).astype(np.float32))[0]
        embedding = Embedding(
            vector=np.abs(vector), speech_s=5.0, model_version=engine.model_version
        )
        out[f"{prefix}{i}"] = engine.enroll([embedding])
    return out


def _probe(voiceprint: Voiceprint, seed: int) -> np.ndarray:
    noise = np.random.default_rng(seed).standard_normal(voiceprint.vector.size) * 0.01
    return np.abs(voiceprint.vector + noise).astype(np.float32)


PATHS = ("clean", "noisy", "mid", "phone", "short", "short_phone", "noisy_enrolled")


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
        # best first by calibrated probability (voiceprints enrolled in noise, here those whose
        # half utterance measures under the SNR cut, are scored on another path)
        probabilities = [c.probability for c in result.candidates]
        assert probabilities == sorted(probabilities, reverse=True)
    for name in list(enrolled)[6:]:
        assert engine.identify(tests[name], known).best is None


def test_gallery_on_the_index_ranks_like_exact(engine: SpeakerEngine) -> None:
    voiceprints = _voiceprints(engine, 40, 3)
    exact = SpeakerGallery(voiceprints, engine.backend)
    indexed = SpeakerGallery(voiceprints, engine.backend, index_threshold=10)
    assert indexed.approximate and not exact.approximate
    probe = Embedding(
        vector=voiceprints["s7"].vector, speech_s=5.0, model_version=engine.model_version
    )
    for path in PATHS:
        want = exact.rank(probe.vector, path, 5)
        got = indexed.rank(probe.vector, path, 5)
        assert [w[0] for w in want][:3] == [g[0] for g in got][:3]
        assert want[0][0] == "s7"
    assert engine.identify(probe, indexed).best is not None


@pytest.mark.parametrize("threshold", [10_000, 20])
def test_gallery_changed_in_place_equals_one_built_afresh(
    engine: SpeakerEngine, threshold: int
) -> None:
    first, added = _voiceprints(engine, 40, 5), _voiceprints(engine, 20, 6, prefix="n")
    replaced = {f"s{i}": v for i, v in enumerate(_voiceprints(engine, 5, 7).values())}
    removed = [f"s{i}" for i in range(10, 20)] + ["n3"]
    gallery = engine.gallery(first, index_threshold=threshold)
    gallery.upsert(added)
    gallery.upsert(replaced)
    gallery.remove([*removed, "never-enrolled"])
    final = {**first, **added, **replaced}
    for speaker_id in removed:
        del final[speaker_id]
    fresh = engine.gallery(final, index_threshold=threshold)
    assert len(gallery) == len(fresh) == 49
    assert set(gallery.ids) == set(final)
    assert gallery.approximate == fresh.approximate == (threshold < 49)
    for speaker_id in ("s0", "s4", "s30", "n0", "n19"):
        vector = _probe(final[speaker_id], 0)
        for path in PATHS:
            got, want = gallery.rank(vector, path, 3), fresh.rank(vector, path, 3)
            assert got[0][0] == want[0][0] == speaker_id
            # Equal up to float32 rounding (an index changed in place sums in another order).
            np.testing.assert_allclose(
                [g[1:] for g in got], [w[1:] for w in want], rtol=1e-5, atol=1e-5
            )
    for speaker_id in removed:  # a removed speaker is never a candidate, even for its own voice
        vector = _probe(first.get(speaker_id) or added[speaker_id], 1)
        assert all(c[0] != speaker_id for p in PATHS for c in gallery.rank(vector, p, 10))


@pytest.mark.parametrize("threshold", [10_000, 20])
def test_gallery_snapshot_reloads_to_the_same_answers(
    engine: SpeakerEngine, threshold: int
) -> None:
    voiceprints = _voiceprints(engine, 60, 8)
    gallery = engine.gallery(voiceprints, index_threshold=threshold)
    late = _voiceprints(engine, 1, 9, prefix="late")
    gallery.remove(["s1", "s2"])  # free labels survive the round trip
    gallery.upsert(late)
    snapshot = gallery.snapshot()
    restored = engine.restore_gallery(snapshot, index_threshold=threshold)
    assert set(restored.ids) == set(gallery.ids) and len(restored) == 59
    assert restored.approximate == gallery.approximate
    final = {i: v for i, v in voiceprints.items() if i not in ("s1", "s2")} | late
    rebuilt = engine.gallery(final, index_threshold=threshold)
    for speaker_id in ("s0", "s33", "late0"):
        vector = _probe(final[speaker_id], 2)
        for path in PATHS:
            assert restored.rank(vector, path, 5) == gallery.rank(vector, path, 5)
            assert restored.rank(vector, path, 1)[0][0] == rebuilt.rank(vector, path, 1)[0][0]
    restored.upsert(_voiceprints(engine, 1, 10, prefix="after"))  # still changes in place
    assert "after0" in restored and len(restored) == 60
    foreign = GallerySnapshot({**snapshot.header, "backend_version": "other"}, snapshot.arrays)
    with pytest.raises(ModelMismatch):
        engine.restore_gallery(foreign)


def _noisy(voiceprints: dict[str, Voiceprint], engine: SpeakerEngine) -> dict[str, Voiceprint]:
    """The same speakers enrolled from noisy recordings."""
    return {
        i: engine.enroll(
            [
                Embedding(
                    vector=v.vector, speech_s=5.0, model_version=v.model_version, condition="noisy"
                )
            ]
        )
        for i, v in voiceprints.items()
    }


@pytest.mark.parametrize("threshold", [10_000, 20])
def test_a_filtered_ranking_holds_only_its_own_kind(engine: SpeakerEngine, threshold: int) -> None:
    clean = _voiceprints(engine, 30, 11)
    noisy = _noisy(_voiceprints(engine, 30, 12, prefix="n"), engine)
    gallery = engine.gallery({**clean, **noisy}, index_threshold=threshold)
    assert gallery.has_noisy_enrollments
    assert not engine.gallery(clean).has_noisy_enrollments
    for speaker_id, voiceprints in (("s3", clean), ("n4", noisy)):
        vector = _probe(voiceprints[speaker_id], 3)
        in_noise = speaker_id in noisy
        own = gallery.rank(vector, "noisy_enrolled" if in_noise else "clean", 5, in_noise)
        other = gallery.rank(vector, "clean" if in_noise else "noisy_enrolled", 5, not in_noise)
        assert own[0][0] == speaker_id
        assert all((c[0] in noisy) is in_noise for c in own)
        assert own and other and all((c[0] in noisy) is not in_noise for c in other)


def test_identification_of_speakers_enrolled_in_noise_agrees_with_verification(
    engine: SpeakerEngine,
) -> None:
    files = sorted(shared_data("librispeech").glob("*.flac"))[:12]
    waves = {p.stem.split("-")[0]: load_audio(p).samples for p in files}
    names = list(waves)
    crowd = [waves[n] for n in names[8:]]
    enrolled, probes = {}, {}
    for i, name in enumerate(names[:8]):
        wav = waves[name]
        sample = wav[: wav.size // 2]
        if i % 2:  # enrolled in a crowd: the whole utterance, four other readers at 10 dB
            babble = sum(np.resize(c, wav.size) / np.sqrt(np.mean(c**2)) for c in crowd)
            gain = np.sqrt(np.mean(wav**2) / np.mean(babble**2)) / 10 ** (10 / 20)
            sample = (wav + gain * babble).astype(np.float32)
        embedding = engine.embed(engine.front_end.analyze_clip(as_clip(sample)), variants=True)
        enrolled[name] = engine.enroll([embedding])
        probes[name] = engine.embed(engine.front_end.analyze_clip(as_clip(wav)))
    assert {enrolled_in_noise(enrolled[n]) for n in names[1:8:2]} == {True}
    gallery = engine.gallery(enrolled)
    assert gallery.has_noisy_enrollments
    identified = set()
    for name in names[:8]:
        result = engine.identify(probes[name], gallery, top_k=4)
        assert result.candidates[0].speaker_id == name
        # named only when verification against that voiceprint accepts too (its threshold is
        # for one comparison, identification's for eight)
        if result.best is not None:
            assert result.best.speaker_id == name
            assert engine.verify(enrolled[name], probes[name]).accepted
            identified.add(name)
        for candidate in result.candidates:  # the same path and score as verification
            verified = engine.verify(enrolled[candidate.speaker_id], probes[name])
            assert candidate.probability == pytest.approx(verified.probability, abs=1e-5)
        probabilities = [c.probability for c in result.candidates]
        assert probabilities == sorted(probabilities, reverse=True)
    # every enrollment is named, the four made in a 10 dB crowd too (with GE2E, reader 1088
    # enrolled in the crowd stayed "unknown": its candidates were right, only below the
    # open-set threshold)
    assert identified == set(names[:8])


def test_the_noisy_enrollments_survive_changes_and_snapshots(engine: SpeakerEngine) -> None:
    noisy = _noisy(_voiceprints(engine, 3, 13, prefix="n"), engine)
    gallery = engine.gallery({**_voiceprints(engine, 5, 14), **noisy})
    restored = engine.restore_gallery(gallery.snapshot())
    vector = _probe(noisy["n1"], 4)
    want = gallery.rank(vector, "noisy_enrolled", 3, True)
    assert restored.rank(vector, "noisy_enrolled", 3, True) == want and want[0][0] == "n1"
    assert restored.has_noisy_enrollments
    gallery.upsert(_voiceprints(engine, 3, 15, prefix="n"))  # re-enrolled on clean speech
    assert not gallery.has_noisy_enrollments
    restored.remove(list(noisy))
    assert not restored.has_noisy_enrollments
    # a snapshot made before the gallery kept this: every voiceprint counts as clean
    snapshot = engine.gallery(noisy).snapshot()
    old = GallerySnapshot(
        snapshot.header, {k: v for k, v in snapshot.arrays.items() if k != "noisy"}
    )
    assert not engine.restore_gallery(old).has_noisy_enrollments
