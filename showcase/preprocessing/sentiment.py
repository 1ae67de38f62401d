"""The sentiment recipe: text normalization, the word tokenizer and the n-gram vocabulary.

Training (``training/train_sentiment.py``) and serving (``showcase.text`` and the Sentiment page) both
turn a review into model input here, so the model always sees text prepared the same way:

1. ``normalize``: lower-case, HTML line breaks/tags and entities removed, apostrophes dropped
   ("don't" -> "dont"), every other non-letter/non-digit character (punctuation, emoji) becomes a space.
2. ``words``: the normalized text split on whitespace.
3. ``Vocabulary.words``: the same words with names replaced by one token, ``PERSON``. A word written
   with a capital ("Emma", not "emma" or "EMMA") is a name when it is in the vocabulary's list of names
   (the training script builds it: words the IMDB reviews nearly always capitalize — actors, characters,
   places — plus the US census first names) or when it is not in the vocabulary at all.
   Without this, names carried sentiment learned from the reviews' actors and characters: in "I watched
   this with Emma / Linda last night…" the probability moved from 0.60 to 0.03.
4. ``Vocabulary.encode_chunks``: the words are cut into chunks of ``WORDS_PER_CHUNK`` words; each chunk
   becomes its unigram ids followed by its bigram ids ("not good"), terms outside the vocabulary are
   dropped, and the ids are right-padded with 0 to ``WINDOW`` ids. A review longer than one chunk is
   scored chunk by chunk and the probabilities are averaged (``showcase.text``).

The vocabulary is a UTF-8 text file with one term per line: the term on line n (counting from 1) has
id n; id 0 is padding. The list of first names is a file with one lower-case name per line. Both ship
beside the model in ``models/sentiment/``.
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
# The token that stands for every person name (letters only, so normalization leaves it as it is).
PERSON = "xxperson"
# A word of the texts is a proper noun if it is capitalized this often ("Seagal", "Hollywood")...
PROPER_NOUN_CAPITALIZED_SHARE = 0.9
# ... and a listed first name stays a name unless the texts mostly write it in lower case ("will", "hope").
FIRST_NAME_CAPITALIZED_SHARE = 0.5

_TAG = re.compile(r"<[^>]*>")
_APOSTROPHE = re.compile(r"['\u2019\u02bc`]")
# Anything that is not a letter or digit in any script (``\w`` minus the underscore).
_NOT_WORD = re.compile(r"[\W_]+")


def cased_words(text: str) -> list[str]:
    """The words of a text as written: HTML, apostrophes and punctuation removed, case kept."""
    if not isinstance(text, str):
        raise ValueError(f"Expected text (str), got {type(text).__name__}.")
    text = _APOSTROPHE.sub("", _TAG.sub(" ", html.unescape(text)))
    return [word for word in _NOT_WORD.split(text) if word]


def words(text: str) -> list[str]:
    """The lower-case words of a text (no person-name masking; see ``Vocabulary.words``)."""
    return [word.lower() for word in cased_words(text)]


def normalize(text: str) -> str:
    """Lower-case text without HTML, apostrophes or punctuation; words separated by single spaces."""
    return " ".join(words(text))


def is_capitalized(word: str) -> bool:
    """"Emma" yes; "emma", "EMMA", "E" no."""
    return word[:1].isupper() and word[1:].islower()


def capitalized_names(texts: Iterable[str], first_names: Iterable[str], min_count: int = 3) -> list[str]:
    """Proper nouns and first names (lower case), as the texts use them.

    A word seen at least ``min_count`` times and capitalized at least ``PROPER_NOUN_CAPITALIZED_SHARE`` of the
    time is a proper noun ("Seagal", "Priya"); a listed first name is kept unless the texts mostly write it
    in lower case ("will", "hope", "mark" are plain words first).
    """
    seen: collections.Counter[str] = collections.Counter()
    capitalized: collections.Counter[str] = collections.Counter()
    for text in texts:
        for word in cased_words(text):
            seen[word.lower()] += 1
            capitalized[word.lower()] += is_capitalized(word)
    proper_nouns = {word for word, count in seen.items()
                    if count >= min_count and capitalized[word] >= PROPER_NOUN_CAPITALIZED_SHARE * count}
    names = {name for name in first_names if capitalized[name] >= FIRST_NAME_CAPITALIZED_SHARE * seen[name]}
    return sorted(proper_nouns | names)


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

    def __init__(self, terms: Sequence[str], person_names: Iterable[str] = ()):
        if len(set(terms)) != len(terms):
            raise ValueError("The vocabulary has duplicate terms.")
        self.terms = list(terms)
        self.ids = {term: index + 1 for index, term in enumerate(self.terms)}
        self.person_names = frozenset(person_names)

    def words(self, text: str, mask_unknown: bool = True) -> list[str]:
        """The lower-case words of a text, capitalized person names (and, with ``mask_unknown``, capitalized
        words the vocabulary does not know) replaced by ``PERSON``; one entry per word of ``words(text)``."""
        return [self._mask(word, mask_unknown) for word in cased_words(text)]

    def _mask(self, word: str, mask_unknown: bool) -> str:
        lower = word.lower()
        if is_capitalized(word) and (lower in self.person_names or (mask_unknown and lower not in self.ids)):
            return PERSON
        return lower

    def __len__(self) -> int:
        """Number of ids the model's embedding needs (terms + padding)."""
        return len(self.terms) + 1

    @classmethod
    def build(
        cls, texts: Iterable[str], max_terms: int, min_documents: int = 3, person_names: Iterable[str] = ()
    ) -> "Vocabulary":
        """The ``max_terms`` unigrams and bigrams found in the most documents (ties broken alphabetically),
        counted after the listed person names are masked."""
        masking = cls([], person_names)
        document_frequency: collections.Counter[str] = collections.Counter()
        for text in texts:
            document_frequency.update(set(ngrams(masking.words(text, mask_unknown=False))))
        frequent = [(term, count) for term, count in document_frequency.items() if count >= min_documents]
        frequent.sort(key=lambda item: (-item[1], item[0]))
        return cls([term for term, _ in frequent[:max_terms]], masking.person_names)

    @classmethod
    def load(cls, path: Path, person_names_path: Path | None = None) -> "Vocabulary":
        names = _read_lines(person_names_path) if person_names_path else []
        return cls(_read_lines(path), names)

    def save(self, path: Path) -> Path:
        return _write_lines(path, self.terms)

    def save_person_names(self, path: Path) -> Path:
        return _write_lines(path, sorted(self.person_names))

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
        return np.stack([self.encode_words(chunk) for chunk in chunks(self.words(text))])


def _read_lines(path: Path) -> list[str]:
    return [line for line in Path(path).read_text(encoding="utf-8").split("\n") if line]


def _write_lines(path: Path, lines: Sequence[str]) -> Path:
    Path(path).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return Path(path)
