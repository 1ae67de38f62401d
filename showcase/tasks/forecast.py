"""Stock forecasting: windows of daily log returns, per-window normalisation, baselines, metrics, CSV uploads.

Everything here is plain NumPy/pandas, shared by ``training/train_forecast.py`` and the Forecast page, so
that the model sees exactly the same inputs in training and in the app. Serving is one class, ``Forecaster``:
``Forecaster.forecast(series)`` gives a ``ForecastResult`` (price quantiles, their dates, the baselines, the
backtest, the latency, and the page's chart).

The recipe, for a price series P and its daily log returns r_i = log(P_i / P_{i-1}):

- a *window* ends at a forecast origin t and holds the last ``LOOKBACK`` returns r_{t-59..t};
- each window is normalised by its own volatility sigma_t (the standard deviation of those returns), so
  one model serves every ticker and any uploaded series, whatever its price level or volatility;
- the model input has two features per day: the normalised return r_i / sigma_t, and the window's log
  volatility log(sigma_t) (the same value on every day, so that the model knows calm from turbulent
  regimes). Both are standardised with a ``Scaler`` fit on the training period only;
- the model predicts, for every horizon h = 1..30, three quantiles (10/50/90%) of the cumulative log
  return log(P_{t+h} / P_t), in units of sigma_t * sqrt(h); ``to_price_quantiles`` turns them into prices.
"""

from __future__ import annotations

import re
import time
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from showcase import csvfiles, evaluation, runtime

PREPROCESSING_ID = "showcase.forecasting.model_input"
LOOKBACK = 60
HORIZON = 30
QUANTILES = (0.1, 0.5, 0.9)
EVALUATION_HORIZONS = (1, 5, 20)
MOVING_AVERAGE_DAYS = 20
# A window whose returns barely move (a flat price) would divide by ~0; 0.1% a day is calmer than any stock.
MIN_VOLATILITY = 1e-3
# Normalised inputs are clipped so that one extreme day (or an odd upload) cannot push the LSTM far
# outside what it saw in training.
INPUT_CLIP = 6.0
FEATURES = 2

TICKERS = ("AAPL", "GOOG", "IBM", "MSFT")
TRAIN_END = pd.Timestamp("2010-12-31")
VALIDATION_END = pd.Timestamp("2011-12-31")
# The test period's first target day: its windows forecast 2012-01-01 onwards.
TEST_START = VALIDATION_END + pd.Timedelta(days=1)
# An uploaded series is backtested on its last this many days.
BACKTEST_DAYS = 250

# Upload limits, checked before (bytes) and while (rows) pandas parses anything.
MAX_UPLOAD_BYTES = 5 * 1024 * 1024
MAX_ROWS = 50_000
MAX_GAP_DAYS = 10
SPLIT_LIKE_RETURN = 0.4


class PriceDataError(ValueError):
    """A price series (usually an uploaded CSV) that cannot be forecast; the message says why and what to do."""


# ## Price series


@dataclass(frozen=True)
class PriceSeries:
    """Daily closing prices in date order: ``dates`` (datetime64[ns]) and ``prices`` (float64, > 0)."""

    name: str
    dates: np.ndarray
    prices: np.ndarray

    def __len__(self) -> int:
        return len(self.prices)


def builtin_series(ticker: str) -> PriceSeries:
    """One bokeh-sampledata ticker (2000–2013), adjusted closes so that splits are not mistaken for crashes."""
    from bokeh_sampledata import stocks

    if ticker not in TICKERS:
        raise ValueError(f"Unknown ticker {ticker!r}; expected one of {', '.join(TICKERS)}.")
    data = getattr(stocks, ticker)
    return PriceSeries(ticker, pd.to_datetime(data["date"]).to_numpy(), np.asarray(data["adj_close"], dtype=np.float64))


def log_returns(prices: np.ndarray) -> np.ndarray:
    """r_i = log(P_i / P_{i-1}); element 0 is NaN so that returns line up with prices and dates."""
    prices = np.asarray(prices, dtype=np.float64)
    if np.any(~np.isfinite(prices)) or np.any(prices <= 0):
        raise PriceDataError("Prices must be finite and positive to take log returns.")
    returns = np.full(len(prices), np.nan)
    returns[1:] = np.diff(np.log(prices))
    return returns


# ## Windows and normalisation


def window_origins(length: int) -> np.ndarray:
    """Every forecast origin t of a series of ``length`` prices that has a full lookback of returns."""
    return np.arange(LOOKBACK, length)


def raw_windows(prices: np.ndarray, origins: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-window normalised returns (n, LOOKBACK) and the window volatilities sigma_t (n,)."""
    returns = log_returns(prices)
    index = np.asarray(origins)[:, None] + np.arange(-LOOKBACK + 1, 1)[None, :]
    if index.size and index.min() < 1:
        raise ValueError(f"An origin needs {LOOKBACK} returns before it, i.e. an index of at least {LOOKBACK}.")
    window = returns[index]
    volatility = np.maximum(window.std(axis=1), MIN_VOLATILITY)
    return window / volatility[:, None], volatility


@dataclass(frozen=True)
class Scaler:
    """Standardisation of both input features, fit on the training period only (see ``fit_scaler``)."""

    return_mean: float
    return_std: float
    log_volatility_mean: float
    log_volatility_std: float

    def to_dict(self) -> dict[str, float]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> "Scaler":
        return cls(**{key: float(values[key]) for key in ("return_mean", "return_std", "log_volatility_mean",
                                                            "log_volatility_std")})


def fit_scaler(normalised_returns: np.ndarray, volatility: np.ndarray) -> Scaler:
    """Mean and standard deviation of both features over the given (training) windows."""
    if len(volatility) == 0:
        raise ValueError("fit_scaler needs at least one training window.")
    log_volatility = np.log(volatility)
    return Scaler(
        return_mean=float(normalised_returns.mean()),
        return_std=float(normalised_returns.std()),
        log_volatility_mean=float(log_volatility.mean()),
        log_volatility_std=float(log_volatility.std()),
    )


def model_input(normalised_returns: np.ndarray, volatility: np.ndarray, scaler: Scaler) -> np.ndarray:
    """The model's single input tensor (n, LOOKBACK, FEATURES), float32, standardised and clipped."""
    returns_feature = (normalised_returns - scaler.return_mean) / scaler.return_std
    volatility_feature = (np.log(volatility) - scaler.log_volatility_mean) / scaler.log_volatility_std
    volatility_feature = np.broadcast_to(volatility_feature[:, None], returns_feature.shape)
    stacked = np.stack([returns_feature, volatility_feature], axis=-1)
    return np.clip(stacked, -INPUT_CLIP, INPUT_CLIP).astype(np.float32)


def horizon_scale(volatility: np.ndarray) -> np.ndarray:
    """sigma_t * sqrt(h) for every window and horizon, shape (n, HORIZON): the unit of the model's output."""
    return np.asarray(volatility)[:, None] * np.sqrt(np.arange(1, HORIZON + 1))[None, :]


def targets(prices: np.ndarray, origins: np.ndarray, volatility: np.ndarray) -> np.ndarray:
    """Training targets: log(P_{t+h} / P_t) / (sigma_t sqrt(h)) for h = 1..HORIZON, shape (n, HORIZON)."""
    log_prices = np.log(np.asarray(prices, dtype=np.float64))
    future = np.asarray(origins)[:, None] + np.arange(1, HORIZON + 1)[None, :]
    if future.size and future.max() >= len(prices):
        raise ValueError("Some origins do not have HORIZON future prices.")
    cumulative = log_prices[future] - log_prices[np.asarray(origins)][:, None]
    return cumulative / horizon_scale(volatility)


def to_price_quantiles(output: np.ndarray, last_prices: np.ndarray, volatility: np.ndarray) -> np.ndarray:
    """Model output (n, HORIZON, 3) -> price quantiles (n, HORIZON, 3); exp is monotonic, so order is kept."""
    cumulative = np.asarray(output, dtype=np.float64) * horizon_scale(volatility)[:, :, None]
    return np.asarray(last_prices, dtype=np.float64)[:, None, None] * np.exp(cumulative)


def split_origins(dates: np.ndarray, first_target: pd.Timestamp | None, last_target: pd.Timestamp | None) -> np.ndarray:
    """Origins whose HORIZON target days all fall within [first_target, last_target] (None = unbounded).

    A window belongs to the period of its targets; its inputs may reach back into an earlier period,
    which is only information a forecaster would have had at the time.
    """
    dates = pd.DatetimeIndex(dates)
    origins = np.arange(LOOKBACK, len(dates) - HORIZON)
    first = dates[origins + 1]
    last = dates[origins + HORIZON]
    keep = np.ones(len(origins), dtype=bool)
    if first_target is not None:
        keep &= first >= first_target
    if last_target is not None:
        keep &= last <= last_target
    return origins[keep]


def period_origins(dates: np.ndarray) -> dict[str, np.ndarray]:
    """The time-based split: train through 2010, validate on 2011, test on 2012–2013."""
    return {
        "train": split_origins(dates, None, TRAIN_END),
        "validation": split_origins(dates, TRAIN_END + pd.Timedelta(days=1), VALIDATION_END),
        "test": split_origins(dates, TEST_START, None),
    }


# ## Baselines and metrics


def baseline_forecasts(prices: np.ndarray, origins: np.ndarray, horizon: int) -> dict[str, np.ndarray]:
    """Point forecasts of P_{t+horizon} made at each origin t from prices up to t only.

    - naive: the last price;
    - drift: the last price extrapolated along the line from the first price to the last (the textbook
      "drift method", on log prices), using all history up to t;
    - moving average: the mean of the last ``MOVING_AVERAGE_DAYS`` prices.
    """
    prices = np.asarray(prices, dtype=np.float64)
    origins = np.asarray(origins)
    last = prices[origins]
    slope = (np.log(last) - np.log(prices[0])) / np.maximum(origins, 1)
    cumulative = np.cumsum(np.concatenate([[0.0], prices]))
    moving_average = (cumulative[origins + 1] - cumulative[np.maximum(origins + 1 - MOVING_AVERAGE_DAYS, 0)]) / (
        np.minimum(origins + 1, MOVING_AVERAGE_DAYS)
    )
    return {"naive": last, "drift": last * np.exp(slope * horizon), "moving_average": moving_average}


def point_metrics(actual: np.ndarray, forecast: np.ndarray) -> dict[str, float]:
    """MAE and RMSE in price units, MAPE in percent."""
    error = np.asarray(forecast, dtype=np.float64) - np.asarray(actual, dtype=np.float64)
    return {
        "mae": float(np.mean(np.abs(error))),
        "rmse": float(np.sqrt(np.mean(error**2))),
        "mape": float(100 * np.mean(np.abs(error) / np.abs(actual))),
    }


def coverage(actual: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> float:
    """Share of actual values inside [lower, upper]."""
    actual = np.asarray(actual)
    return float(np.mean((actual >= lower) & (actual <= upper)))


def pinball_loss(actual: np.ndarray, predicted_quantiles: np.ndarray) -> float:
    """Mean quantile (pinball) loss; ``predicted_quantiles`` has a last axis of len(QUANTILES)."""
    difference = np.asarray(actual)[..., None] - predicted_quantiles
    levels = np.asarray(QUANTILES)
    return float(np.mean(np.maximum(levels * difference, (levels - 1) * difference)))


def evaluate_series(prices: np.ndarray, origins: np.ndarray, price_quantiles: np.ndarray, ticker: str) -> list[dict]:
    """Metric rows (one per horizon and method) for one series, LSTM median and 80% interval included."""
    rows = []
    for horizon in EVALUATION_HORIZONS:
        actual = np.asarray(prices)[origins + horizon]
        forecasts = {"lstm": price_quantiles[:, horizon - 1, 1], **baseline_forecasts(prices, origins, horizon)}
        for method, forecast in forecasts.items():
            row = {"ticker": ticker, "horizon": horizon, "method": method, "n": len(origins),
                   **point_metrics(actual, forecast), "coverage_80": None}
            if method == "lstm":
                row["coverage_80"] = coverage(actual, price_quantiles[:, horizon - 1, 0],
                                              price_quantiles[:, horizon - 1, 2])
            rows.append(row)
    return rows


METHOD_LABELS = {"lstm": "LSTM (median)", "naive": "Naive (last value)", "drift": "Drift",
                 "moving_average": f"Moving average ({MOVING_AVERAGE_DAYS} d)"}


def metrics_table(rows: list[dict], ticker: str | None = None) -> pd.DataFrame:
    """The manifest's metric rows as a display table, with the best MAE per ticker and horizon marked."""
    table = pd.DataFrame(rows)
    if ticker is not None:
        table = table[table["ticker"] == ticker]
    table = table.copy()
    best = table.groupby(["ticker", "horizon"])["mae"].transform("min")
    table["best MAE"] = np.where(np.isclose(table["mae"], best), "✓", "")
    lstm_mae = table[table["method"] == "lstm"].set_index(["ticker", "horizon"])["mae"]
    table["LSTM beats it"] = [
        "" if method == "lstm" else ("yes" if lstm_mae[(tick, hor)] < mae else "no")
        for tick, hor, method, mae in zip(table["ticker"], table["horizon"], table["method"], table["mae"])
    ]
    table["method"] = table["method"].map(METHOD_LABELS)
    table = table.rename(columns={"mae": "MAE ($)", "rmse": "RMSE ($)", "mape": "MAPE (%)",
                                  "coverage_80": "80% coverage", "horizon": "days ahead"})
    return table.reset_index(drop=True)


# Number formats of the display table's figures.
METRIC_FORMATS = {"MAE ($)": "%.3f", "RMSE ($)": "%.3f", "MAPE (%)": "%.2f", "80% coverage": "%.3f"}


@dataclass(frozen=True)
class HeldOutTest:
    """The manifest's test-period metrics for one ticker (or all four), as the page shows them."""

    table: pd.DataFrame  # ``metrics_table``
    windows: int  # test windows per ticker
    losses: int  # comparisons with a baseline that the LSTM's median loses
    comparisons: int  # comparisons with a baseline, one per ticker, horizon and baseline


def held_out_test(rows: list[dict], ticker: str | None = None) -> HeldOutTest:
    """``metrics_table`` of the manifest's rows, and how often the LSTM loses to a baseline there."""
    table = metrics_table(rows, ticker)
    lstm = table[table["method"] == METHOD_LABELS["lstm"]]
    return HeldOutTest(table, int(lstm["n"].iloc[0]), int((table["LSTM beats it"] == "no").sum()),
                       len(table) - len(lstm))


# ## Forecasting a series (the page and the backtest)


def latest_window(series: PriceSeries, scaler: Scaler) -> tuple[np.ndarray, float]:
    """The model input for a forecast from the last price, and that window's volatility."""
    require_length(len(series))
    normalised, volatility = raw_windows(series.prices, np.array([len(series) - 1]))
    return model_input(normalised, volatility, scaler), float(volatility[0])


def backtest_windows(series: PriceSeries, scaler: Scaler, horizon: int, first_target: np.datetime64 | None = None,
                     days: int = BACKTEST_DAYS) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Inputs, origins and volatilities of a rolling ``horizon``-day-ahead backtest.

    Each origin t is forecast from data up to t only and scored on P_{t+horizon}, so the backtest line is
    what the model would have said ``horizon`` days before each date, never a one-step-ahead echo of the
    price. The targets start at ``first_target`` (e.g. the test period) or cover the last ``days`` prices.
    """
    origins = window_origins(len(series) - horizon)
    if first_target is not None:
        origins = origins[series.dates[origins + horizon] >= np.datetime64(first_target)]
    else:
        origins = origins[-days:]
    normalised, volatility = raw_windows(series.prices, origins)
    return model_input(normalised, volatility, scaler), origins, volatility


def future_dates(last_date: np.datetime64, horizon: int) -> pd.DatetimeIndex:
    """The next ``horizon`` business days after the last observed date."""
    return pd.bdate_range(pd.Timestamp(last_date) + pd.Timedelta(days=1), periods=horizon)


def require_length(length: int) -> None:
    if length < LOOKBACK + 1:
        raise PriceDataError(
            f"The series has {length} prices; the model needs at least {LOOKBACK + 1} (a {LOOKBACK}-day lookback "
            "of daily returns). Upload a longer history."
        )


# ## The serving class


@dataclass(frozen=True)
class ForecastResult:
    """A forecast of ``horizon`` trading days from a series' last price, with what the page shows beside it."""

    series: PriceSeries
    horizon: int
    quantiles: np.ndarray  # (horizon, 3) prices: the 10%, 50% and 90% quantiles of each day ahead
    dates: pd.DatetimeIndex  # the ``horizon`` business days the quantiles are for
    baselines: dict[str, float]  # naive, drift and moving-average forecasts of the price ``horizon`` days ahead
    backtest: tuple[np.ndarray, np.ndarray] | None  # origins and their (n, 3) price quantiles ``horizon`` days ahead
    milliseconds: float  # the model call of the forecast itself (not the backtest's)

    @property
    def last_price(self) -> float:
        return float(self.series.prices[-1])

    @property
    def last_date(self) -> str:
        """The last observed day, as 2013-03-01."""
        return str(np.datetime_as_string(self.series.dates[-1], unit="D"))

    @property
    def median(self) -> float:
        """The median forecast of the price ``horizon`` days ahead."""
        return float(self.quantiles[-1, 1])

    @property
    def interval(self) -> tuple[float, float]:
        """The 80% interval of the price ``horizon`` days ahead."""
        return float(self.quantiles[-1, 0]), float(self.quantiles[-1, 2])

    @property
    def median_change(self) -> float:
        """The median forecast's change from the last price, as a fraction."""
        return self.quantiles[-1, 1] / self.series.prices[-1] - 1

    def chart(self, price_label: str = "price"):
        """The page's Altair chart of the history, the forecast and the backtest."""
        return forecast_chart(chart_frame(self.series, self.horizon, self.quantiles, self.backtest),
                              price_label=price_label)


class Forecaster:
    """Forecasts a price series with one format of the forecast model.

    ``predictor`` is that format (``showcase.runtime``; shared and thread-safe); the scaler comes from the model's
    manifest entry. The object holds no other state, so a page makes one per run.
    """

    def __init__(self, predictor: runtime.Predictor, entry: dict[str, Any]):
        self.predictor = predictor
        self.format_name = predictor.format_name
        self.scaler = Scaler.from_dict(entry["extra"]["scaler"])

    def forecast(self, series: PriceSeries, horizon: int = HORIZON, backtest: bool = True,
                 backtest_start: pd.Timestamp | None = None) -> ForecastResult:
        """The price quantiles of the next ``horizon`` trading days, and a ``horizon``-day-ahead backtest.

        The backtest's targets start at ``backtest_start`` (``TEST_START`` for a built-in ticker) or cover the
        last ``BACKTEST_DAYS`` days; ``backtest=False`` leaves it out. Raises ``PriceDataError`` for a series
        too short to forecast.
        """
        if isinstance(horizon, bool) or not isinstance(horizon, (int, np.integer)) or not 1 <= horizon <= HORIZON:
            raise ValueError(f"The horizon must be a whole number of days from 1 to {HORIZON}, got {horizon!r}.")
        batch, volatility = latest_window(series, self.scaler)
        start = time.perf_counter()
        output = self.predictor.predict(batch)
        milliseconds = (time.perf_counter() - start) * 1000
        quantiles = to_price_quantiles(output, series.prices[-1:], np.array([volatility]))[0, :horizon]
        last = np.array([len(series) - 1])
        baselines = {method: float(forecast[0])
                     for method, forecast in baseline_forecasts(series.prices, last, horizon).items()}
        return ForecastResult(series, horizon, quantiles, future_dates(series.dates[-1], horizon), baselines,
                              self._backtest(series, horizon, backtest_start) if backtest else None, milliseconds)

    def _backtest(self, series: PriceSeries, horizon: int,
                  start: pd.Timestamp | None) -> tuple[np.ndarray, np.ndarray] | None:
        first_target = None if start is None else np.datetime64(start)
        inputs, origins, volatilities = backtest_windows(series, self.scaler, horizon, first_target)
        if not len(origins):
            return None
        prices = to_price_quantiles(self.predictor.predict(inputs), series.prices[origins], volatilities)
        return origins, prices[:, horizon - 1]


# ## Uploaded CSV files


def read_csv_upload(data: bytes) -> pd.DataFrame:
    """Parse uploaded bytes as a CSV table of strings, with explicit size and row limits.

    Nothing in the file is evaluated: ``csvfiles.read_table`` reads text cells (UTF-8, UTF-16 with a byte
    order mark or Windows-1252; comma, semicolon, tab or bar separated) and columns are converted later. The
    delimiter is kept in ``table.attrs["delimiter"]``: it settles prices like "1,234" that read either way.
    """
    if len(data) > MAX_UPLOAD_BYTES:
        raise PriceDataError(
            f"The file is {len(data) / 1024 / 1024:.1f} MB; uploads are limited to "
            f"{MAX_UPLOAD_BYTES / 1024 / 1024:.0f} MB ({MAX_ROWS:,} rows). Upload only the date and close columns, "
            "or a shorter period."
        )
    try:
        table, _, delimiter = csvfiles.read_table(data, MAX_ROWS)
    except csvfiles.CsvError as error:
        raise PriceDataError(str(error)) from None
    if len(table) > MAX_ROWS:
        raise PriceDataError(f"The file has more than {MAX_ROWS:,} rows; upload at most {MAX_ROWS:,} days.")
    if table.empty or len(table.columns) < 2:
        raise PriceDataError("The CSV needs a header row and at least two comma-separated columns: a date and a "
                             "closing price.")
    table.attrs["delimiter"] = delimiter
    return table


def guess_columns(table: pd.DataFrame) -> tuple[str, str]:
    """Likely date and price columns by name (Date; Adj Close, Close, Price), else the first two columns."""
    lowered = {column.lower().replace("_", " "): column for column in table.columns}
    date_column = next((lowered[name] for name in ("date", "datetime", "timestamp", "time", "day") if name in lowered),
                       table.columns[0])
    price_column = next((lowered[name] for name in ("adj close", "adjusted close", "close", "price", "last")
                         if name in lowered and lowered[name] != date_column), None)
    if price_column is None:
        price_column = next(column for column in table.columns if column != date_column)
    return date_column, price_column


# ## Prices: decimal and thousands separators


CURRENCY_SYMBOLS = "$€£¥"
# Neighbouring prices this many times apart are far more likely a misread separator than a real day.
MISPARSE_FACTOR = 50.0
_NUMBER = re.compile(r"[+-]?(?:[0-9]{1,15}(?:[.,][0-9]{1,15})*|[.,][0-9]{1,15})(?:[eE][+-]?[0-9]{1,3})?")
_SPACE_GROUPED = re.compile(r"([+-]?[0-9]{1,3}(?:[ \u00a0\u202f][0-9]{3})+)((?:[.,][0-9]{1,15})?)")


def _clean_number(cell: str) -> str | None:
    """The cell without currency symbols and space thousands separators, or None when it is not a number."""
    cell = cell.strip().strip(CURRENCY_SYMBOLS).strip()
    spaced = _SPACE_GROUPED.fullmatch(cell)
    if spaced:
        cell = re.sub(r"[ \u00a0\u202f]", "", spaced.group(1)) + spaced.group(2)
    return cell if _NUMBER.fullmatch(cell) else None


def _separator_roles(cell: str) -> tuple[str | None, str | None]:
    """(decimal separator, thousands separator) that this one cell proves; None where it proves nothing.

    "1,234.56" proves both; "100,13" and "0.123" prove a decimal separator; "1.234.567" a thousands
    separator; "1,234" (three digits after one separator) reads either way and proves nothing.
    """
    body = cell.lstrip("+-").split("e")[0].split("E")[0]
    separators = [char for char in body if char in ".,"]
    if not separators:
        return None, None
    last = separators[-1]
    if len(set(separators)) == 2:
        return last, ("," if last == "." else ".")
    if len(separators) > 1:
        return ("," if last == "." else "."), last
    before, after = body.split(last)
    if len(after) != 3 or not before or len(before) > 3 or before == "0":
        return last, None
    return None, None


def _read_number(cell: str, decimal: str) -> float:
    """The value of a cleaned cell, given the column's decimal separator; NaN where the grouping is wrong."""
    thousands = "," if decimal == "." else "."
    body = cell.lstrip("+-")
    if thousands in body:
        grouped = re.fullmatch(rf"[0-9]{{1,3}}(?:{re.escape(thousands)}[0-9]{{3}})+(?:{re.escape(decimal)}[0-9]+)?",
                               body)
        if not grouped or "e" in body.lower():
            return np.nan
    if body.count(decimal) > 1:
        return np.nan
    value = float(cell.replace(thousands, "").replace(decimal, "."))
    return value if np.isfinite(value) else np.nan


def parse_prices(raw: pd.Series, delimiter: str = ",") -> tuple[np.ndarray, list[str]]:
    """Prices from text cells (NaN where a cell is not a number) and notes on how the separators were read.

    The column's decimal separator comes from the cells that prove it (see ``_separator_roles``); a column
    that proves both "." and "," is refused. Where no cell settles it (only prices like "1,234"), the file's
    convention decides, with a note: a decimal comma in semicolon-separated files, a decimal point otherwise.
    """
    cells = [_clean_number(str(cell)) for cell in raw]
    evidence: dict[str, int] = {}  # Decimal separator -> the first row that proves it.
    undecided = None
    for row, cell in enumerate(cells):
        if cell is None:
            continue
        decimal, grouping = _separator_roles(cell)
        if decimal is None and grouping is not None:
            decimal = "," if grouping == "." else "."
        if decimal:
            evidence.setdefault(decimal, row)
        elif undecided is None and re.search(r"[.,]", cell):
            undecided = row
    notes = []
    if len(evidence) > 1:
        examples = " and ".join(f"{csvfiles.shown(str(raw.iloc[row]))} (row {row + 2})"
                                for row in sorted(evidence.values()))
        raise PriceDataError(f"The prices mix number styles, e.g. {examples}: one uses '.' and the other ',' as "
                             "the decimal separator. Export the column with one style throughout.")
    if evidence:
        decimal = next(iter(evidence))
    else:
        decimal = "," if delimiter == ";" else "."
        if undecided is not None:
            reading = "a decimal comma" if decimal == "," else "',' as a thousands separator"
            notes.append(f"Prices like {csvfiles.shown(str(raw.iloc[undecided]))} (row {undecided + 2}) read either "
                         f"way; they were read with {reading}, as usual in "
                         f"{'semicolon' if delimiter == ';' else 'comma'}-separated files.")
    if decimal == "," and evidence:
        row = evidence[","]
        notes.append(f"The prices use a decimal comma (e.g. {csvfiles.shown(str(raw.iloc[row]))} in row {row + 2}); "
                     "they were read that way.")
    prices = np.array([np.nan if cell is None else _read_number(cell, decimal) for cell in cells], dtype=np.float64)
    return prices, notes


def check_misparsed_jumps(prices: np.ndarray, dates: np.ndarray) -> None:
    """Refuse a series whose neighbouring prices differ by a factor of ``MISPARSE_FACTOR`` or more."""
    ratios = np.abs(np.diff(np.log(prices)))
    jumps = ratios >= np.log(MISPARSE_FACTOR)
    if jumps.any():
        first = int(np.flatnonzero(jumps)[0])
        factor = np.exp(ratios[first])
        factor_text = f"{factor:,.0f}" if factor < 1e6 else f"{factor:.1e}"
        raise PriceDataError(
            f"The price jumps ×{factor_text} from {prices[first]:,.4g} on {pd.Timestamp(dates[first]).date()} to "
            f"{prices[first + 1]:,.4g} the next day; the numbers were probably misread (a decimal or thousands "
            "separator, or a change of unit). Export the prices with one number style, as plain numbers "
            "like 1234.56."
        )


# ## Dates: day first, month first


_TIME = r"(?:[ T][0-9]{1,2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,9})?)?)?\s*(?:Z|UTC|[+-][0-9]{2}:?[0-9]{2})?"
_YEAR_FIRST = re.compile(r"([0-9]{4})([-/.])([0-9]{1,2})\2([0-9]{1,2})" + _TIME)
_COMPACT = re.compile(r"([0-9]{4})([0-9]{2})([0-9]{2})")
_DAY_OR_MONTH_FIRST = re.compile(r"([0-9]{1,2})([-/.])([0-9]{1,2})\2([0-9]{4}|[0-9]{2})" + _TIME)
_MONTH_NAME = re.compile(r"(?i)\b(jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?(?![a-z])")
MAX_DATE_CHARACTERS = 40
# Years outside this range are typos; it also keeps every date inside numpy's nanosecond range.
YEARS = (1800, 2200)
DATE_STYLES = {"day first": "31/12/2024", "month first": "12/31/2024"}


def _date_style(cell: str) -> tuple[str, tuple[int, int, int] | None] | None:
    """(style, (first, second, year) numbers) of one date cell, or None when it is no date this reader knows."""
    if len(cell) > MAX_DATE_CHARACTERS:
        return None
    if match := _YEAR_FIRST.fullmatch(cell):
        return "year first", (int(match.group(3)), int(match.group(4)), int(match.group(1)))
    if match := _COMPACT.fullmatch(cell):
        return "year first", (int(match.group(2)), int(match.group(3)), int(match.group(1)))
    if match := _DAY_OR_MONTH_FIRST.fullmatch(cell):
        year = int(match.group(4))
        if len(match.group(4)) == 2:
            year += 2000 if year < 69 else 1900  # As strptime's %y does.
        return "numeric", (int(match.group(1)), int(match.group(3)), year)
    if _MONTH_NAME.search(cell):
        return "month name", None
    return None


def _styles(raw: pd.Series) -> list[tuple[str, tuple[int, int, int] | None] | None]:
    return [_date_style(str(cell).strip()) for cell in raw]


def _numeric_order_evidence(styles) -> tuple[int | None, int | None]:
    """First rows (0-based) proving day first (first number > 12) and month first (second number > 12).

    A cell with both numbers above 12 proves nothing: it is no date either way, and is reported as such.
    """
    day_first = month_first = None
    for row, style in enumerate(styles):
        if style is None or style[0] != "numeric":
            continue
        first, second, _ = style[1]
        if first > 12 and second > 12:
            continue
        if first > 12 and day_first is None:
            day_first = row
        if second > 12 and month_first is None:
            month_first = row
    return day_first, month_first


def _column_style(raw: pd.Series, styles) -> str | None:
    """The one style of the column's date cells; PriceDataError when it mixes two."""
    seen: dict[str, int] = {}
    for row, style in enumerate(styles):
        if style is not None:
            seen.setdefault(style[0], row)
    if len(seen) > 1:
        examples = " and ".join(f"{csvfiles.shown(str(raw.iloc[row]))} (row {row + 2})" for row in seen.values())
        raise PriceDataError(f"The dates mix formats, e.g. {examples}. Export the dates in one format, "
                             "such as 2024-12-31.")
    return next(iter(seen), None)


def dates_are_ambiguous(table: pd.DataFrame, column: str) -> bool:
    """Whether every date in the column reads both day first and month first (like 01/02/2024): ask the visitor."""
    if column not in table.columns:
        return False
    raw = table[column].astype(str)
    styles = _styles(raw)
    try:
        if _column_style(raw, styles) != "numeric":
            return False
    except PriceDataError:
        return False
    return _numeric_order_evidence(styles) == (None, None)


def parse_dates(raw: pd.Series, day_first: bool | None = None) -> tuple[pd.Series, list[str]]:
    """Dates (NaT where a cell is not a date) and notes on how they were read.

    Numeric dates like 03/04/2024 are read day first when some first number exceeds 12, month first when
    some second number does, and as ``day_first`` says when neither happens (PriceDataError if it is None).
    """
    raw = raw.astype(str).str.strip()
    styles = _styles(raw)
    style = _column_style(raw, styles)
    notes = []
    if style == "month name":
        short = raw.where(raw.str.len() <= MAX_DATE_CHARACTERS, "")
        try:
            dates = pd.to_datetime(short, errors="coerce", format="mixed")
        except (ValueError, OverflowError):
            dates = pd.Series(pd.NaT, index=raw.index)
        if dates.dt.tz is not None:
            dates = dates.dt.tz_localize(None)
        valid = np.array([s is not None for s in styles], dtype=bool) & dates.dt.year.between(*YEARS).to_numpy()
        return dates.where(valid).astype("datetime64[ns]"), notes
    parts = [(s[1] if s is not None and s[0] == style else (0, 0, 0)) for s in styles]
    first, second, year = (np.array(values, dtype=np.int64) for values in zip(*parts)) if parts else ([], [], [])
    if style == "numeric":
        day_row, month_row = _numeric_order_evidence(styles)
        if day_row is not None and month_row is not None:
            raise PriceDataError(
                f"Some dates put the day first ({csvfiles.shown(raw.iloc[day_row])}, row {day_row + 2}) and others the "
                f"month first ({csvfiles.shown(raw.iloc[month_row])}, row {month_row + 2}). Export the dates in one "
                "format, such as 2024-12-31."
            )
        if day_row is not None or month_row is not None:
            day_first = day_row is not None
            row = day_row if day_first else month_row
            notes.append(f"Dates were read {'day' if day_first else 'month'} first "
                         f"({DATE_STYLES['day first' if day_first else 'month first']}): "
                         f"{csvfiles.shown(raw.iloc[row])} in row {row + 2} only makes sense that way.")
        elif day_first is None:
            raise PriceDataError(f"Every date reads both day first and month first (e.g. "
                                 f"{csvfiles.shown(raw.iloc[0])}); choose which one the file uses.")
        else:
            notes.append(f"Dates were read {'day' if day_first else 'month'} first, as chosen: every date in the file "
                         "reads either way.")
        month, day = (second, first) if day_first else (first, second)
    else:
        month, day = first, second
    valid = np.array([s is not None and s[0] == style for s in styles], dtype=bool)
    valid &= (np.asarray(year) >= YEARS[0]) & (np.asarray(year) <= YEARS[1])
    dates = pd.to_datetime(pd.DataFrame({"year": np.where(valid, year, 2000), "month": np.where(valid, month, 1),
                                         "day": np.where(valid, day, 1)}), errors="coerce")
    return dates.where(valid).astype("datetime64[ns]"), notes


# ## Validation of a chosen date and price column


def series_from_table(table: pd.DataFrame, date_column: str, price_column: str, name: str = "upload",
                      day_first: bool | None = None) -> tuple[PriceSeries, list[str]]:
    """Validate the chosen columns and return the series plus notes (how the file was read, fixes applied).

    ``day_first`` settles dates like 01/02/2024 when no date in the file does (see ``dates_are_ambiguous``).
    Raises ``PriceDataError`` naming the first offending row for unusable dates or prices, duplicate or
    scrambled dates, gaps, prices that look misread and too-short series.
    """
    if date_column == price_column:
        raise PriceDataError("Pick two different columns for the date and the price.")
    for column in (date_column, price_column):
        if column not in table.columns:
            raise PriceDataError(f"The file has no column {csvfiles.shown(column)}; its columns are "
                                 f"{csvfiles.shown(', '.join(map(str, table.columns)), 200)}.")
    raw_dates = table[date_column].astype(str).str.strip()
    raw_prices = table[price_column].astype(str).str.strip()
    row_numbers = np.arange(2, len(table) + 2)  # Spreadsheet rows: 1 is the header.

    missing = (raw_prices == "").to_numpy()
    if missing.any():
        raise PriceDataError(
            f"{int(missing.sum())} row(s) have no price (first: row {row_numbers[missing][0]}). The series "
            "has gaps; fill or remove them before uploading."
        )
    prices, notes = parse_prices(raw_prices, table.attrs.get("delimiter", ","))
    bad = ~np.isfinite(prices)
    if bad.all():
        raise PriceDataError(f"Column {csvfiles.shown(price_column)} holds no numbers (e.g. "
                             f"{csvfiles.shown(raw_prices.iloc[0])}); pick the closing-price column.")
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise PriceDataError(f"Column {csvfiles.shown(price_column)} has {int(bad.sum())} non-numeric value(s); the "
                             f"first is {csvfiles.shown(raw_prices.iloc[first])} in row {row_numbers[first]}.")
    if np.any(prices <= 0):
        first = int(np.flatnonzero(prices <= 0)[0])
        raise PriceDataError(f"Prices must be positive; row {row_numbers[first]} has {prices[first]:g}.")

    dates, date_notes = parse_dates(raw_dates, day_first)
    notes = date_notes + notes
    bad = dates.isna().to_numpy()
    if bad.all():
        raise PriceDataError(f"Column {csvfiles.shown(date_column)} holds no dates (e.g. "
                             f"{csvfiles.shown(raw_dates.iloc[0])}); pick the date column (formats like 2013-03-01, "
                             "01/03/2013 or 1 Mar 2013).")
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise PriceDataError(f"Column {csvfiles.shown(date_column)} has {int(bad.sum())} value(s) that are not dates; "
                             f"the first is {csvfiles.shown(raw_dates.iloc[first])} in row {row_numbers[first]}.")
    dates = dates.dt.normalize().to_numpy()

    duplicated = pd.Series(dates).duplicated().to_numpy()
    if duplicated.any():
        first = int(np.flatnonzero(duplicated)[0])
        raise PriceDataError(f"The date {pd.Timestamp(dates[first]).date()} appears more than once (row "
                             f"{row_numbers[first]}); keep one closing price per day.")
    steps = np.diff(dates)
    if len(steps) and np.all(steps < np.timedelta64(0)):
        dates, prices = dates[::-1], prices[::-1]
        notes.append("The file lists the newest day first; it was reversed into date order.")
    elif np.any(steps < np.timedelta64(0)):
        first = int(np.flatnonzero(steps < np.timedelta64(0))[0]) + 1
        raise PriceDataError(f"The dates are not in order: row {row_numbers[first]} "
                             f"({pd.Timestamp(dates[first]).date()}) comes after a later date. Sort the file by date.")
    gaps = np.diff(dates) > np.timedelta64(MAX_GAP_DAYS, "D")
    if gaps.any():
        first = int(np.flatnonzero(gaps)[0])
        raise PriceDataError(
            f"The series has {int(gaps.sum())} gap(s) longer than {MAX_GAP_DAYS} days, the first from "
            f"{pd.Timestamp(dates[first]).date()} to {pd.Timestamp(dates[first + 1]).date()}. The model "
            "needs daily closing prices without holes."
        )
    require_length(len(prices))
    check_misparsed_jumps(prices, dates)
    jumps = np.abs(np.diff(np.log(prices))) > SPLIT_LIKE_RETURN
    if jumps.any():
        first = int(np.flatnonzero(jumps)[0]) + 1
        notes.append(f"The price moves by more than {SPLIT_LIKE_RETURN:.0%} in one day {int(jumps.sum())} time(s) "
                     f"(first on {pd.Timestamp(dates[first]).date()}); if that is a stock split, upload adjusted "
                     "closes, or the forecast will treat it as a crash.")
    return PriceSeries(name, dates, prices), notes


# ## Chart


def chart_frame(series: PriceSeries, horizon: int, quantiles: np.ndarray,
                backtest: tuple[np.ndarray, np.ndarray] | None = None) -> pd.DataFrame:
    """Long-format data for ``forecast_chart``: history, forecast (median and interval) and backtest rows.

    ``quantiles`` is (horizon, 3) price quantiles from the last date; ``backtest`` is (origins, price
    quantiles (n, 3) at ``horizon`` days) or None.
    """
    history = pd.DataFrame({"date": series.dates, "price": series.prices, "series": "History"})
    # The forecast starts at the last observed price, so the band joins the history line.
    dates = np.concatenate([series.dates[-1:], future_dates(series.dates[-1], horizon).to_numpy()])
    last = series.prices[-1]
    forecast = pd.DataFrame({"date": dates, "price": np.concatenate([[last], quantiles[:, 1]]),
                             "lower": np.concatenate([[last], quantiles[:, 0]]),
                             "upper": np.concatenate([[last], quantiles[:, 2]]), "series": "Forecast (median)"})
    frames = [history, forecast]
    if backtest is not None:
        origins, backtest_quantiles = backtest
        frames.append(pd.DataFrame({"date": series.dates[origins + horizon], "price": backtest_quantiles[:, 1],
                                    "lower": backtest_quantiles[:, 0], "upper": backtest_quantiles[:, 2],
                                    "series": f"Backtest ({horizon}-day-ahead median)"}))
    return pd.concat(frames, ignore_index=True)


CHART_COLOURS = {"History": "#4c78a8", "Forecast (median)": "#e45756", "Backtest": "#f58518"}


def forecast_chart(frame: pd.DataFrame, visible_days: int = 240, price_label: str = "price"):
    """An Altair chart: history, shaded 80% intervals, medians; zoom and pan with the mouse, tooltips on hover."""
    import altair as alt

    series_names = list(dict.fromkeys(frame["series"]))
    colours = [next(c for key, c in CHART_COLOURS.items() if name.startswith(key)) for name in series_names]
    end = frame["date"].max()
    start = end - pd.Timedelta(days=visible_days)
    visible = frame[frame["date"] >= start]
    low = float(np.nanmin(visible[["price", "lower"]].to_numpy(dtype=float)))
    high = float(np.nanmax(visible[["price", "upper"]].to_numpy(dtype=float)))
    margin = 0.05 * (high - low or high)
    zoom = alt.selection_interval(bind="scales", name="zoom")
    base = alt.Chart(frame).encode(
        x=alt.X("date:T", title=None, scale=alt.Scale(domain=[start.isoformat(), end.isoformat()])),
        color=alt.Color("series:N", scale=alt.Scale(domain=series_names, range=colours),
                        legend=alt.Legend(orient="top", title=None, columns=2, labelLimit=400)),
    )
    tooltip = [alt.Tooltip("date:T", format="%Y-%m-%d"), "series:N", alt.Tooltip("price:Q", format=",.2f"),
               alt.Tooltip("lower:Q", title="10% quantile", format=",.2f"),
               alt.Tooltip("upper:Q", title="90% quantile", format=",.2f")]
    y = alt.Y("price:Q", title=price_label, scale=alt.Scale(zero=False, domain=[low - margin, high + margin]))
    # The forecast's interval is the point of the chart; the backtest's stays in the background.
    band = base.transform_filter("isValid(datum.lower)").mark_area().encode(
        y=alt.Y("lower:Q", title=price_label), y2="upper:Q",
        opacity=alt.condition("datum.series === 'Forecast (median)'", alt.value(0.35), alt.value(0.12)))
    lines = base.mark_line(strokeWidth=1.6).encode(
        y=y, strokeDash=alt.condition("datum.series === 'History'", alt.value([1, 0]), alt.value([5, 3])))
    points = base.mark_point(size=40, opacity=0, filled=True).encode(y="price:Q", tooltip=tooltip)
    return alt.layer(band, lines, points).add_params(zoom).properties(height=420)


# ## Training data
#
# The windows of the four tickers split by period, and the evaluation of the test period, as
# ``training/train_forecast.py`` computes them (the tests recompute the manifest's figures with them).


def load_split_windows() -> dict[str, list[dict[str, Any]]]:
    """Per period, the windows of every ticker: series, origins, normalised returns and volatilities."""
    windows: dict[str, list[dict[str, Any]]] = {"train": [], "validation": [], "test": []}
    for ticker in TICKERS:
        series = builtin_series(ticker)
        for period, origins in period_origins(series.dates).items():
            normalised, volatility = raw_windows(series.prices, origins)
            windows[period].append({"series": series, "origins": origins, "normalised": normalised,
                                    "volatility": volatility})
    return windows


def training_scaler(windows: dict[str, list[dict[str, Any]]]) -> Scaler:
    """The input scaler, fit on the training windows only (the no-leakage test recomputes it)."""
    return fit_scaler(np.concatenate([w["normalised"] for w in windows["train"]]),
                      np.concatenate([w["volatility"] for w in windows["train"]]))


def price_forecasts(predict, period_windows: list[dict[str, Any]], scaler: Scaler
                    ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Price quantiles (n, HORIZON, 3) per ticker and the raw outputs, all from one predict function."""
    prices, outputs = {}, {}
    for window in period_windows:
        ticker = window["series"].name
        outputs[ticker] = predict(model_input(window["normalised"], window["volatility"], scaler))
        last_prices = window["series"].prices[window["origins"]]
        prices[ticker] = to_price_quantiles(outputs[ticker], last_prices, window["volatility"])
    return prices, outputs


def evaluate_forecasts(period_windows: list[dict[str, Any]], price_quantiles: dict[str, np.ndarray]
                       ) -> tuple[list[dict], dict[str, float]]:
    """Metric rows per ticker, horizon and method, and the pooled (all tickers) figures for the headline."""
    rows = []
    for window in period_windows:
        rows += evaluate_series(window["series"].prices, window["origins"], price_quantiles[window["series"].name],
                                window["series"].name)
    values = {}
    for horizon in EVALUATION_HORIZONS:
        for method, metric, key in (("lstm", "coverage_80", "coverage_80"), ("lstm", "mape", "lstm_mape"),
                                    ("naive", "mape", "naive_mape")):
            # Every figure is a mean over windows, so the pooled value is the n-weighted mean of the tickers'.
            chosen = [row for row in rows if row["horizon"] == horizon and row["method"] == method]
            pooled = sum(row[metric] * row["n"] for row in chosen) / sum(row["n"] for row in chosen)
            values[f"{key}_h{horizon}"] = round(float(pooled), 4)
    inside = []
    for window in period_windows:
        future = window["series"].prices[window["origins"][:, None] + np.arange(1, HORIZON + 1)]
        quantiles = price_quantiles[window["series"].name]
        inside.append((future >= quantiles[:, :, 0]) & (future <= quantiles[:, :, 2]))
    values["coverage_80_all_horizons"] = round(float(np.mean(np.concatenate(inside))), 4)
    return rows, values


# ## Evaluation subset and calibration inputs


def calibration_inputs(entry: dict[str, Any]) -> np.ndarray:
    """Representative inputs for int8 calibration: every 20th window of the training period."""
    scaler = Scaler.from_dict(entry["extra"]["scaler"])
    windows = []
    for ticker in TICKERS:
        series = builtin_series(ticker)
        origins = period_origins(series.dates)["train"][::20]
        windows.append(model_input(*raw_windows(series.prices, origins), scaler))
    return np.concatenate(windows)


def evaluation_arrays(entry: dict[str, Any]) -> dict[str, np.ndarray]:
    scaler = Scaler.from_dict(entry["extra"]["scaler"])
    inputs, window_targets = [], []
    for ticker in TICKERS:
        series = builtin_series(ticker)
        origins = period_origins(series.dates)["test"]
        normalised, volatility = raw_windows(series.prices, origins)
        inputs.append(model_input(normalised, volatility, scaler))
        window_targets.append(targets(series.prices, origins, volatility))
    return {"inputs": np.concatenate(inputs), "targets": np.concatenate(window_targets)}


def evaluation_score(outputs: np.ndarray, arrays: dict[str, np.ndarray]) -> float:
    return pinball_loss(arrays["targets"], outputs)


EVALUATION = evaluation.Subset("pinball_loss", False, "all 2012–2013 test windows of the 4 stocks (normalised units)",
                               evaluation_arrays, evaluation_score)
