"""Stock forecast: a 30-day forecast with an 80% interval, shown beside the naive baselines it has to beat."""

import streamlit as st
import ui

from showcase import paths
from showcase.tasks import forecast as fc

SOURCES = ("Built-in ticker", "Upload a CSV")
SAMPLE_CSV = paths.SAMPLES_DIR / "forecast" / "msft_2012_2013.csv"
DATE_ORDERS = ("day first (1 February)", "month first (January 2)")
CSV_TYPES = ("csv", "txt")
TEST_PERIOD = "2012–2013"  # the years of fc.TEST_START onwards, as the texts name them

st.title("Stock forecast")
st.write(
    "A stacked LSTM reads the last 60 daily returns of a stock and predicts the 10%, 50% and 90% quantiles of "
    "its price for each of the next 30 trading days. One model serves every series: each window is scaled by its "
    f"own volatility, so it also forecasts a price history you upload. It was trained on 2000–2010, tuned on 2011 "
    f"and tested on {TEST_PERIOD}; the table below shows how it did there against simple baselines — including "
    "where it loses."
)
st.info(
    "This is a machine-learning demo, not investment advice. Daily stock prices are close to a random walk: no "
    "model here can tell you where a price is going, and the shaded band shows how wide the honest uncertainty is.",
    icon=":material/info:",
)
entry = ui.model_entry_or_stop("forecast")


@st.cache_data(show_spinner=False)
def builtin_series(ticker: str) -> fc.PriceSeries:
    return fc.builtin_series(ticker)


def uploaded_series():
    """The uploaded series and notes about it, or (None, []) before an upload; raises PriceDataError."""
    upload = ui.file_uploader("A CSV with a date column and a daily closing-price column", CSV_TYPES,
                              key="forecast_upload", max_bytes=fc.MAX_UPLOAD_BYTES)
    st.caption(f"At most {fc.MAX_ROWS:,} rows; at least {fc.LOOKBACK + 1} "
               "consecutive trading days. Use adjusted closes if the stock split.")
    ui.sample_download_button(SAMPLE_CSV, "Download a sample CSV (MSFT, 150 days)")
    if upload is None:
        return None, []
    table = fc.read_csv_upload(upload.getvalue())
    date_guess, price_guess = fc.guess_columns(table)
    columns = list(table.columns)
    date_column, price_column = st.columns(2)
    date_choice = date_column.selectbox("Date column", columns, index=columns.index(date_guess),
                                        key="forecast_date_column")
    price_choice = price_column.selectbox("Price column", columns, index=columns.index(price_guess),
                                          key="forecast_price_column")
    day_first = None
    if fc.dates_are_ambiguous(table, date_choice):
        order = st.radio("Every date reads either way. Dates like 01/02/2024 are", DATE_ORDERS, horizontal=True,
                         key="forecast_date_order")
        day_first = order == DATE_ORDERS[0]
    return fc.series_from_table(table, date_choice, price_choice, name=upload.name, day_first=day_first)


left, right = st.columns([1, 2], gap="large")
with left:
    source = st.radio("Data", SOURCES, horizontal=True, key="forecast_source")
    series, notes, problem, ticker = None, [], None, None
    try:
        if source == SOURCES[0]:
            ticker = st.selectbox("Ticker", fc.TICKERS, key="forecast_ticker")
            series = builtin_series(ticker)
        else:
            series, notes = uploaded_series()
    except fc.PriceDataError as error:
        problem = str(error)
    horizon = st.slider("Horizon (trading days)", 1, fc.HORIZON, 20, key="forecast_horizon")
    show_backtest = st.checkbox(
        "Show the backtest", value=True, key="forecast_backtest",
        help="What the model said each day, made the horizon's number of days earlier from data available then: "
        f"on the {TEST_PERIOD} test period for a built-in ticker, on the last {fc.BACKTEST_DAYS} days of an upload.",
    )
    format_name = ui.format_selector(entry, key="forecast_format")

with right:
    if problem:
        st.error(problem, icon=":material/error:")
    elif series is None:
        ui.nothing_uploaded_yet(CSV_TYPES, "Upload a CSV file (or download the sample on the left) to forecast "
                                "your own series.", max_bytes=fc.MAX_UPLOAD_BYTES)
    else:
        for note in notes:
            st.warning(note, icon=":material/warning:")
        forecaster = fc.Forecaster(ui.predictor_or_stop("forecast", format_name), entry)
        result = forecaster.forecast(series, horizon, show_backtest, fc.TEST_START if ticker else None)
        st.altair_chart(result.chart(price_label="adjusted close ($)" if ticker else "price"), width="stretch")
        st.metric(f"Median forecast {horizon} trading days after {result.last_date}", f"{result.median:,.2f}",
                  f"{result.median_change:+.1%}", delta_color="off")
        st.caption(f"80% interval: {result.interval[0]:,.2f} to {result.interval[1]:,.2f} (last price "
                   f"{result.last_price:,.2f}). Scroll to zoom, drag to pan, double-click to reset.")
        ui.latency_caption(result.milliseconds, format_name)

st.subheader(f"Held-out test, {TEST_PERIOD}" + (f": {ticker}" if ticker else ": all four tickers"))
test = fc.held_out_test(entry["extra"]["metrics_table"], ticker)
coverage = {days: entry["metrics"]["values"][f"coverage_80_h{days}"] for days in fc.EVALUATION_HORIZONS}
st.write(
    "Point errors of the LSTM's median and three baselines at 1, 5 and 20 trading days (MAE and RMSE in dollars "
    f"of split- and dividend-adjusted price, MAPE in percent), on every test window (n = {test.windows} "
    f"per ticker). The LSTM's median loses to a baseline in **{test.losses} of {test.comparisons}** comparisons "
    "here: a forecast that hugs the last price is very hard to beat. The 80% interval should contain the real "
    f"price 80% of the time (goal 75–85%); on the test period it did {coverage[1]:.0%}, {coverage[5]:.0%} and "
    f"{coverage[20]:.0%} of the time at 1, 5 and 20 days (all tickers)."
)
st.dataframe(
    test.table.drop(columns=["n"] + (["ticker"] if ticker else [])),
    hide_index=True,
    height=35 * (len(test.table) + 1) + 3,  # Every row visible: the losses should not hide below a scroll bar.
    column_config={name: st.column_config.NumberColumn(format=number) for name, number in fc.METRIC_FORMATS.items()},
    key="forecast_metrics",
)
ui.how_this_model_works(entry)
