"""Forecasting recipe: windows, the time split, the scaler (no leakage), baselines, metrics, CSV validation."""

import numpy as np
import pandas as pd
import pytest

from showcase import paths
from showcase.tasks import forecast as fc


def synthetic_series(length=300, seed=0, start="2020-01-01"):
    rng = np.random.default_rng(seed)
    prices = 100 * np.exp(np.cumsum(rng.normal(0.0005, 0.02, length)))
    return fc.PriceSeries("synthetic", pd.bdate_range(start, periods=length).to_numpy(), prices)


# ## Windows


def test_windows_are_normalised_by_their_own_volatility():
    series = synthetic_series()
    origins = np.array([fc.LOOKBACK, 100, len(series) - 1])
    normalised, volatility = fc.raw_windows(series.prices, origins)
    assert normalised.shape == (3, fc.LOOKBACK)
    np.testing.assert_allclose(normalised.std(axis=1), 1.0, rtol=1e-9)
    returns = np.diff(np.log(series.prices))
    # The window of origin t holds r_{t-59..t}: the last value is log(P_t / P_{t-1}), nothing after t.
    np.testing.assert_allclose(normalised[1, -1] * volatility[1], returns[99])
    np.testing.assert_allclose(volatility[1], returns[100 - fc.LOOKBACK:100].std())


def test_scaling_a_price_series_does_not_change_the_model_input():
    series = synthetic_series()
    scaler = fc.Scaler(0.0, 1.0, -4.0, 0.5)
    origins = np.array([80, 200])
    first = fc.model_input(*fc.raw_windows(series.prices, origins), scaler)
    second = fc.model_input(*fc.raw_windows(series.prices * 37.5, origins), scaler)
    assert first.shape == (2, fc.LOOKBACK, fc.FEATURES) and first.dtype == np.float32
    np.testing.assert_allclose(first, second, atol=1e-5)


def test_targets_and_price_quantiles_round_trip():
    series = synthetic_series()
    origins = np.array([70, 150])
    _, volatility = fc.raw_windows(series.prices, origins)
    target = fc.targets(series.prices, origins, volatility)
    assert target.shape == (2, fc.HORIZON)
    # Feeding the true targets as all three "quantiles" must give back the true future prices.
    prices = fc.to_price_quantiles(np.repeat(target[:, :, None], 3, axis=2), series.prices[origins], volatility)
    expected = series.prices[origins[:, None] + np.arange(1, fc.HORIZON + 1)]
    np.testing.assert_allclose(prices[:, :, 1], expected, rtol=1e-9)


def test_price_quantiles_keep_their_order():
    output = np.sort(np.random.default_rng(1).normal(size=(5, fc.HORIZON, 3)), axis=-1)
    prices = fc.to_price_quantiles(output, np.full(5, 50.0), np.full(5, 0.02))
    assert np.all(np.diff(prices, axis=-1) >= 0)


def test_a_too_short_series_is_rejected():
    with pytest.raises(fc.PriceDataError, match=f"at least {fc.LOOKBACK + 1}"):
        fc.latest_window(synthetic_series(length=fc.LOOKBACK), fc.Scaler(0, 1, 0, 1))


# ## The time split and the scaler


def test_split_follows_the_dates_of_the_targets():
    series = fc.builtin_series("IBM")
    dates = pd.DatetimeIndex(series.dates)
    periods = fc.period_origins(series.dates)
    train, validation, test = periods["train"], periods["validation"], periods["test"]
    assert dates[train + fc.HORIZON].max() <= pd.Timestamp("2010-12-31")
    assert dates[validation + 1].min() >= pd.Timestamp("2011-01-01")
    assert dates[validation + fc.HORIZON].max() <= pd.Timestamp("2011-12-31")
    assert dates[test + 1].min() >= pd.Timestamp("2012-01-01")
    assert dates[test + fc.HORIZON].max() == dates[-1]
    assert train.max() < validation.min() and validation.max() < test.min()


def test_scaler_statistics_come_from_the_training_period_only():
    windows = fc.load_split_windows()
    scaler = fc.training_scaler(windows)
    # Recompute from series cut at the end of 2010: later prices must not matter at all.
    returns, volatilities = [], []
    for ticker in fc.TICKERS:
        series = fc.builtin_series(ticker)
        keep = series.dates <= np.datetime64("2010-12-31")
        prices = series.prices[keep]
        origins = np.arange(fc.LOOKBACK, len(prices) - fc.HORIZON)
        normalised, volatility = fc.raw_windows(prices, origins)
        returns.append(normalised)
        volatilities.append(volatility)
    expected = fc.fit_scaler(np.concatenate(returns), np.concatenate(volatilities))
    assert scaler == expected
    # And the check can fail: a scaler fit on every window (test period included) differs.
    everything = fc.fit_scaler(
        np.concatenate([w["normalised"] for period in windows.values() for w in period]),
        np.concatenate([w["volatility"] for period in windows.values() for w in period]),
    )
    assert everything != scaler


def test_scaler_round_trips_through_the_manifest_format():
    scaler = fc.Scaler(0.01, 0.99, -4.2, 0.4)
    assert fc.Scaler.from_dict(scaler.to_dict()) == scaler


# ## Baselines and metrics


def test_baselines_use_only_prices_up_to_the_origin():
    prices = np.array([10.0, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31])
    origins = np.array([4, 21])
    forecasts = fc.baseline_forecasts(prices, origins, horizon=5)
    np.testing.assert_allclose(forecasts["naive"], [14, 31])
    np.testing.assert_allclose(forecasts["moving_average"], [np.mean(prices[:5]), np.mean(prices[2:22])])
    slope = np.log(14 / 10) / 4
    np.testing.assert_allclose(forecasts["drift"][0], 14 * np.exp(5 * slope))
    changed = prices.copy()
    changed[5:] *= 3  # The future of origin 4 changes; its forecasts must not.
    again = fc.baseline_forecasts(changed, origins[:1], horizon=5)
    assert all(again[name][0] == forecasts[name][0] for name in forecasts)


def test_point_metrics_and_coverage():
    metrics = fc.point_metrics(np.array([100.0, 200.0]), np.array([110.0, 180.0]))
    assert metrics == pytest.approx({"mae": 15.0, "rmse": np.sqrt((100 + 400) / 2), "mape": 10.0})
    assert fc.coverage(np.array([1.0, 2, 3, 4]), np.array([0.0, 2.5, 2, 5]), np.array([2.0, 3, 3, 6])) == 0.5


def test_metrics_table_marks_where_the_lstm_loses():
    rows = [
        {"ticker": "X", "horizon": 1, "method": "lstm", "n": 3, "mae": 2.0, "rmse": 2.0, "mape": 1.0,
         "coverage_80": 0.8},
        {"ticker": "X", "horizon": 1, "method": "naive", "n": 3, "mae": 1.0, "rmse": 1.0, "mape": 0.5,
         "coverage_80": None},
        {"ticker": "X", "horizon": 1, "method": "drift", "n": 3, "mae": 3.0, "rmse": 3.0, "mape": 1.5,
         "coverage_80": None},
    ]
    table = fc.metrics_table(rows, "X")
    assert list(table["LSTM beats it"]) == ["", "no", "yes"]
    assert list(table["best MAE"]) == ["", "✓", ""]


# ## Uploaded CSV files


def csv_bytes(dates, prices, header="Date,Close"):
    lines = [header] + [f"{date},{price}" for date, price in zip(dates, prices)]
    return ("\n".join(lines) + "\n").encode()


def good_rows(length=120):
    series = synthetic_series(length)
    return [str(pd.Timestamp(d).date()) for d in series.dates], [f"{p:.4f}" for p in series.prices]


def parse(data):
    table = fc.read_csv_upload(data)
    return fc.series_from_table(table, *fc.guess_columns(table))


def test_a_good_upload_parses():
    dates, prices = good_rows()
    series, notes = parse(csv_bytes(dates, prices))
    assert len(series) == 120 and notes == []
    assert series.prices[0] == pytest.approx(float(prices[0]))


def test_column_guessing_prefers_adjusted_close():
    table = pd.DataFrame({"Date": ["2020-01-02"], "Open": ["1"], "Close": ["2"], "Adj Close": ["3"]})
    assert fc.guess_columns(table) == ("Date", "Adj Close")


def test_the_committed_sample_parses():
    series, notes = parse((paths.SAMPLES_DIR / "forecast" / "msft_2012_2013.csv").read_bytes())
    assert len(series) == 150 and not notes


def test_newest_first_files_are_reversed_with_a_note():
    dates, prices = good_rows()
    series, notes = parse(csv_bytes(dates[::-1], prices[::-1]))
    assert np.all(np.diff(series.dates) > np.timedelta64(0)) and "reversed" in notes[0]
    assert series.prices[-1] == pytest.approx(float(prices[-1]))


def bad_upload(case):
    dates, prices = good_rows()
    if case == "50 MB":
        return b"Date,Close\n" + b"2020-01-01,1.0\n" * (50 * 2**20 // 15)
    if case == "empty":
        return b""
    if case == "binary":
        return bytes(range(256)) * 10
    if case == "one column":
        return b"Close\n1\n2\n3\n"
    if case == "no dates":
        return csv_bytes(["hello"] * len(prices), prices)
    if case == "text prices":
        return csv_bytes(dates, ["n/a"] * len(prices))
    if case == "a non-numeric price":
        return csv_bytes(dates, prices[:50] + ["12.3abc"] + prices[51:])
    if case == "negative price":
        return csv_bytes(dates, prices[:10] + ["-5"] + prices[11:])
    if case == "missing price":
        return csv_bytes(dates, prices[:10] + [""] + prices[11:])
    if case == "unsorted":
        return csv_bytes(dates[:40] + [dates[60]] + dates[41:60] + [dates[40]] + dates[61:], prices)
    if case == "duplicate dates":
        return csv_bytes(dates[:30] + [dates[29]] + dates[31:], prices)
    if case == "gap":
        return csv_bytes(dates[:50] + [str((pd.Timestamp(d) + pd.Timedelta(days=60)).date()) for d in dates[50:]],
                         prices)
    if case == "too short":
        return csv_bytes(dates[:40], prices[:40])
    raise KeyError(case)


BAD_UPLOADS = {
    "50 MB": "uploads are limited to 5 MB",
    "empty": "empty",
    "binary": "not a text CSV",
    "one column": "at least two comma-separated columns",
    "no dates": "holds no dates",
    "text prices": "holds no numbers",
    "a non-numeric price": "'12.3abc' in row 52",
    "negative price": "row 12 has -5",
    "missing price": "no price (first: row 12)",
    "unsorted": "not in order",
    "duplicate dates": "appears more than once (row 32)",
    "gap": "gap(s) longer than 10 days",
    "too short": f"at least {fc.LOOKBACK + 1}",
}


@pytest.mark.parametrize("case", list(BAD_UPLOADS))
def test_bad_uploads_raise_a_clear_error(case):
    with pytest.raises(fc.PriceDataError, match=BAD_UPLOADS[case].replace("(", r"\(").replace(")", r"\)")):
        parse(bad_upload(case))


def test_split_like_jumps_get_a_note():
    dates, prices = good_rows()
    prices = prices[:80] + [f"{float(p) / 2:.4f}" for p in prices[80:]]
    _, notes = parse(csv_bytes(dates, prices))
    assert "stock split" in notes[0]


# ## Chart


def test_chart_has_history_forecast_band_backtest_zoom_and_tooltips():
    series = synthetic_series()
    quantiles = np.sort(np.random.default_rng(2).normal(100, 5, (10, 3)), axis=1)
    origins = np.arange(200, 290)
    backtest = np.sort(np.random.default_rng(3).normal(100, 5, (len(origins), 3)), axis=1)
    frame = fc.chart_frame(series, 10, quantiles, (origins, backtest))
    assert set(frame["series"]) == {"History", "Forecast (median)", "Backtest (10-day-ahead median)"}
    forecast = frame[frame["series"] == "Forecast (median)"]
    assert len(forecast) == 11 and forecast["date"].min() == series.dates[-1]
    spec = fc.forecast_chart(frame).to_dict()
    assert len(spec["layer"]) == 3
    assert any(param.get("select", {}).get("type") == "interval" and param.get("bind") == "scales"
               for param in spec.get("params", []))
    assert any("tooltip" in layer["encoding"] for layer in spec["layer"])


# ## The serving class


class FakeForecastModel:
    """Quantiles of -1.28, 0 and 1.28 (in sigma sqrt(h) units) for every day ahead: the median is the last price."""

    format_name = "fake"

    def __init__(self):
        self.batches = []

    def predict(self, batch):
        self.batches.append(batch.shape)
        return np.broadcast_to(np.array([-1.28, 0.0, 1.28], dtype=np.float32), (len(batch), fc.HORIZON, 3)).copy()


SCALER = {"return_mean": 0.0, "return_std": 1.0, "log_volatility_mean": -4.0, "log_volatility_std": 0.5}


def forecaster(model=None):
    return fc.Forecaster(model or FakeForecastModel(), {"extra": {"scaler": SCALER}})


def test_a_forecast_gives_price_quantiles_dates_baselines_and_a_backtest():
    series = synthetic_series(length=400)
    model = FakeForecastModel()
    result = forecaster(model).forecast(series, horizon=10)
    assert result.quantiles.shape == (10, 3) and np.all(np.diff(result.quantiles, axis=1) > 0)
    batch, volatility = fc.latest_window(series, fc.Scaler.from_dict(SCALER))
    expected = fc.to_price_quantiles(model.predict(batch), series.prices[-1:], np.array([volatility]))[0, :10]
    np.testing.assert_array_equal(result.quantiles, expected)
    assert result.median == pytest.approx(series.prices[-1]) and result.median_change == pytest.approx(0.0)
    assert result.interval == (result.quantiles[-1, 0], result.quantiles[-1, 2])
    assert list(result.dates) == list(fc.future_dates(series.dates[-1], 10))
    assert result.last_date == str(pd.Timestamp(series.dates[-1]).date()) and result.last_price == series.prices[-1]
    baselines = fc.baseline_forecasts(series.prices, np.array([len(series) - 1]), 10)
    assert result.baselines == {method: float(value[0]) for method, value in baselines.items()}
    origins, backtest = result.backtest
    assert len(origins) == fc.BACKTEST_DAYS and origins[-1] == len(series) - 1 - 10 and backtest.shape == (250, 3)
    assert model.batches[:2] == [(1, fc.LOOKBACK, fc.FEATURES), (fc.BACKTEST_DAYS, fc.LOOKBACK, fc.FEATURES)]
    assert result.milliseconds >= 0


def test_a_built_in_tickers_backtest_covers_the_test_period():
    series = fc.builtin_series("IBM")
    origins, _ = forecaster().forecast(series, horizon=5, backtest_start=fc.TEST_START).backtest
    assert fc.TEST_START == pd.Timestamp("2012-01-01")
    assert series.dates[origins + 5].min() >= np.datetime64("2012-01-01") > series.dates[origins[0] + 4]
    assert origins[-1] + 5 == len(series) - 1


def test_the_backtest_can_be_left_out_and_a_short_series_has_none():
    assert forecaster().forecast(synthetic_series(), backtest=False).backtest is None
    short = synthetic_series(length=fc.LOOKBACK + 5)
    assert forecaster().forecast(short, horizon=fc.HORIZON).backtest is None


@pytest.mark.parametrize("horizon", [0, fc.HORIZON + 1, 2.5, True])
def test_a_horizon_out_of_range_is_refused(horizon):
    with pytest.raises(ValueError, match="horizon must be a whole number"):
        forecaster().forecast(synthetic_series(), horizon=horizon)


def test_a_too_short_series_gets_the_price_data_message():
    with pytest.raises(fc.PriceDataError, match=f"at least {fc.LOOKBACK + 1}"):
        forecaster().forecast(synthetic_series(length=fc.LOOKBACK))


def test_the_results_chart_draws_its_series():
    result = forecaster().forecast(synthetic_series(), horizon=7)
    spec = result.chart(price_label="adjusted close ($)").to_dict()
    assert spec["layer"][0]["encoding"]["color"]["scale"]["domain"] == [
        "History", "Forecast (median)", "Backtest (7-day-ahead median)"]
    assert spec["layer"][0]["encoding"]["y"]["title"] == "adjusted close ($)"


def test_the_held_out_test_counts_the_lstms_losses():
    from showcase import manifest as manifest_lib

    rows = manifest_lib.model_entry("forecast")["extra"]["metrics_table"]
    everything, one = fc.held_out_test(rows), fc.held_out_test(rows, "GOOG")
    assert (everything.comparisons, one.comparisons) == (4 * 3 * 3, 3 * 3)
    assert len(one.table) == 12 and set(one.table["ticker"]) == {"GOOG"}
    assert one.losses == sum(row == "no" for row in one.table["LSTM beats it"])
    assert one.windows == next(row["n"] for row in rows if row["ticker"] == "GOOG" and row["method"] == "lstm")
    assert set(fc.METRIC_FORMATS) <= set(one.table.columns)


# ## Number styles, date orders and encodings: never a silent guess


def semicolon_csv(dates, prices, header="Datum;Schluss"):
    return ("\n".join([header] + [f"{date};{price}" for date, price in zip(dates, prices)]) + "\n").encode()


def test_quoted_decimal_comma_prices_are_read_with_a_note():
    dates, prices = good_rows()
    quoted = [f'"{p.replace(".", ",")}"' for p in prices]
    series, notes = parse(csv_bytes(dates, quoted))
    np.testing.assert_allclose(series.prices, [float(p) for p in prices])
    assert any("decimal comma" in note for note in notes)


def test_european_thousands_in_a_semicolon_file_are_read():
    dates, _ = good_rows()
    values = 2000 + np.arange(len(dates)) * 1.37
    european = [f"{value:,.2f}".replace(",", " ").replace(".", ",").replace(" ", ".") for value in values]
    assert european[0] == "2.000,00"
    series, notes = parse(semicolon_csv(dates, european))
    np.testing.assert_allclose(series.prices, values)
    assert any("decimal comma" in note for note in notes)


def test_us_thousands_are_read():
    dates, _ = good_rows()
    values = 1500 + np.arange(len(dates)) * 2.5
    series, _ = parse(csv_bytes(dates, [f'"{value:,.2f}"' for value in values]))
    np.testing.assert_allclose(series.prices, values)


def test_mixed_number_styles_are_refused():
    dates, prices = good_rows()
    mixed = [f'"{p.replace(".", ",")}"' for p in prices[:60]] + prices[60:]
    with pytest.raises(fc.PriceDataError, match="mix number styles"):
        parse(csv_bytes(dates, mixed))


def test_prices_that_read_either_way_say_how_they_were_read():
    dates, _ = good_rows()
    values = [f'"{1000 + 3 * i:,}"' for i in range(len(dates))]  # "1,000", "1,003", ...: no decimals anywhere.
    series, notes = parse(csv_bytes(dates, values))
    assert series.prices[1] == 1003 and any("read either way" in note for note in notes)


def test_a_hundredfold_jump_is_refused_as_misread():
    dates, prices = good_rows()
    jumped = prices[:70] + [f"{float(p) * 100:.4f}" for p in prices[70:]]
    with pytest.raises(fc.PriceDataError, match="×1[0-9][0-9] .*probably misread"):
        parse(csv_bytes(dates, jumped))


def test_a_thousandfold_jump_is_refused_as_misread():
    dates, prices = good_rows()
    jumped = prices[:70] + [f"{float(p) / 1000:.6f}" for p in prices[70:]]
    with pytest.raises(fc.PriceDataError, match="probably misread"):
        parse(csv_bytes(dates, jumped))


def day_first(dates):
    return [pd.Timestamp(date).strftime("%d/%m/%Y") for date in dates]


def test_sorted_day_first_dates_are_read_day_first_with_a_note():
    dates, prices = good_rows()
    series, notes = parse(csv_bytes(day_first(dates), prices))
    assert series.dates[0] == np.datetime64(dates[0]) and len(series) == len(dates)
    assert any("read day first" in note for note in notes)


def test_month_first_dates_are_read_month_first_with_a_note():
    dates, prices = good_rows()
    month_first = [pd.Timestamp(date).strftime("%m/%d/%Y") for date in dates]
    series, notes = parse(csv_bytes(month_first, prices))
    assert series.dates[-1] == np.datetime64(dates[-1]) and any("read month first" in note for note in notes)


def test_dates_mixing_both_orders_are_refused():
    dates, prices = good_rows()
    mixed = day_first(dates[:60]) + [pd.Timestamp(d).strftime("%m/%d/%Y") for d in dates[60:]]
    with pytest.raises(fc.PriceDataError, match="day first .* month first"):
        parse(csv_bytes(mixed, prices))


def ambiguous_table():
    """Dates whose day and month are both 12 or less: every one reads either way."""
    dates = [f"{day:02d}/{month:02d}/2021" for month in range(1, 13) for day in range(1, 13)]
    return fc.read_csv_upload(csv_bytes(dates, [f"{100 + i * 0.1:.2f}" for i in range(len(dates))]))


def test_ambiguous_dates_need_a_choice_and_follow_it():
    table = ambiguous_table()
    assert fc.dates_are_ambiguous(table, "Date")
    with pytest.raises(fc.PriceDataError, match="choose which"):
        fc.series_from_table(table, "Date", "Close")
    # Either reading leaves holes (days 13-31 are absent), but the choice decides where the first one is.
    with pytest.raises(fc.PriceDataError, match="from 2021-01-12 to 2021-02-01"):
        fc.series_from_table(table, "Date", "Close", day_first=True)
    with pytest.raises(fc.PriceDataError, match="from 2021-12-01 to 2022-01-02|not in order"):
        fc.series_from_table(table, "Date", "Close", day_first=False)
    dates, _ = good_rows()
    assert not fc.dates_are_ambiguous(fc.read_csv_upload(csv_bytes(day_first(dates), _)), "Date")


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "cp1252", "utf-8-sig"])
def test_other_encodings_are_read(encoding):
    dates, prices = good_rows()
    text = "Date,Close (€)\n" + "".join(f"{d},{p}\n" for d, p in zip(dates, prices))
    data = text.encode(encoding)
    if encoding in ("utf-16-le", "utf-16-be"):
        data = ("\ufeff" + text).encode(encoding)  # A byte order mark, as spreadsheet programs write it.
    table = fc.read_csv_upload(data)
    assert list(table.columns) == ["Date", "Close (€)"]
    series, _ = fc.series_from_table(table, "Date", "Close (€)")
    assert len(series) == len(dates)


def test_utf16_without_a_byte_order_mark_is_refused_as_binary():
    dates, prices = good_rows()
    with pytest.raises(fc.PriceDataError, match="not a text CSV"):
        fc.read_csv_upload(csv_bytes(dates, prices).decode().encode("utf-16-le"))


def test_price_and_date_readers_share_the_sentiment_readers_decoder():
    from showcase import csvfiles
    from showcase.tasks import sentiment

    assert fc.csvfiles is csvfiles and sentiment.csvfiles is csvfiles


@pytest.mark.parametrize("cell", ["2020-01-02", "2020/01/02", "20200102", "2020-01-02 16:00:00", "2020-01-02T16:00Z",
                                  "02 Jan 2020", "Jan 2, 2020", "02-Jan-2020"])
def test_date_formats_without_ambiguity(cell):
    dates, notes = fc.parse_dates(pd.Series([cell]))
    assert dates.iloc[0] == pd.Timestamp("2020-01-02") and notes == []


def test_long_cells_are_shown_cut_in_messages():
    dates, prices = good_rows()
    with pytest.raises(fc.PriceDataError) as error:
        parse(csv_bytes(dates, prices[:50] + ["9" * 5000] + prices[51:]))
    assert len(str(error.value)) < 300
