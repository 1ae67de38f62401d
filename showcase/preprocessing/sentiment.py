"""The sentiment recipe: text normalization, the word tokenizer and the n-gram vocabulary.

Training (``training/train_sentiment.py``) and serving (``showcase.text`` and the Sentiment page) both
turn a review into model input here, so the model always sees text prepared the same way:

1. ``normalize``: lower-case, HTML line breaks/tags and entities removed, apostrophes dropped
   ("don't" -> "dont"), every other non-letter/non-digit character (punctuation, emoji) becomes a space.
2. ``words``: the normalized text split on whitespace.
3. ``Vocabulary.encode_chunks``: the words are cut into chunks of ``WORDS_PER_CHUNK`` words; each chunk
   becomes its unigram ids followed by its bigram ids ("not good"), terms outside the vocabulary are
   dropped, and the ids are right-padded with 0 to ``WINDOW`` ids. A review longer than one chunk is
   scored chunk by chunk and the probabilities are averaged (``showcase.text``).

The vocabulary is a UTF-8 text file with one term per line: the term on line n (counting from 1) has
id n; id 0 is padding. It ships beside the model in ``models/sentiment/``.
"""

from __future__ import annotations

import collections
import html
import re
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

PREPROCESSING_ID = "showcase.preprocessing.sentiment:Vocabulary.encode_chunks"
WORDS_PER_CHUNK = 256
# Unigrams and bigrams of one chunk: 256 + 255 ids, padded to a round 512.
WINDOW = 512
PADDING_ID = 0

_TAG = re.compile(r"<[^>]*>")
_APOSTROPHE = re.compile(r"['\u2019\u02bc`]")
# Anything that is not a letter or digit in any script (``\w`` minus the underscore).
_NOT_WORD = re.compile(r"[\W_]+")


def normalize(text: str) -> str:
    """Lower-case text without HTML, apostrophes or punctuation; words separated by single spaces."""
    if not isinstance(text, str):
        raise ValueError(f"Expected text (str), got {type(text).__name__}.")
    text = _TAG.sub(" ", html.unescape(text))
    text = _APOSTROPHE.sub("", text.lower())
    return _NOT_WORD.sub(" ", text).strip()


def words(text: str) -> list[str]:
    """The words of a text after ``normalize``."""
    normalized = normalize(text)
    return normalized.split(" ") if normalized else []


def pieces(text: str) -> list[tuple[str, list[str]]]:
    """The text (HTML removed) split on whitespace, each piece with its words; for word highlights.

    The pieces' words, concatenated, are exactly ``words(text)``, so per-word figures map back onto
    what the visitor typed, punctuation included.
    """
    cleaned = _TAG.sub(" ", html.unescape(text))
    return [(piece, words(piece)) for piece in cleaned.split()]


def ngrams(tokens: Sequence[str]) -> list[str]:
    """Unigrams followed by bigrams ("a b") of a list of words."""
    return list(tokens) + [f"{first} {second}" for first, second in zip(tokens, tokens[1:])]


def chunks(tokens: Sequence[str], size: int = WORDS_PER_CHUNK) -> list[Sequence[str]]:
    """Consecutive slices of at most ``size`` words; one empty chunk for an empty text."""
    return [tokens[start:start + size] for start in range(0, len(tokens), size)] or [tokens[:0]]


class Vocabulary:
    """Terms (unigrams and bigrams) and their ids; id 0 is padding."""

    def __init__(self, terms: Sequence[str]):
        if len(set(terms)) != len(terms):
            raise ValueError("The vocabulary has duplicate terms.")
        self.terms = list(terms)
        self.ids = {term: index + 1 for index, term in enumerate(self.terms)}

    def __len__(self) -> int:
        """Number of ids the model's embedding needs (terms + padding)."""
        return len(self.terms) + 1

    @classmethod
    def build(cls, texts: Iterable[str], max_terms: int, min_documents: int = 3) -> "Vocabulary":
        """The ``max_terms`` unigrams and bigrams found in the most documents (ties broken alphabetically)."""
        document_frequency: collections.Counter[str] = collections.Counter()
        for text in texts:
            document_frequency.update(set(ngrams(words(text))))
        frequent = [(term, count) for term, count in document_frequency.items() if count >= min_documents]
        frequent.sort(key=lambda item: (-item[1], item[0]))
        return cls([term for term, _ in frequent[:max_terms]])

    @classmethod
    def load(cls, path: Path) -> "Vocabulary":
        terms = Path(path).read_text(encoding="utf-8").split("\n")
        return cls([term for term in terms if term])

    def save(self, path: Path) -> Path:
        Path(path).write_text("\n".join(self.terms) + "\n", encoding="utf-8")
        return Path(path)

    def encode_words(self, tokens: Sequence[str]) -> np.ndarray:
        """One chunk of at most ``WORDS_PER_CHUNK`` words -> int32 ids of shape (WINDOW,)."""
        if len(tokens) > WORDS_PER_CHUNK:
            raise ValueError(f"A chunk holds at most {WORDS_PER_CHUNK} words, got {len(tokens)}.")
        ids = [self.ids[term] for term in ngrams(tokens) if term in self.ids]
        row = np.zeros(WINDOW, dtype=np.int32)
        row[: len(ids)] = ids
        return row

    def encode_chunks(self, text: str) -> np.ndarray:
        """A text -> int32 array (number of chunks, WINDOW): the model input, one row per chunk."""
        return np.stack([self.encode_words(chunk) for chunk in chunks(words(text))])

    def known_fraction(self, text: str) -> float:
        """Share of the text's words that are in the vocabulary (0.0 for a text without words)."""
        tokens = words(text)
        return sum(token in self.ids for token in tokens) / len(tokens) if tokens else 0.0
