"""Seeded sentences for the TTS generators.

Templates filled from small word lists, with digit strings mixed in so that spoken content
overlaps the genuine data (FSDD is spoken digits, LibriSpeech is read prose): a detector must
not be able to tell the classes apart by what is said.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

_DIGITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
_NAMES = (
    "Anna", "Marcus", "the captain", "my neighbour", "old Thomas", "the doctor", "Elena",
    "the clerk", "her brother", "Mister Grey", "the children", "Julia", "the driver",
)  # fmt: skip
_NOUNS = (
    "letter", "garden", "river", "account", "window", "harvest", "meeting", "bridge", "lamp",
    "parcel", "island", "ticket", "village", "painting", "storm", "kitchen", "message",
    "journey", "station", "forest", "contract", "engine", "market", "library",
)  # fmt: skip
_VERBS = (
    "opened", "found", "carried", "remembered", "painted", "closed", "sold", "watched",
    "described", "repaired", "forgot", "signed", "followed", "answered", "crossed",
)  # fmt: skip
_ADJECTIVES = (
    "quiet", "heavy", "bright", "narrow", "ancient", "cold", "strange", "gentle", "broken",
    "distant", "golden", "empty", "careful", "crowded", "small",
)  # fmt: skip
_PLACES = (
    "near the old mill", "before the sun went down", "at the end of the street",
    "in the early morning", "under the grey sky", "across the valley", "after the long winter",
    "beside the harbour", "on the second floor", "without a word",
)  # fmt: skip
_TEMPLATES = (
    "{name} {verb} the {adj} {noun} {place}.",
    "It was a {adj} {noun}, and {name} {verb} it {place}.",
    "Please call me back at {digits} {place}.",
    "My verification code is {digits}.",
    "{name} said the {noun} number was {digits}.",
    "We {verb} the {adj} {noun} and the {noun2} {place}.",
    "Hello, this is {name}. I am calling about the {noun}.",
    "Your account ending in {digits} has been {verb}.",
    "The {adj} {noun} was {verb} by {name} {place}.",
    "Did {name} say {digits}, or was it {digits2}?",
    "I never thought the {noun} would be so {adj}.",
    "{digits}.",
    "Yes, I can confirm the {noun} is {adj}, {place}.",
    "At {hour} o'clock {name} {verb} the {noun2}, then the {adj} {noun}.",
)


@dataclass(frozen=True)
class Sentence:
    text_id: str
    text: str


def _digit_string(rng: np.random.Generator) -> str:
    count = int(rng.integers(3, 8))
    if rng.random() < 0.5:
        return " ".join(_DIGITS[int(d)] for d in rng.integers(0, 10, count))
    return " ".join(str(int(d)) for d in rng.integers(0, 10, count))


def _pick(rng: np.random.Generator, words: tuple[str, ...]) -> str:
    return words[int(rng.integers(len(words)))]


def make_sentences(count: int, seed: int) -> list[Sentence]:
    """``count`` sentences, the same for the same ``seed``."""
    rng = np.random.default_rng([seed, 0x7E47])
    sentences: list[Sentence] = []
    for index in range(count):
        template = _pick(rng, _TEMPLATES)
        text = template.format(
            name=_pick(rng, _NAMES),
            verb=_pick(rng, _VERBS),
            adj=_pick(rng, _ADJECTIVES),
            noun=_pick(rng, _NOUNS),
            noun2=_pick(rng, _NOUNS),
            place=_pick(rng, _PLACES),
            digits=_digit_string(rng),
            digits2=_digit_string(rng),
            hour=_pick(rng, _DIGITS[1:]),
        )
        sentences.append(Sentence(f"t{index:05d}", text[0].upper() + text[1:]))
    return sentences
