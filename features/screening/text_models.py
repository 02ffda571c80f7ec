"""The two text models screening reads, each shipped inside its pinned package (nothing is
downloaded): VADER's sentiment lexicon (``vaderSentiment``) and langid's language model
(``py3langid``). This is the only module importing either.

- :func:`sentence_tone`: VADER's compound score of a sentence, -1 (most negative) to 1.
- :func:`identify_language`: the most likely language of a text (ISO 639-1) and its
  probability (langid's normalised scores).
"""

from __future__ import annotations

from functools import cache

from py3langid.langid import MODEL_FILE, LanguageIdentifier
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer


@cache
def _analyzer() -> SentimentIntensityAnalyzer:
    return SentimentIntensityAnalyzer()


@cache
def _identifier() -> LanguageIdentifier:
    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def sentence_tone(sentence: str) -> float:
    """VADER's compound score of ``sentence`` (-1 to 1)."""
    return float(_analyzer().polarity_scores(sentence)["compound"])


def identify_language(text: str) -> tuple[str, float]:
    """The most likely language of ``text`` and its probability."""
    language, probability = _identifier().classify(text)
    return str(language), float(probability)
