from __future__ import annotations

from voxguard.training.texts import make_sentences


def test_sentences_are_seeded() -> None:
    assert make_sentences(50, 0) == make_sentences(50, 0)
    assert make_sentences(50, 0) != make_sentences(50, 1)


def test_sentences_mix_digits_and_prose() -> None:
    texts = [s.text for s in make_sentences(300, 0)]
    assert any(any(ch.isdigit() for ch in t) for t in texts)
    assert any(" seven " in f" {t} " or "seven." in t for t in texts)
    assert len(set(texts)) > 250
    assert all(t[0].isupper() or t[0].isdigit() for t in texts)
