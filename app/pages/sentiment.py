"""Sentiment: how positive is a movie review, which words drove that, and batch scoring of a CSV."""

import html
import time

import altair as alt
import pandas as pd
import streamlit as st
import ui

from showcase import calibration, csvfiles, paths, runtime
from showcase.formats import FORMAT_LABELS
from showcase.tasks import sentiment
from showcase.tasks.sentiment import WORDS_PER_CHUNK

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
# The downloaded CSV's probability header says the probabilities are temperature-scaled.
CALIBRATED_COLUMN = {"probability_positive": "probability_positive_calibrated"}
CSV_TYPES = ("csv", "txt", "tsv")

st.title("Movie review sentiment")
st.write(
    "Type or paste a movie review. The text is lower-cased and stripped of HTML and punctuation, cut into "
    f"windows of {WORDS_PER_CHUNK} words, and each window's words and word pairs (“not good”) are looked up "
    "in a vocabulary learned from the IMDB training reviews. A small model averages their learned embeddings and "
    "says how positive the review is."
)
entry = ui.model_entry_or_stop("sentiment")


@st.cache_resource(show_spinner="Loading the vocabulary…")
def load_vocabulary():
    return sentiment.load_vocabulary(ui.model_entry_or_stop("sentiment"))


try:
    vocabulary = load_vocabulary()
except runtime.ArtifactError as error:
    st.error(str(error))
    st.stop()


def set_example(name: str) -> None:
    st.session_state.sentiment_text = EXAMPLES[name]


def gauge(probability: float) -> None:
    """A 0–100% bar for the probability of "positive", with the 50% decision line."""
    bar = pd.DataFrame({"probability": [probability], "label": ["positive"]})
    colour = "#2e9e5b" if probability >= 0.5 else "#d64545"
    track = alt.Chart(pd.DataFrame({"start": [0.0], "end": [1.0]})).mark_bar(color="#e6e9ef", size=28).encode(
        x=alt.X("start:Q", scale=alt.Scale(domain=[0, 1]),
                axis=alt.Axis(format="%", title="calibrated probability of positive")),
        x2="end:Q",
    )
    fill = alt.Chart(bar).mark_bar(color=colour, size=28).encode(
        x="probability:Q", tooltip=[alt.Tooltip("probability:Q", format=".1%")]
    )
    line = alt.Chart(pd.DataFrame({"x": [0.5]})).mark_rule(color="#333", strokeDash=[4, 3]).encode(x="x:Q")
    st.altair_chart((track + fill + line).properties(height=70), width="stretch")


# st.markdown reads Markdown (and $…$ as LaTeX) even between HTML tags; as entities, these show as typed.
MARKDOWN_AS_ENTITIES = str.maketrans({character: f"&#{ord(character)};" for character in "*_[]()`~$|\\!{}"})


def highlight(pieces) -> str:
    """HTML of the review with each word shaded green (pushed toward positive) or red (toward negative)."""
    strongest = max((abs(value) for _, value in pieces if value is not None), default=0.0) or 1.0
    spans = []
    for surface, value in pieces:
        escaped = html.escape(surface).translate(MARKDOWN_AS_ENTITIES)
        if value is None or value == 0:
            spans.append(escaped)
            continue
        alpha = 0.12 + 0.68 * abs(value) / strongest
        rgb = "46,158,91" if value > 0 else "214,69,69"
        spans.append(f'<span title="{value:+.4f}" style="background: rgba({rgb},{alpha:.2f}); '
                     f'border-radius: 3px; padding: 0 2px">{escaped}</span>')
    return '<div style="line-height: 1.9">' + " ".join(spans) + "</div>"


format_name = ui.format_selector(entry, key="sentiment_format")
predictor = ui.predictor_or_stop("sentiment", format_name)
# The review's mean probability is calibrated (showcase.calibration), with this format's temperature.
temperature = calibration.temperature(entry, format_name)
single, batch = st.tabs(["One review", "Batch: score a CSV"])

with single:
    left, right = st.columns(2, gap="large")
    with left:
        buttons = st.columns(len(EXAMPLES))
        for column, name in zip(buttons, EXAMPLES):
            column.button(name, on_click=set_example, args=(name,), key=f"sentiment_example_{name}",
                          width="stretch")
        review = st.text_area("Review", height=220, key="sentiment_text",
                              placeholder="Type or paste a movie review, or pick an example above.")
    with right:
        score, problem = None, None
        if not review.strip():
            st.info("Type a review or pick an example to see how positive it is.", icon=":material/edit_note:")
        else:
            try:
                start = time.perf_counter()
                score = sentiment.score_text(predictor, vocabulary, review, temperature)
                milliseconds = (time.perf_counter() - start) * 1000
            except sentiment.TextInputError as error:
                problem = str(error)
        if problem:
            st.warning(problem, icon=":material/error:")
        if score is not None:
            st.metric("Sentiment", score.label.capitalize(), f"{score.probability:.1%} positive", delta_color="off",
                      delta_arrow="off")
            gauge(score.probability)
            ui.latency_caption(milliseconds, format_name)
            if score.truncated:
                st.warning(f"The text is longer than {sentiment.MAX_CHARACTERS:,} characters; only the first "
                           f"{sentiment.MAX_CHARACTERS:,} were scored.", icon=":material/content_cut:")
            if len(score.chunk_probabilities) > 1:
                st.info(f"The review has {score.words:,} words and the model reads {WORDS_PER_CHUNK} at a time, "
                        f"so it was scored in {len(score.chunk_probabilities)} chunks and their probabilities "
                        "averaged, then calibrated (chunks before calibration: "
                        + ", ".join(f"{p:.0%}" for p in score.chunk_probabilities[:12])
                        + (" …" if len(score.chunk_probabilities) > 12 else "") + ").",
                        icon=":material/splitscreen:")
            if score.known_words == 0:
                st.warning("None of these words are in the model's vocabulary (it knows English movie reviews), "
                           "so the score is only the model's prior, not a judgement of the text.",
                           icon=":material/translate:")
            elif score.known_words < 0.5 * score.words:
                st.warning(f"Only {score.known_words} of {score.words} words are in the model's English "
                           "vocabulary; the score rests on those alone.", icon=":material/translate:")

    if score is not None and score.known_words:
        st.subheader("Which words drove it")
        effects = sentiment.word_effects(predictor, vocabulary, review, temperature)
        st.caption("The model's score is an average over the review's words and word pairs, so it splits into "
                   "one share per word: each word and pair is scored alone with "
                   f"{FORMAT_LABELS[format_name]} and its share measured against an empty input. Green words "
                   "pushed toward positive, red toward negative; hover for the share (in calibrated logit units).")
        st.markdown(highlight(sentiment.highlighted_pieces(review, effects)), unsafe_allow_html=True)
        if score.words > sentiment.MAX_EXPLAINED_WORDS:
            st.caption(f"Highlights cover the first {sentiment.MAX_EXPLAINED_WORDS} words (one model call per word).")

with batch:
    st.write(f"Upload a CSV with a column of texts; each row gets a label and a probability. Up to "
             f"{sentiment.MAX_CSV_ROWS:,} rows and {sentiment.MAX_CSV_BYTES / 1e6:.0f} MB per file (rows beyond the limit "
             "are left out); UTF-8, UTF-16 and Windows-1252 files, comma, semicolon or tab separated.")
    upload = ui.file_uploader("CSV file", CSV_TYPES, key="sentiment_csv", max_bytes=sentiment.MAX_CSV_BYTES)
    if upload is None:
        ui.nothing_uploaded_yet(CSV_TYPES, "Upload a CSV with a column of reviews to score them.",
                                max_bytes=sentiment.MAX_CSV_BYTES)
    if upload is None and SAMPLE_CSV.exists():
        st.download_button("Download a sample CSV", SAMPLE_CSV.read_bytes(), file_name="reviews.csv",
                           mime="text/csv", icon=":material/download:")
    if upload is not None:
        try:
            table, encoding = sentiment.read_csv_upload(upload.getvalue())
            columns = sentiment.text_columns(table)
            if not columns:
                raise sentiment.TextInputError("The CSV has no column with text in it. Add a column of reviews.")
        except sentiment.TextInputError as error:
            st.error(str(error), icon=":material/error:")
        else:
            if len(table) > sentiment.MAX_CSV_ROWS:
                st.warning(f"The file has more than {sentiment.MAX_CSV_ROWS:,} rows; only the first "
                           f"{sentiment.MAX_CSV_ROWS:,} are scored.", icon=":material/content_cut:")
            if encoding not in csvfiles.UNICODE_ENCODINGS:
                st.info(f"The file is not UTF-8; it was read as {encoding}.", icon=":material/translate:")
            column = st.selectbox("Text column", columns, key="sentiment_column")
            bar = st.progress(0.0, text="Scoring…")
            scored = sentiment.score_table(predictor, vocabulary, table, column,
                                      progress=lambda done: bar.progress(done, text=f"Scoring… {done:.0%}"),
                                      temperature=temperature)
            bar.empty()
            skipped = int((scored["note"] != "").sum() - scored["note"].str.startswith("only the first").sum())
            st.success(f"Scored {len(scored) - skipped:,} of {len(scored):,} rows with "
                       f"{FORMAT_LABELS[format_name]}.", icon=":material/check:")
            if skipped:
                st.warning(f"{skipped} rows could not be scored (see the note column); the others are unaffected.",
                           icon=":material/warning:")
            st.dataframe(scored, hide_index=True, column_config={
                "probability_positive": st.column_config.ProgressColumn(
                    "probability positive (calibrated)", format="%.2f", min_value=0.0, max_value=1.0)})
            st.caption(f"Probabilities are calibrated (temperature T = {temperature:.3g}, see "
                       "“How this model works”); the downloaded file's column says so in its name.")
            ui.csv_download_button("Download the scored CSV", scored.rename(columns=CALIBRATED_COLUMN),
                                   "scored_reviews.csv", key="sentiment_download")

ui.how_this_model_works(entry)
