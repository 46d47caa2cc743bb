"""The spoof detector's model card keeps the shape issue 18 asks for: short, usual sections."""

from pathlib import Path

CARD = Path(__file__).resolve().parents[2] / "docs" / "models" / "spoof-detector.md"
SECTIONS = (
    "Intended use",
    "Data and sources",
    "Training",
    "Evaluation",
    "Calibration and operating points",
    "Limitations",
)


def test_card_is_at_most_300_lines() -> None:
    assert len(CARD.read_text().splitlines()) <= 300


def test_card_has_the_usual_sections() -> None:
    headings = {
        line[3:].strip() for line in CARD.read_text().splitlines() if line.startswith("## ")
    }
    missing = [s for s in SECTIONS if s not in headings]
    assert not missing, f"model card lacks sections: {missing}"
