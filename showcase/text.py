"""Sentiment serving: score a review, explain it word by word, score a CSV of reviews, time it.

Every function takes a runtime predictor (``showcase.runtime.load("sentiment", format)``), so the page's
format selector drives the scores, the word highlights and the batch mode alike. The recipe that turns
text into token ids is ``showcase.preprocessing.sentiment``.

    python -m showcase.text --benchmark        # p50 latency of a 200-word review in every format
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from typing import Any, Callable, Sequence

import numpy as np

from showcase import manifest as manifest_lib
from showcase import calibration, csvfiles, paths, runtime
from showcase.preprocessing import sentiment as recipe

MODEL_NAME = "sentiment"
VOCABULARY_FILE = "vocabulary.txt"
PERSON_NAMES_FILE = "person_names.txt"
# The page scores at most this many characters of one text (about 18,000 words); the rest is cut with a notice.
MAX_CHARACTERS = 100_000
# Word highlights are computed for the first chunks only (one batched call per chunk, one row per term).
MAX_EXPLAINED_WORDS = 2 * recipe.WORDS_PER_CHUNK
# Batch mode limits.
MAX_CSV_BYTES = 10_000_000
MAX_CSV_ROWS = 2_000
# A 200-word review for the latency benchmark (200 words, ~ the median IMDB review length).
BENCHMARK_REVIEW = " ".join(
    ("this movie was a pleasant surprise the acting is strong and the story kept me interested from start to "
     "finish although the ending felt a little rushed and one or two scenes dragged").split() * 8
)
BENCHMARK_REVIEW = " ".join(BENCHMARK_REVIEW.split()[:200])


class TextInputError(ValueError):
    """Text or a CSV upload that cannot be scored; the message says why and what to do."""


def average_by_owner(values: np.ndarray, owner: np.ndarray, count: int) -> np.ndarray:
    """Mean of ``values`` grouped by ``owner`` (0..count-1): chunk probabilities -> one per review."""
    totals = np.bincount(owner, weights=values, minlength=count)
    return totals / np.maximum(np.bincount(owner, minlength=count), 1)


def load_vocabulary(entry: dict[str, Any]) -> recipe.Vocabulary:
    """The vocabulary and list of person names listed in the manifest entry, checked against their sha256."""
    files = [_verified_file(entry, key) for key in ("vocabulary", "person_names")]
    return recipe.Vocabulary.load(*files)


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
    probability: float  # of "positive", the mean over chunks
    chunk_probabilities: np.ndarray
    words: int
    known_words: int
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
    if not recipe.words(text):
        raise TextInputError("The text has no words (only punctuation, symbols or emoji). "
                             "Type a review in English.")
    return text, truncated


def score_text(predictor: runtime.Predictor, vocabulary: recipe.Vocabulary, text: str,
               temperature: float = 1.0) -> Score:
    """Score one review: every chunk of ``WORDS_PER_CHUNK`` words in one batch, probabilities averaged, the mean
    calibrated with ``temperature`` (``showcase.calibration``; 1.0 leaves it as the model gave it)."""
    text, truncated = check_text(text)
    tokens = vocabulary.words(text)
    chunk_probabilities = predictor.predict(vocabulary.encode_chunks(text))[:, 0]
    return Score(
        probability=review_probability(chunk_probabilities, temperature),
        chunk_probabilities=chunk_probabilities,
        words=len(tokens),
        known_words=sum(token in vocabulary.ids for token in tokens),
        truncated=truncated,
    )


def _chunk_terms(vocabulary: recipe.Vocabulary, tokens: Sequence[str]) -> list[tuple[int, tuple[int, ...]]]:
    """(id, word positions it covers) for every in-vocabulary unigram and bigram of one chunk, in model order."""
    terms = [(token, (position,)) for position, token in enumerate(tokens)]
    terms += [(f"{tokens[i]} {tokens[i + 1]}", (i, i + 1)) for i in range(len(tokens) - 1)]
    return [(vocabulary.ids[term], covered) for term, covered in terms if term in vocabulary.ids]


def review_probability(chunk_probabilities: np.ndarray, temperature: float = 1.0) -> float:
    """A review's probability of "positive": the mean of its chunks' probabilities, calibrated."""
    mean = np.asarray(chunk_probabilities, dtype=np.float64).mean()
    return float(calibration.scaled(np.array([[mean]]), temperature)[0, 0])


def _logit(probabilities: np.ndarray) -> np.ndarray:
    # Clipped so that a saturated probability (exactly 0 or 1 in float32) still gives a finite, signed logit.
    clipped = np.clip(probabilities.astype(np.float64), 1e-7, 1 - 1e-7)
    return np.log(clipped / (1 - clipped))


def word_effects(predictor: runtime.Predictor, vocabulary: recipe.Vocabulary, text: str,
                 temperature: float = 1.0) -> np.ndarray:
    """How much each word pushes the review toward "positive" (> 0) or "negative" (< 0), in logit units.

    The model's logit is the bias plus a linear function of the *mean* of the chunk's term embeddings, so
    it splits exactly into one share per term: (logit of the term alone - logit of an empty input) / number
    of terms. Each share is measured by running the selected format on one-term inputs (a single batch per
    chunk), so it works the same whatever the format. A bigram's share is split between its two words. Plain
    occlusion (leave a word out, rescore) says nothing on short, clear-cut texts, whose probability
    saturates at exactly 1.0 or 0.0 in float32. Shares are divided by the number of chunks (the review's
    probability is the chunks' mean). Calibration divides the review's logit by ``temperature``, so the shares
    are divided by it too: a one-chunk review's calibrated logit still splits exactly into them. Words after
    ``MAX_EXPLAINED_WORDS`` get NaN (not computed).
    """
    text, _ = check_text(text)
    tokens = vocabulary.words(text)
    chunk_list = recipe.chunks(tokens)
    effects = np.full(len(tokens), np.nan)
    for chunk_index, chunk in enumerate(chunk_list):
        start = chunk_index * recipe.WORDS_PER_CHUNK
        if start >= MAX_EXPLAINED_WORDS:
            break
        terms = _chunk_terms(vocabulary, chunk)
        word_effect = np.zeros(len(chunk))
        if terms:
            # Row 0 is the empty input (the bias alone); row i + 1 holds term i alone.
            rows = np.zeros((len(terms) + 1, recipe.WINDOW), dtype=np.int32)
            rows[1:, 0] = [term_id for term_id, _ in terms]
            logits = _logit(predictor.predict(rows)[:, 0])
            shares = (logits[1:] - logits[0]) / len(terms) / temperature
            for (_, covered), share in zip(terms, shares):
                word_effect[list(covered)] += share / len(covered)
        effects[start : start + len(chunk)] = word_effect / len(chunk_list)
    return effects


def highlighted_pieces(text: str, effects: np.ndarray) -> list[tuple[str, float | None]]:
    """The text's whitespace-separated pieces with the summed effect of their words (None: no word/not computed)."""
    text, _ = check_text(text)
    result, position = [], 0
    for surface, piece_words in recipe.pieces(text):
        values = effects[position : position + len(piece_words)]
        position += len(piece_words)
        known = values[~np.isnan(values)] if len(values) else values
        result.append((surface, float(known.sum()) if len(known) else None))
    return result


# ## A CSV of texts


def read_csv_upload(data: bytes) -> tuple["pd.DataFrame", str]:  # noqa: F821
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


def text_columns(table: "pd.DataFrame") -> list[str]:  # noqa: F821
    """Columns holding text (at least one cell with a letter), longest average text first."""
    lengths = {}
    for column in table.columns:
        cells = table[column].astype(str)
        if cells.str.contains(r"[^\W\d_]", regex=True).any():
            lengths[column] = cells.str.len().mean()
    return sorted(lengths, key=lengths.get, reverse=True)


def score_table(
    predictor: runtime.Predictor,
    vocabulary: recipe.Vocabulary,
    table: "pd.DataFrame",  # noqa: F821
    column: str,
    progress: Callable[[float], None] | None = None,
    batch_rows: int = 64,
    temperature: float = 1.0,
) -> "pd.DataFrame":  # noqa: F821
    """The table with label, probability_positive and note columns; rows that cannot be scored get a note.
    Probabilities are calibrated with ``temperature`` as in ``score_text``."""

    if column not in table.columns:
        raise TextInputError(f"The CSV has no column {csvfiles.shown(column)}; it has "
                             f"{csvfiles.shown(', '.join(map(str, table.columns)), 200)}.")
    texts = table[column].fillna("").astype(str).tolist()[:MAX_CSV_ROWS]
    labels, probabilities, notes = [""] * len(texts), [np.nan] * len(texts), [""] * len(texts)
    for start in range(0, len(texts), batch_rows):
        rows, owners = [], []
        for index in range(start, min(start + batch_rows, len(texts))):
            try:
                text, truncated = check_text(texts[index])
            except TextInputError as error:
                notes[index] = str(error).split(".")[0]
                continue
            notes[index] = f"only the first {MAX_CHARACTERS:,} characters were scored" if truncated else ""
            encoded = vocabulary.encode_chunks(text)
            rows.append(encoded)
            owners += [index] * len(encoded)
        if rows:
            chunk_probabilities = predictor.predict(np.concatenate(rows))[:, 0]
            owner = np.asarray(owners)
            for index in np.unique(owner):
                probability = review_probability(chunk_probabilities[owner == index], temperature)
                probabilities[index] = round(probability, 4)
                labels[index] = "positive" if probability >= 0.5 else "negative"
        if progress is not None:
            progress(min(start + batch_rows, len(texts)) / max(len(texts), 1))
    scored = table.iloc[: len(texts)].copy()
    scored["label"], scored["probability_positive"], scored["note"] = labels, probabilities, notes
    return scored


# ## Benchmark


def benchmark(predictor: runtime.Predictor, vocabulary: recipe.Vocabulary, runs: int = 300) -> dict[str, float]:
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
        print(f"p50 / p95 ms for a {len(recipe.words(BENCHMARK_REVIEW))}-word review "
              f"({runtime.NUM_THREADS} threads, tokenization included):")
        for name, figures in benchmark_formats(runs=args.runs).items():
            print(f"  {name:12s} {figures}")


if __name__ == "__main__":
    main()
