"""The task routes: raw inputs in (an image, a review, a CSV, a ticker, a digit and seed), the pages' results out.

Each route hands its input to the model's own serving class in ``showcase.tasks`` (``DigitClassifier``,
``FlowerClassifier``, ``SentimentClassifier``, ``Forecaster``, ``AnomalyDetector``, ``DigitGenerator``): the same
preprocessing, calibration, thresholds and out-of-distribution answers as the pages, from one code path. Images
are decoded by ``showcase.imaging.read_image`` as on the pages (its pixel limits refuse decompression bombs).

Results are serialized generically (``to_json``): every dataclass field and every property of the result, so a
field added to a result dataclass appears in the API's answer without a change here. Arrays of more than
``MAX_LISTED_VALUES`` values (a 224×224 view, a price history) are summarized by their shape and dtype.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from showcase import calibration
from showcase.api.operations import ApiError
from showcase.api.serving import ModelStore
from showcase.imaging import ImageInputError, read_image
from showcase.tasks import anomaly, digits, flowers, forecast, gan, sentiment

MAX_LISTED_VALUES = 2048
# The page's horizon slider starts at this many trading days.
DEFAULT_HORIZON = 20


def to_json(value: Any) -> Any:
    """A result as JSON-ready values: dataclasses (fields and properties), arrays, tables, dates, numbers."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {field.name: to_json(getattr(value, field.name)) for field in dataclasses.fields(value)}
        for name in dir(type(value)):
            if not name.startswith("_") and isinstance(getattr(type(value), name), property) and name not in fields:
                fields[name] = to_json(getattr(value, name))
        return fields
    if isinstance(value, np.ndarray):
        if value.size > MAX_LISTED_VALUES:
            return {"shape": list(value.shape), "dtype": str(value.dtype), "omitted": "too many values to list"}
        if np.issubdtype(value.dtype, np.datetime64):
            return [str(item) for item in np.datetime_as_string(value, unit="D")]
        return to_json(value.tolist())
    if isinstance(value, pd.DataFrame):
        return [{str(column): to_json(cell) for column, cell in row.items()} for _, row in value.iterrows()]
    if isinstance(value, pd.DatetimeIndex):
        return [day.strftime("%Y-%m-%d") for day in value]
    if isinstance(value, (pd.Timestamp, dt.date, np.datetime64)):
        return str(pd.Timestamp(value).date())
    if isinstance(value, Mapping):
        return {str(key): to_json(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json(item) for item in value]
    if isinstance(value, (np.floating, float)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, (np.integer, np.bool_)):
        return value.item()
    if value is None or isinstance(value, (str, int, bool)):
        return value
    return str(value)


def answer(model: str, format_name: str, result: Any, **extra: Any) -> dict[str, Any]:
    """The task routes' answer: which model and format served it, and the serving class's result."""
    return {"model": model, "format": format_name, "result": to_json(result), **to_json(extra)}


def decode_image(data: bytes):
    try:
        return read_image(data)
    except ImageInputError as error:
        raise ApiError(400, str(error)) from None


class Tasks:
    """The task routes' work, over one ``ModelStore``. Each method returns (answer, format served)."""

    def __init__(self, store: ModelStore):
        self.store = store

    def _predictor(self, name: str, format_name: str | None):
        entry = self.store.entry(name)
        chosen = self.store.format_for(entry, format_name)
        return entry, chosen, self.store.predictor(name, chosen)

    def digits(self, data: bytes, format_name: str | None) -> tuple[dict, str]:
        entry, chosen, predictor = self._predictor("digits", format_name)
        image = decode_image(data)
        try:
            result = digits.DigitClassifier(predictor, entry).classify(image)
        except digits.EmptyImageError as error:
            raise ApiError(422, str(error)) from None
        return answer("digits", chosen, result, labels=entry["labels"]), chosen

    def flowers(self, data: bytes, format_name: str | None) -> tuple[dict, str]:
        entry, chosen, predictor = self._predictor("flowers", format_name)
        try:
            result = flowers.FlowerClassifier(predictor, entry).classify(data)
        except ImageInputError as error:
            raise ApiError(400, str(error)) from None
        return answer("flowers", chosen, result, labels=entry["labels"], threshold=flowers.threshold(entry)), chosen

    def anomaly(self, data: bytes, format_name: str | None, corruption: str | None) -> tuple[dict, str]:
        entry, chosen, predictor = self._predictor("anomaly", format_name)
        corruption = corruption or anomaly.CORRUPTIONS[0]
        if corruption not in anomaly.CORRUPTIONS:
            raise ApiError(400, f"Unknown corruption {corruption!r}; expected one of {', '.join(anomaly.CORRUPTIONS)}.")
        image = decode_image(data)
        try:
            result = anomaly.AnomalyDetector(predictor, entry).score(image, corruption)
        except digits.EmptyImageError as error:
            raise ApiError(422, str(error)) from None
        return answer("anomaly", chosen, result), chosen

    def _sentiment(self, format_name: str | None) -> tuple[sentiment.SentimentClassifier, str]:
        entry, chosen, predictor = self._predictor("sentiment", format_name)
        vocabulary = self.store.resource(("sentiment", "vocabulary"), lambda: sentiment.load_vocabulary(entry))
        return sentiment.SentimentClassifier(predictor, vocabulary, entry), chosen

    def sentiment(self, text: str, format_name: str | None) -> tuple[dict, str]:
        classifier, chosen = self._sentiment(format_name)
        try:
            result = classifier.score(text)
        except sentiment.TextInputError as error:
            raise ApiError(422, str(error)) from None
        return answer("sentiment", chosen, result, temperature=classifier.temperature), chosen

    def sentiment_csv(self, data: bytes, column: str | None, format_name: str | None) -> tuple[dict, str]:
        classifier, chosen = self._sentiment(format_name)
        try:
            table, encoding, columns = sentiment.read_reviews(data)
            scored = classifier.score_table(table, column or columns[0])
        except sentiment.TextInputError as error:
            raise ApiError(400, str(error)) from None
        return answer("sentiment", chosen, scored, encoding=encoding, text_columns=columns,
                      temperature=classifier.temperature), chosen

    def forecast(self, series_source: tuple[str, Any], horizon: int, backtest: bool,
                 format_name: str | None) -> tuple[dict, str]:
        """``series_source`` is ("ticker", name) or ("csv", (bytes, date column, price column, day first))."""
        entry, chosen, predictor = self._predictor("forecast", format_name)
        kind, source = series_source
        notes: list[str] = []
        try:
            if kind == "ticker":
                series, backtest_start = forecast.builtin_series(source), forecast.TEST_START
            else:
                series, notes = _uploaded_series(*source)
                backtest_start = None
            result = forecast.Forecaster(predictor, entry).forecast(series, horizon, backtest, backtest_start)
        except forecast.PriceDataError as error:
            raise ApiError(400, str(error)) from None
        except ValueError as error:  # An unknown ticker or a horizon out of range.
            raise ApiError(400, str(error)) from None
        return answer("forecast", chosen, result, notes=notes, quantiles=list(forecast.QUANTILES)), chosen

    def gan(self, query: Mapping[str, str], format_name: str | None) -> tuple[Any, str]:
        """The generated grid (``GeneratedDigits``) and the format served; 400 for settings out of range."""
        settings, problems = gan.settings_from_query(query)
        if problems:
            raise ApiError(400, "Invalid settings: " + "; ".join(problems) + ".")
        _, chosen, predictor = self._predictor("gan", format_name)
        return gan.DigitGenerator(predictor, self._reader()).generate(settings), chosen

    def _reader(self):
        """The Digits model in the GAN page's reader format, calibrated as the page has it; None without it."""
        if "digits" not in self.store.manifest["models"]:
            return None
        entry = self.store.entry("digits")
        return calibration.calibrated(self.store.predictor("digits", gan.READER_FORMAT), entry)


def _uploaded_series(data: bytes, date_column: str | None, price_column: str | None, day_first: bool | None):
    """The forecast page's upload path: the CSV read, its columns guessed (unless named), and dates that read
    either way taken day first unless told otherwise, as the page's radio button defaults to."""
    table = forecast.read_csv_upload(data)
    date_guess, price_guess = forecast.guess_columns(table)
    date_column, price_column = date_column or date_guess, price_column or price_guess
    if day_first is None and date_column in table.columns and forecast.dates_are_ambiguous(table, date_column):
        day_first = True
    return forecast.series_from_table(table, date_column, price_column, name="upload", day_first=day_first)
