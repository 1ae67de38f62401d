"""The sentiment model: text normalization, the word tokenizer and the n-gram vocabulary, then serving.

Training (``training/train_sentiment.py``) and serving (below, and the Sentiment page) both
turn a review into model input here, so the model always sees text prepared the same way:

1. ``normalize``: lower-case, HTML line breaks/tags and entities removed, apostrophes dropped
   ("don't" -> "dont"), every other non-letter/non-digit character (punctuation, emoji) becomes a space.
2. ``words``: the normalized text split on whitespace.
3. ``Vocabulary.words``: the same words with names replaced by one token, ``PERSON``. A word written
   with a capital ("Emma", not "emma" or "EMMA") is a name when it is in the list of names (the training
   script builds it: words the IMDB reviews nearly always capitalize — actors, characters, places — plus
   the US census first names) or when the vocabulary does not know it at all. Without this, names carried
   sentiment learned from the reviews' actors and characters.
4. ``Vocabulary.encode``: every unigram, bigram and trigram of the words ("not", "not good", "not good
   at") is looked up in the vocabulary, a hashed table of the n-grams found in at least two training
   reviews (``Vocabulary``); n-grams it does not hold are dropped. The review's distinct ids, sorted, fill
   rows of ``WINDOW`` ids (padded with 0), followed by one empty row.

The model is linear in its ids: a row's logit is a bias plus one learned weight per id (naive-Bayes
log-count ratios times learned factors, folded into one table), so a review's logit is the bias plus the
weights of all its n-grams however many rows it takes (``review_logits``), and it splits exactly into one
share per n-gram (``word_effects``).

The vocabulary is a NumPy file of one byte per bucket (``ngram_table.npy``); the list of names is a file with
one lower-case name per line (``person_names.txt``). Both ship beside the model in ``models/sentiment/``.

Serving is one class, ``SentimentClassifier``: it scores a review (``SentimentResult``: the calibrated
probability, the label, the word-by-word explanation and the latency) and a CSV of reviews (``ScoredTable``).
It takes a runtime predictor (``showcase.runtime.load("sentiment", format)``), so the page's format selector
drives the scores, the word highlights and the batch mode alike. The page's gauge and word highlights are
built here too (``gauge_chart``, ``highlighted_html``).

    python -m showcase.tasks.sentiment --benchmark   # p50 latency of a 200-word review in every format
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import functools
import html
import math
import re
import time
import zlib
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import numpy as np
import pandas as pd

from showcase import calibration, csvfiles, datasets, evaluation, ood, paths, runtime
from showcase import manifest as manifest_lib

PREPROCESSING_ID = "showcase.tasks.sentiment:Vocabulary.encode"
# Unigrams, bigrams and trigrams.
NGRAM_ORDER = 3
# The model's ids per row: a 200-word review has about 600 n-grams, of which about 450 are known.
WINDOW = 1024
PADDING_ID = 0
# Buckets of the vocabulary table (and weights of the model): 2^21, room for the ~0.8M n-grams found in at
# least MIN_DOCUMENTS training reviews with few left out.
BUCKETS = 2**21
MIN_DOCUMENTS = 2
# The second hash's seed, and how many of the first hash's top bits make the fingerprint (bits the bucket
# index, its low bits, does not use while BUCKETS is at most 2^21).
SECOND_HASH_SEED = 0x5BD1E995
FINGERPRINT_BITS = 11
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


def ngrams(tokens: Sequence[str]) -> list[tuple[str, tuple[int, ...]]]:
    """Every unigram, bigram and trigram of a list of words ("not", "not good", "not good at"), each with the
    positions of the words it covers: unigrams first, then bigrams, then trigrams."""
    return [(" ".join(tokens[start:start + order]), tuple(range(start, start + order)))
            for order in range(1, NGRAM_ORDER + 1) for start in range(len(tokens) - order + 1)]


def _hashes(terms: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Two independent 32-bit hashes (CRC-32 with two seeds) of each term, as uint64 arrays."""
    encoded = [term.encode("utf-8") for term in terms]
    first = np.fromiter((zlib.crc32(term) for term in encoded), np.uint64, len(encoded))
    second = np.fromiter((zlib.crc32(term, SECOND_HASH_SEED) for term in encoded), np.uint64, len(encoded))
    return first, second


def _slots(terms: Sequence[str], buckets: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each term's two candidate buckets (never 0, the padding id) and its fingerprint (1..255)."""
    first, second = _hashes(terms)
    mask = np.uint64(buckets - 1)
    candidates = [np.where(hashed & mask == 0, 1, hashed & mask).astype(np.int64) for hashed in (first, second)]
    fingerprints = ((first >> np.uint64(32 - FINGERPRINT_BITS)) % np.uint64(255) + np.uint64(1)).astype(np.uint8)
    return candidates[0], candidates[1], fingerprints


class Vocabulary:
    """The n-grams the model knows, as a hashed table of fingerprints, and the person names it masks.

    The table has one byte per bucket (``buckets``, a power of two): 0 for an empty bucket, else the
    fingerprint of the n-gram stored there. An n-gram may live in either of its two candidate buckets; it is
    known when one of them holds its fingerprint, and that bucket is its id. So the model's ids need neither a
    vocabulary file of millions of n-grams nor a hashing trick that gives every unseen n-gram some other
    n-gram's weight: an unseen n-gram matches only when a bucket holds its fingerprint by chance (at most 2 in
    255). Bucket 0 is never used; it is the padding id.
    """

    def __init__(self, table: np.ndarray, person_names: Iterable[str] = ()):
        table = np.asarray(table)
        buckets = len(table)
        if table.dtype != np.uint8 or table.ndim != 1 or buckets < 2 or buckets & (buckets - 1):
            raise ValueError("A vocabulary table is a 1-D uint8 array whose length is a power of two.")
        if table[PADDING_ID]:
            raise ValueError("Bucket 0 of a vocabulary table is the padding id and must be empty.")
        self.table = table
        self.person_names = frozenset(person_names)

    @property
    def buckets(self) -> int:
        """Number of ids the model's weights need (padding included)."""
        return len(self.table)

    @property
    def size(self) -> int:
        """Number of n-grams stored."""
        return int(np.count_nonzero(self.table))

    def term_ids(self, terms: Sequence[str]) -> np.ndarray:
        """The id of each term, 0 for a term the vocabulary does not hold."""
        if not len(terms):
            return np.zeros(0, dtype=np.int64)
        first, second, fingerprints = _slots(terms, self.buckets)
        return np.where(self.table[first] == fingerprints, first,
                        np.where(self.table[second] == fingerprints, second, PADDING_ID))

    def knows(self, words: Sequence[str]) -> np.ndarray:
        """Whether each (lower-case) word is a known unigram."""
        return self.term_ids(words) != PADDING_ID

    def words(self, text: str, mask_unknown: bool = True) -> list[str]:
        """The lower-case words of a text, capitalized person names (and, with ``mask_unknown``, capitalized
        words the vocabulary does not know) replaced by ``PERSON``; one entry per word of ``words(text)``."""
        cased = cased_words(text)
        lower = [word.lower() for word in cased]
        capitalized = [index for index, word in enumerate(cased) if is_capitalized(word)]
        unknown = set()
        if mask_unknown and capitalized:
            known = self.knows([lower[index] for index in capitalized])
            unknown = {index for index, is_known in zip(capitalized, known) if not is_known}
        for index in capitalized:
            if index in unknown or lower[index] in self.person_names:
                lower[index] = PERSON
        return lower

    def occurrences(self, tokens: Sequence[str]) -> tuple[np.ndarray, list[tuple[int, ...]]]:
        """The ids of the known n-grams of a list of words, one per occurrence, and the word positions of each."""
        terms = ngrams(tokens)
        ids = self.term_ids([term for term, _ in terms])
        known = np.flatnonzero(ids)
        return ids[known], [terms[index][1] for index in known]

    def encode_words(self, tokens: Sequence[str]) -> np.ndarray:
        """Words -> model input: the distinct ids of their known n-grams, sorted, in rows of ``WINDOW`` ids
        right-padded with 0, then one empty row (see ``review_logits``). int32, shape (rows, WINDOW)."""
        ids = np.unique(self.occurrences(tokens)[0])
        rows = np.zeros((-(-len(ids) // WINDOW) + 1, WINDOW), dtype=np.int32)
        rows.reshape(-1)[: len(ids)] = ids
        return rows

    def encode(self, text: str) -> np.ndarray:
        """A text -> its model input rows (``encode_words`` of ``words(text)``)."""
        return self.encode_words(self.words(text))

    @classmethod
    def build(cls, texts: Iterable[str], buckets: int = BUCKETS, min_documents: int = MIN_DOCUMENTS,
              person_names: Iterable[str] = ()) -> "Vocabulary":
        """The n-grams found in at least ``min_documents`` texts (after the listed names are masked), placed
        most frequent first (ties alphabetically) into the first free of their two buckets; an n-gram whose
        buckets are both taken is left out."""
        masking = cls(np.zeros(2, dtype=np.uint8), person_names)
        document_frequency: collections.Counter[str] = collections.Counter()
        for text in texts:
            document_frequency.update({term for term, _ in ngrams(masking.words(text, mask_unknown=False))})
        frequent = sorted((term for term, count in document_frequency.items() if count >= min_documents),
                          key=lambda term: (-document_frequency[term], term))
        table = np.zeros(buckets, dtype=np.uint8)
        if frequent:
            first, second, fingerprints = _slots(frequent, buckets)
            for one, other, fingerprint in zip(first.tolist(), second.tolist(), fingerprints.tolist()):
                if not table[one]:
                    table[one] = fingerprint
                elif not table[other]:
                    table[other] = fingerprint
        table[PADDING_ID] = 0
        return cls(table, masking.person_names)

    @classmethod
    def load(cls, path: Path, person_names_path: Path | None = None) -> "Vocabulary":
        names = _read_lines(person_names_path) if person_names_path else []
        return cls(np.load(path, allow_pickle=False), names)

    def save(self, path: Path) -> Path:
        np.save(path, self.table, allow_pickle=False)
        return Path(path)

    def save_person_names(self, path: Path) -> Path:
        return _write_lines(path, sorted(self.person_names))


def _read_lines(path: Path) -> list[str]:
    return [line for line in Path(path).read_text(encoding="utf-8").split("\n") if line]


def _write_lines(path: Path, lines: Sequence[str]) -> Path:
    Path(path).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return Path(path)


def review_logits(row_logits: np.ndarray, owner: np.ndarray | None = None, count: int | None = None) -> np.ndarray:
    """Each review's logit from the model's row logits (``owner``: each row's review, rows of a review together;
    without it, all rows are one review).

    The model is linear in its ids: a row's logit is the bias plus the weights of its ids. A review's rows end
    with an empty row, whose logit is the bias alone, so the review's logit, the bias plus the weights of all
    its ids, is the sum of its rows' logits less the bias once per row beyond the first.
    """
    row_logits = np.asarray(row_logits, dtype=np.float64).reshape(-1)
    if owner is None:
        owner, count = np.zeros(len(row_logits), dtype=np.int64), 1
    owner = np.asarray(owner)
    totals = np.bincount(owner, weights=row_logits, minlength=count)
    rows = np.bincount(owner, minlength=count)
    last_rows = np.flatnonzero(np.append(owner[1:] != owner[:-1], True))
    bias = np.zeros(count)
    bias[owner[last_rows]] = row_logits[last_rows]
    return totals - (rows - 1) * bias


def review_probabilities(row_logits: np.ndarray, owner: np.ndarray | None = None,
                         count: int | None = None) -> np.ndarray:
    """``review_logits`` as probabilities of "positive" (float64, not calibrated)."""
    return 1 / (1 + np.exp(-review_logits(row_logits, owner, count)))

# ## Serving

MODEL_NAME = "sentiment"
VOCABULARY_FILE = "ngram_table.npy"
PERSON_NAMES_FILE = "person_names.txt"
# The page scores at most this many characters of one text (about 18,000 words); the rest is cut with a notice.
MAX_CHARACTERS = 100_000
# Word highlights cover the first words only (one model row per distinct n-gram id).
MAX_EXPLAINED_WORDS = 2_000
# Rows per model call when measuring the n-grams' weights one by one.
EXPLANATION_BATCH = 2_048
# Batch mode limits.
MAX_CSV_BYTES = 10_000_000
MAX_CSV_ROWS = 2_000
# A 200-word review for the latency benchmark (200 words, ~ the median IMDB review length).
BENCHMARK_REVIEW = " ".join(
    ("this movie was a pleasant surprise the acting is strong and the story kept me interested from start to "
     "finish although the ending felt a little rushed and one or two scenes dragged").split() * 8
)
BENCHMARK_REVIEW = " ".join(BENCHMARK_REVIEW.split()[:200])
# The page's example buttons, and the sample CSV it offers for the batch mode.
EXAMPLES = {
    "Rave": "A great, moving film. The performances are wonderful and the script is sharp and funny; "
    "I was hooked from the first scene to the last. One of the best films I have seen this year.",
    "Pan": "An awful, boring film. The plot makes no sense, the dialogue is laughable and the acting is wooden. "
    "I wanted my two hours back.",
    "Mixed": "The cinematography is beautiful and the lead actress does her best, but the story is predictable "
    "and the second half drags on far too long.",
    "Negation": "This is not a good movie. It is not funny, not clever and not worth your time.",
}
SAMPLE_CSV = paths.SAMPLES_DIR / "sentiment" / "reviews.csv"


class TextInputError(ValueError):
    """Text or a CSV upload that cannot be scored; the message says why and what to do."""


def load_vocabulary(entry: dict[str, Any]) -> Vocabulary:
    """The vocabulary and list of person names listed in the manifest entry, checked against their sha256."""
    files = [_verified_file(entry, key) for key in ("vocabulary", "person_names")]
    return Vocabulary.load(*files)


def _verified_file(entry: dict[str, Any], key: str):
    record = entry.get("extra", {}).get(key)
    rebuild = f"Rebuild it with `{entry['training']['command']}`."
    if record is None:
        raise runtime.ArtifactError(f"The sentiment entry lists no {key.replace('_', ' ')}. {rebuild}")
    problem = manifest_lib.verify_artifact(record)
    if problem:
        raise runtime.ArtifactError(f"The sentiment {key.replace('_', ' ')}: {problem}. {rebuild}")
    return paths.MODELS_DIR / record["path"]


# ## One text


@dataclasses.dataclass
class Score:
    probability: float  # of "positive", calibrated
    logit: float  # the model's logit for the review, before calibration
    words: int
    known_words: int  # words that are known unigrams
    truncated: bool  # the text was longer than MAX_CHARACTERS

    @property
    def label(self) -> str:
        return "positive" if self.probability >= 0.5 else "negative"


def check_text(text: str) -> tuple[str, bool]:
    """The text to score and whether it was cut to MAX_CHARACTERS; TextInputError when there is nothing to score."""
    if not isinstance(text, str) or not text.strip():
        raise TextInputError("The text is empty. Type or paste a review (a few sentences work best).")
    truncated = len(text) > MAX_CHARACTERS
    text = text[:MAX_CHARACTERS] if truncated else text
    if not words(text):
        raise TextInputError("The text has no words (only punctuation, symbols or emoji). "
                             "Type a review in English.")
    return text, truncated


def calibrated_probability(logit: float, temperature: float = 1.0) -> float:
    """The probability of "positive" for a review's logit scaled by ``temperature`` (``showcase.calibration``)."""
    return float(1 / (1 + np.exp(-logit / temperature)))


def score_text(predictor: runtime.Predictor, vocabulary: Vocabulary, text: str,
               temperature: float = 1.0) -> Score:
    """Score one review: all its rows in one model call, their logits summed (``review_logits``), calibrated
    with ``temperature`` (1.0 leaves the probability as the model gives it)."""
    text, truncated = check_text(text)
    tokens = vocabulary.words(text)
    logit = float(review_logits(predictor.predict(vocabulary.encode_words(tokens))[:, 0])[0])
    return Score(
        probability=calibrated_probability(logit, temperature),
        logit=logit,
        words=len(tokens),
        known_words=int(vocabulary.knows(tokens).sum()),
        truncated=truncated,
    )


def ngram_weights(predictor: runtime.Predictor, ids: np.ndarray) -> np.ndarray:
    """The model's weight of each id: the logit of a row holding that id alone, less the logit of an empty row.

    Measured with the selected format itself, so the shares are that format's, quantization included.
    """
    weights = []
    for start in range(0, len(ids), EXPLANATION_BATCH):
        part = ids[start:start + EXPLANATION_BATCH]
        # Row 0 is the empty input (the bias alone); row i + 1 holds id i alone.
        rows = np.zeros((len(part) + 1, WINDOW), dtype=np.int32)
        rows[1:, 0] = part
        logits = predictor.predict(rows)[:, 0].astype(np.float64)
        weights.append(logits[1:] - logits[0])
    return np.concatenate(weights) if weights else np.zeros(0)


def word_effects(predictor: runtime.Predictor, vocabulary: Vocabulary, text: str,
                 temperature: float = 1.0) -> np.ndarray:
    """How much each word pushes the review toward "positive" (> 0) or "negative" (< 0), in logit units.

    The review's logit is the bias plus the weight of each distinct n-gram id (``review_logits``), so it splits
    exactly into one share per n-gram: the id's weight (``ngram_weights``), shared equally by the id's
    occurrences in the text (a repeated n-gram counts once) and split equally between the words each
    occurrence covers. Plain occlusion (leave a word out, rescore) says nothing on short, clear-cut texts,
    whose probability saturates. Calibration divides the review's logit by ``temperature``, so the shares are
    divided by it too: the calibrated logit is the bias / ``temperature`` plus the sum of the shares. Words
    after ``MAX_EXPLAINED_WORDS`` get NaN (not computed).
    """
    text, _ = check_text(text)
    tokens = vocabulary.words(text)
    ids, covered = vocabulary.occurrences(tokens)
    explained = np.array([positions[-1] < MAX_EXPLAINED_WORDS for positions in covered], dtype=bool)
    distinct, inverse, counts = np.unique(ids, return_inverse=True, return_counts=True)
    weights = np.zeros(len(distinct))
    needed = np.unique(inverse[explained])
    weights[needed] = ngram_weights(predictor, distinct[needed])
    shares = weights[inverse] / counts[inverse] / temperature
    effects = np.zeros(len(tokens))
    for share, positions, is_explained in zip(shares, covered, explained):
        if is_explained:
            effects[list(positions)] += share / len(positions)
    effects[MAX_EXPLAINED_WORDS:] = np.nan
    return effects


def highlighted_pieces(text: str, effects: np.ndarray) -> list[tuple[str, float | None]]:
    """The text's whitespace-separated pieces with the summed effect of their words (None: no word/not computed)."""
    text, _ = check_text(text)
    result, position = [], 0
    for surface, piece_words in pieces(text):
        values = effects[position : position + len(piece_words)]
        position += len(piece_words)
        known = values[~np.isnan(values)] if len(values) else values
        result.append((surface, float(known.sum()) if len(known) else None))
    return result


# ## A CSV of texts


def read_csv_upload(data: bytes) -> tuple[pd.DataFrame, str]:
    """Parse an uploaded CSV (any common encoding and delimiter) -> (table of strings, encoding used)."""
    if len(data) > MAX_CSV_BYTES:
        raise TextInputError(f"The file is {len(data) / 1e6:.1f} MB; batch mode takes at most "
                             f"{MAX_CSV_BYTES / 1e6:.0f} MB.")
    try:
        table, encoding, _ = csvfiles.read_table(data, MAX_CSV_ROWS)
    except csvfiles.CsvError as error:
        raise TextInputError(str(error)) from None
    if table.empty or len(table.columns) == 0:
        raise TextInputError("The CSV has a header but no rows.")
    return table, encoding


def text_columns(table: pd.DataFrame) -> list[str]:
    """Columns holding text (at least one cell with a letter), longest average text first."""
    lengths = {}
    for column in table.columns:
        cells = table[column].astype(str)
        if cells.str.contains(r"[^\W\d_]", regex=True).any():
            lengths[column] = cells.str.len().mean()
    return sorted(lengths, key=lengths.get, reverse=True)


def read_reviews(data: bytes) -> tuple[pd.DataFrame, str, list[str]]:
    """An uploaded CSV of reviews: the table, the encoding it was read with and its text columns (longest first).

    Raises ``TextInputError`` for a file that is not a readable CSV or has no column with text in it.
    """
    table, encoding = read_csv_upload(data)
    columns = text_columns(table)
    if not columns:
        raise TextInputError("The CSV has no column with text in it. Add a column of reviews.")
    return table, encoding, columns


@dataclasses.dataclass
class ScoredTable:
    """A CSV of reviews scored: at most ``MAX_CSV_ROWS`` rows with label, probability_positive and note columns,
    and how many rows could not be scored or were cut."""

    table: pd.DataFrame
    skipped: int  # rows that could not be scored (blank rows included); their note says why
    blank: int  # rows whose text is empty or only whitespace
    truncated: int  # rows scored on their first MAX_CHARACTERS characters only (and noted so)
    refused: int = 0  # rows that do not read like an English review: no label, the reason as their note

    @property
    def scored(self) -> int:
        return len(self.table) - self.skipped - self.refused


def score_table(
    predictor: runtime.Predictor,
    vocabulary: Vocabulary,
    table: pd.DataFrame,
    column: str,
    progress: Callable[[float], None] | None = None,
    batch_rows: int = 64,
    temperature: float = 1.0,
) -> ScoredTable:
    """The table with label, probability_positive and note columns, and the counts of rows skipped (each with a
    note) or cut. Probabilities are calibrated with ``temperature`` as in ``score_text``."""

    if column not in table.columns:
        raise TextInputError(f"The CSV has no column {csvfiles.shown(column)}; it has "
                             f"{csvfiles.shown(', '.join(map(str, table.columns)), 200)}.")
    texts = table[column].fillna("").astype(str).tolist()[:MAX_CSV_ROWS]
    labels, probabilities, notes = [""] * len(texts), [np.nan] * len(texts), [""] * len(texts)
    skipped = blank = truncated_rows = 0
    for start in range(0, len(texts), batch_rows):
        rows, owners = [], []
        for index in range(start, min(start + batch_rows, len(texts))):
            try:
                text, truncated = check_text(texts[index])
            except TextInputError as error:
                notes[index] = str(error).split(".")[0]
                skipped += 1
                blank += not texts[index].strip()
                continue
            notes[index] = f"only the first {MAX_CHARACTERS:,} characters were scored" if truncated else ""
            truncated_rows += truncated
            encoded = vocabulary.encode(text)
            rows.append(encoded)
            owners += [index] * len(encoded)
        if rows:
            indexes, owner = np.unique(owners, return_inverse=True)
            logits = review_logits(predictor.predict(np.concatenate(rows))[:, 0], owner, len(indexes))
            for index, logit in zip(indexes, logits):
                probability = calibrated_probability(logit, temperature)
                probabilities[index] = round(probability, 4)
                labels[index] = "positive" if probability >= 0.5 else "negative"
        if progress is not None:
            progress(min(start + batch_rows, len(texts)) / max(len(texts), 1))
    scored = table.iloc[: len(texts)].copy()
    scored["label"], scored["probability_positive"], scored["note"] = labels, probabilities, notes
    return ScoredTable(scored, skipped, blank, truncated_rows)


# ## The serving class


@dataclasses.dataclass
class SentimentResult(ood.Judged, Score):
    """One review scored (a calibrated ``Score``), with its word-by-word explanation, the scoring's latency and
    whether it reads like an English review (``answer``, ``in_distribution``, ``reason``: ``showcase.ood.Judged``)."""

    milliseconds: float  # tokenization and the model call that scores the review; not the explanation
    effects: np.ndarray | None  # each word's share, as ``word_effects`` gives it; None with no known word
    pieces: list[tuple[str, float | None]]  # the review as typed, with its words' shares; [] with no known word
    ood: ood.Check = ood.UNCHECKED

    @property
    def confidence(self) -> float:
        return max(self.probability, 1 - self.probability)

    @property
    def explanation_cut(self) -> bool:
        """Whether the review has words beyond the first ``MAX_EXPLAINED_WORDS``, which get no share."""
        return self.words > MAX_EXPLAINED_WORDS


class SentimentClassifier:
    """Scores movie reviews with one format of the sentiment model, calibrated with that format's temperature.

    ``predictor`` returns the model's row logits (``showcase.runtime``; shared and thread-safe): the
    temperature applies to a review's logit, the sum over its rows (``review_logits``). The object holds no
    other state, so a page makes one per run.
    """

    def __init__(self, predictor: runtime.Predictor, vocabulary: Vocabulary, entry: dict[str, Any]):
        self.predictor = predictor
        self.vocabulary = vocabulary
        self.format_name = predictor.format_name
        self.temperature = calibration.temperature(entry, predictor.format_name)
        self.english = english_review_check(entry)

    def score(self, text: str) -> SentimentResult:
        """Score one review and explain it word by word. Raises ``TextInputError`` when it has no words."""
        start = time.perf_counter()
        score = score_text(self.predictor, self.vocabulary, text, self.temperature)
        milliseconds = (time.perf_counter() - start) * 1000
        effects, highlights = None, []
        if score.known_words:
            effects = word_effects(self.predictor, self.vocabulary, text, self.temperature)
            highlights = highlighted_pieces(text, effects)
        return SentimentResult(**vars(score), milliseconds=milliseconds, effects=effects, pieces=highlights,
                               ood=english_check(text, self.english))

    def score_table(self, table: pd.DataFrame, column: str,
                    progress: Callable[[float], None] | None = None) -> ScoredTable:
        """Score every row of one column (at most ``MAX_CSV_ROWS``); ``progress`` hears the share done."""
        scored = score_table(self.predictor, self.vocabulary, table, column, progress=progress,
                             temperature=self.temperature)
        return mark_out_of_distribution(scored, column, self.english)


# ## The page's gauge and word highlights

# Blue and orange (Okabe & Ito) rather than green and red, so that readers with a red-green colour-vision
# deficiency tell the two directions apart too.
POSITIVE_RGB = (0, 114, 178)
NEGATIVE_RGB = (213, 94, 0)


def _hex(rgb: Sequence[int]) -> str:
    return "#" + "".join(f"{channel:02x}" for channel in rgb)


def gauge_chart(probability: float):
    """A 0–100% Altair bar for the probability of "positive", with the 50% decision line."""
    import altair as alt

    bar = pd.DataFrame({"probability": [probability], "label": ["positive"]})
    colour = _hex(POSITIVE_RGB if probability >= 0.5 else NEGATIVE_RGB)
    track = alt.Chart(pd.DataFrame({"start": [0.0], "end": [1.0]})).mark_bar(color="#e6e9ef", size=28).encode(
        x=alt.X("start:Q", scale=alt.Scale(domain=[0, 1]),
                axis=alt.Axis(format="%", title="calibrated probability of positive")),
        x2="end:Q",
    )
    fill = alt.Chart(bar).mark_bar(color=colour, size=28).encode(
        x="probability:Q", tooltip=[alt.Tooltip("probability:Q", format=".1%")]
    )
    line = alt.Chart(pd.DataFrame({"x": [0.5]})).mark_rule(color="#333", strokeDash=[4, 3]).encode(x="x:Q")
    return (track + fill + line).properties(height=70)


# Streamlit's markdown reads Markdown (and $…$ as LaTeX) even between HTML tags; as entities, these show as typed.
MARKDOWN_AS_ENTITIES = str.maketrans({character: f"&#{ord(character)};" for character in "*_[]()`~$|\\!{}"})


def highlighted_html(pieces: Sequence[tuple[str, float | None]]) -> str:
    """HTML of the review with each word shaded blue (pushed toward positive) or orange (toward negative).

    ``pieces`` are ``highlighted_pieces``; the text is escaped, so a review's markup shows as typed.
    """
    strongest = max((abs(value) for _, value in pieces if value is not None), default=0.0) or 1.0
    spans = []
    for surface, value in pieces:
        escaped = html.escape(surface).translate(MARKDOWN_AS_ENTITIES)
        if value is None or value == 0:
            spans.append(escaped)
            continue
        alpha = 0.12 + 0.68 * abs(value) / strongest
        rgb = ",".join(map(str, POSITIVE_RGB if value > 0 else NEGATIVE_RGB))
        spans.append(f'<span title="{value:+.4f}" style="background: rgba({rgb},{alpha:.2f}); '
                     f'border-radius: 3px; padding: 0 2px">{escaped}</span>')
    return '<div style="line-height: 1.9">' + " ".join(spans) + "</div>"


# ## Benchmark


def benchmark(predictor: runtime.Predictor, vocabulary: Vocabulary, runs: int = 300) -> dict[str, float]:
    """p50 / p95 milliseconds to score the 200-word BENCHMARK_REVIEW, tokenization included."""
    for _ in range(20):
        score_text(predictor, vocabulary, BENCHMARK_REVIEW)
    latencies = []
    for _ in range(runs):
        start = time.perf_counter()
        score_text(predictor, vocabulary, BENCHMARK_REVIEW)
        latencies.append((time.perf_counter() - start) * 1000)
    return {"p50": round(float(np.percentile(latencies, 50)), 3), "p95": round(float(np.percentile(latencies, 95)), 3)}


def benchmark_formats(entry: dict[str, Any] | None = None, runs: int = 300) -> dict[str, dict[str, float]]:
    """``benchmark`` for every format of the sentiment model."""
    entry = entry or manifest_lib.model_entry(MODEL_NAME)
    vocabulary = load_vocabulary(entry)
    return {name: benchmark(runtime.load(MODEL_NAME, name), vocabulary, runs) for name in entry["artifacts"]}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--benchmark", action="store_true", help="time a 200-word review in every format")
    parser.add_argument("--runs", type=int, default=300)
    args = parser.parse_args(argv)
    if args.benchmark:
        print(f"p50 / p95 ms for a {len(words(BENCHMARK_REVIEW))}-word review "
              f"({runtime.NUM_THREADS} threads, tokenization included):")
        for name, figures in benchmark_formats(runs=args.runs).items():
            print(f"  {name:12s} {figures}")


if __name__ == "__main__":
    main()


# ## Evaluation subset and calibration inputs


def calibration_inputs(entry: dict[str, Any]) -> np.ndarray:
    """Representative inputs for int8 calibration: the rows of the committed sample reviews."""
    vocabulary = load_vocabulary(entry)
    reviews = read_csv_upload((paths.SAMPLES_DIR / "sentiment" / "reviews.csv").read_bytes())[0]["review"]
    return np.concatenate([vocabulary.encode(review) for review in reviews if review.strip()])


def evaluation_arrays(entry: dict[str, Any]) -> dict[str, np.ndarray]:
    vocabulary = load_vocabulary(entry)
    reviews, labels = datasets.imdb(evaluation.require_dataset(datasets.IMDB))["test"]
    encoded = [vocabulary.encode(review) for review in reviews[::25]]
    owner = np.concatenate([np.full(len(rows), index) for index, rows in enumerate(encoded)])
    return {"inputs": np.concatenate(encoded), "owner": owner, "targets": labels[::25]}


def evaluation_score(outputs: np.ndarray, arrays: dict[str, np.ndarray]) -> float:
    """Review accuracy, each review's logit the sum over its rows (``review_logits``)."""
    logits = review_logits(outputs[:, 0], arrays["owner"], len(arrays["targets"]))
    return float(np.mean((logits >= 0) == arrays["targets"]))


EVALUATION = evaluation.Subset("accuracy", True, "1,000 IMDB test reviews (every 25th)", evaluation_arrays,
                               evaluation_score)


# ## Text it cannot judge: does this read like an English movie review?
#
# A review in French, gibberish, source code, a URL or a row of digits gets no sentiment: "This doesn't read like
# an English movie review". The check reads the text alone, never the model or its vocabulary: its own list of
# English words (``models/sentiment/english_words.txt``: words, lower case, letters and apostrophes, found in at
# least ``MIN_REVIEWS`` of the IMDB training reviews that do not choose the threshold; sha256 in the manifest's
# ``ood.artifact``) and a fixed list of English function words. Each signal counts k of n things in the text
# (unknown words among its words, function words among its words, ...). How surprising k is for an English review
# of that length is a beta-binomial tail probability, whose beta describes how the rate varies from one IMDB
# review to the next; the signal's score is -log10 of it, so a short text ("Loved it.") cannot be very surprising
# while 30 French words with no English function word are. The text's score is the largest of its signals'
# (``training/fit_ood.py sentiment`` fits the betas and chooses the threshold on validation reviews only).

OOD_REASON = "This doesn't read like an English movie review."
ENGLISH_WORDS_FILE = "english_words.txt"
MIN_REVIEWS = 3
# Counts of longer texts are scaled to this many words or characters: beyond it the rate alone tells.
MAX_COUNTED = 100
STOPWORDS = frozenset("""
a about above after again against all also am an and any are as at be because been before being below between
both but by can could did didn't do does doesn't don't down during each even few for from further had has have
having he her here hers herself him himself his how however i i'm if in into is isn't it it's its itself just
like me more most much my myself no nor not now of off on once one only or other our ours out over own really
same she should so some such than that that's the their them themselves then there these they this those
through to too under until up very was wasn't we were what when where whether which while who whom whose why
will with without would yet you your yourself
""".split())
_LETTER_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)*")
_PROSE_OTHER = re.compile(r"[0-9!-/:-@\[-`{-~]")  # digits and ASCII punctuation and symbols
_CODE_LIKE = re.compile(r"://|^www\.|[{}<>=\\|^@]|[a-z]_[a-z]|[a-z]\.[a-z]+\(")
# A run of one punctuation mark ("!!!", "-----") counts once.
_REPEATED_MARK = re.compile(r"([^\w\s])\1+")
# Each signal: what it counts, and whether a surprisingly high count (True) or low one (False) is unusual.
SIGNALS = {
    "unknown_words": ("words not in the English word list, among the text's words (names left out)", True),
    "function_words": ("English function words (the, and, of, ...), among the text's words", False),
    "digits_and_symbols": ("digits, punctuation and symbols, among the characters that are not spaces", True),
    "non_ascii_letters": ("letters outside a-z in words the list does not know (not in \"café\"), among the letters "
                          "of the text's words", True),
    "code_like_pieces": ("pieces that look like code or a web address, among the whitespace-separated pieces", True),
}


def letter_words(text: str) -> list[str]:
    """The text's words as the check reads them: lower case, letters (any script) with inner apostrophes."""
    return _LETTER_WORD.findall(_APOSTROPHE.sub("'", html.unescape(text)).lower())


def signal_counts(text: str, english_words: frozenset[str]) -> dict[str, tuple[int, int]]:
    """(k, n) of every signal of ``SIGNALS`` for one text, its HTML tags (IMDB's ``<br />``) read as spaces, as the
    model reads them.

    A capitalized word the list does not know ("Naruse", "Frédéric") is taken for a name and left out of the word
    and letter counts: reviews of films the list has never seen are full of them."""
    text = _TAG.sub(" ", text)
    found = [word.lower() for word in _LETTER_WORD.findall(_APOSTROPHE.sub("'", html.unescape(text)))
             if not (is_capitalized(word) and word.lower() not in english_words)]
    pieces_ = text.split()
    characters = _REPEATED_MARK.sub(r"\1", "".join(pieces_))
    letters = "".join(found)
    unknown_letters = "".join(word for word in found if word not in english_words)
    return {
        "unknown_words": (sum(word not in english_words for word in found), len(found)),
        "function_words": (sum(word in STOPWORDS for word in found), len(found)),
        "digits_and_symbols": (len(_PROSE_OTHER.findall(characters)), len(characters)),
        "non_ascii_letters": (sum(character.isalpha() and not character.isascii() for character in unknown_letters),
                              sum(character.isalpha() for character in letters)),
        "code_like_pieces": (sum(bool(_CODE_LIKE.search(piece)) for piece in pieces_), len(pieces_)),
    }


def _log_gamma_table(offset: float) -> np.ndarray:
    """log Γ(j + offset) for j = 0 .. MAX_COUNTED."""
    return np.array([math.lgamma(j + offset) for j in range(MAX_COUNTED + 1)])


_LOG_FACTORIALS = _log_gamma_table(1.0)


@dataclasses.dataclass(frozen=True)
class BetaBinomial:
    """How one signal's rate varies over English reviews: a beta(alpha, beta) prior on k/n."""

    alpha: float
    beta: float

    @classmethod
    def fit(cls, counts: Sequence[tuple[int, int]], min_n: int = 50) -> "BetaBinomial":
        """Method of moments on the rates of texts with at least ``min_n`` items, binomial noise taken out."""
        pairs = np.array([(k, n) for k, n in counts if n >= min_n], dtype=np.float64)
        if len(pairs) < 10:
            raise ValueError(f"Fitting a rate needs at least 10 texts with {min_n} or more items.")
        rates, sizes = pairs[:, 0] / pairs[:, 1], pairs[:, 1]
        mean = float(np.clip(rates.mean(), 1e-5, 1 - 1e-5))
        noise = float(np.mean(mean * (1 - mean) / sizes))
        variance = max(float(rates.var()) - noise, 1e-3 * mean * (1 - mean))
        total = mean * (1 - mean) / variance - 1
        return cls(mean * total, (1 - mean) * total)

    @functools.cached_property
    def _tables(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
        log_beta = math.lgamma(self.alpha) + math.lgamma(self.beta) - math.lgamma(self.alpha + self.beta)
        return (_log_gamma_table(self.alpha), _log_gamma_table(self.beta), _log_gamma_table(self.alpha + self.beta),
                log_beta)

    def surprise(self, k: int, n: int, upper: bool) -> float:
        """-log10 P(K >= k) (``upper``) or P(K <= k), K beta-binomial over n (scaled to ``MAX_COUNTED``)."""
        if n == 0:
            return 0.0
        if n > MAX_COUNTED:
            k, n = int(round(k * MAX_COUNTED / n)), MAX_COUNTED
        with_alpha, with_beta, with_both, log_beta = self._tables
        j = np.arange(k, n + 1) if upper else np.arange(0, k + 1)
        log_pmf = (_LOG_FACTORIALS[n] - _LOG_FACTORIALS[j] - _LOG_FACTORIALS[n - j] + with_alpha[j]
                   + with_beta[n - j] - with_both[n] - log_beta)
        top = log_pmf.max()
        log_tail = top + math.log(np.exp(log_pmf - top).sum())
        return max(0.0, float(-log_tail / math.log(10)))


@dataclasses.dataclass(frozen=True)
class EnglishReviewCheck:
    """Whether a text reads like an English movie review (``showcase.ood``: higher scores are more unusual)."""

    english_words: frozenset[str]
    rates: dict[str, BetaBinomial]
    threshold: float
    signal: str = "how surprising the text's words and characters are for an English review (-log10 probability)"

    def surprises(self, text: str) -> dict[str, float]:
        """Each signal's score; every one is infinite for a text without a single word in letters."""
        counts = signal_counts(text, self.english_words)
        if counts["unknown_words"][1] == 0:
            return {name: math.inf for name in SIGNALS}
        return {name: self.rates[name].surprise(*counts[name], upper=SIGNALS[name][1]) for name in SIGNALS}

    def score(self, text: str) -> float:
        return max(self.surprises(text).values())

    def check(self, text: str) -> ood.Check:
        return ood.judge(self.score(text[:MAX_CHARACTERS]), self.threshold, self.signal, OOD_REASON)


def read_english_words(path: Path) -> frozenset[str]:
    return frozenset(_read_lines(path))


@functools.lru_cache(maxsize=4)
def _english_check(record: tuple[tuple[str, Any], ...], rates: tuple[tuple[str, float, float], ...],
                   threshold: float) -> EnglishReviewCheck:
    artifact = dict(record)
    problem = manifest_lib.verify_artifact(artifact)
    if problem:
        raise runtime.ArtifactError(f"The sentiment English word list: {problem}. Rebuild it with "
                                    "`python training/fit_ood.py sentiment`.")
    words_ = read_english_words(paths.MODELS_DIR / artifact["path"])
    return EnglishReviewCheck(words_, {name: BetaBinomial(a, b) for name, a, b in rates}, threshold)


def english_review_check(entry: dict[str, Any]) -> EnglishReviewCheck | None:
    """The check of the entry's ``"ood"`` record (its word list's sha256 checked once per process), or None when
    the entry has none. Read-only, so shared by every thread."""
    record = entry.get("ood")
    if not record:
        return None
    rates = tuple((name, float(value["alpha"]), float(value["beta"])) for name, value in record["rates"].items())
    return _english_check(tuple(sorted(record["artifact"].items())), rates, float(record["threshold"]))


def english_check(text: str, check: EnglishReviewCheck | None) -> ood.Check:
    """The check of one text; unchecked without an ``"ood"`` record."""
    return ood.UNCHECKED if check is None else check.check(text)


def mark_out_of_distribution(scored: ScoredTable, column: str, check: EnglishReviewCheck | None) -> ScoredTable:
    """The scored table with every row that does not read like an English review unanswered: no label or
    probability, the reason as its note; ``refused`` counts them."""
    if check is None:
        return scored
    table = scored.table.copy()
    refused = 0
    for position, text in enumerate(table[column].fillna("").astype(str)):
        if table["label"].iat[position] and not check.check(text).in_distribution:
            table.iloc[position, table.columns.get_loc("label")] = ""
            table.iloc[position, table.columns.get_loc("probability_positive")] = np.nan
            table.iloc[position, table.columns.get_loc("note")] = OOD_REASON.rstrip(".")
            refused += 1
    return dataclasses.replace(scored, table=table, refused=refused)
