"""Sentiment: how positive is a movie review, which words drove that, and batch scoring of a CSV."""

import streamlit as st
import ui

from showcase import csvfiles
from showcase.tasks import sentiment
from showcase.tasks.sentiment import MAX_CHARACTERS, MAX_CSV_BYTES, MAX_CSV_ROWS

# The downloaded CSV's probability header says the probabilities are temperature-scaled.
CALIBRATED_COLUMN = {"probability_positive": "probability_positive_calibrated"}
CSV_TYPES = ("csv", "txt", "tsv")

st.title("Movie review sentiment")
st.write(
    "Type or paste a movie review. The text is lower-cased and stripped of HTML and punctuation, and its "
    "words, word pairs and triples (“not good”, “not good at”) are looked up in a vocabulary of the n-grams "
    "of the IMDB training reviews. The model adds up one learned weight per n-gram (naive-Bayes ratios times a "
    "learned logistic regression) and says how positive the review is."
)
entry = ui.model_entry_or_stop("sentiment")


@st.cache_resource(show_spinner="Loading the vocabulary…")
def load_vocabulary():
    return sentiment.load_vocabulary(ui.model_entry_or_stop("sentiment"))


vocabulary = ui.artifact_or_stop(load_vocabulary)
format_name = ui.format_selector(entry, key="sentiment_format")
classifier = sentiment.SentimentClassifier(ui.predictor_or_stop("sentiment", format_name), vocabulary, entry)
single, batch = st.tabs(["One review", "Batch: score a CSV"])

with single:
    left, right = st.columns(2, gap="large")
    with left:
        ui.example_buttons(sentiment.EXAMPLES, text_key="sentiment_text", key_prefix="sentiment_example")
        review = st.text_area("Review", height=220, key="sentiment_text",
                              placeholder="Type or paste a movie review, or pick an example above.")
    with right:
        result = None
        if not review.strip():
            st.info("Type a review or pick an example to see how positive it is.", icon=":material/edit_note:")
        else:
            try:
                result = classifier.score(review)
            except sentiment.TextInputError as error:
                st.warning(str(error), icon=":material/error:")
        if result is not None and not result.in_distribution:
            ui.out_of_distribution(result.reason, "The model only knows English movie reviews, and this text's words "
                                   "and characters are less like them than those of "
                                   f"{entry['ood']['validation']['coverage']:.1%} of the validation reviews "
                                   "(other languages, gibberish, code, web addresses, digits), so it gives no "
                                   "sentiment.")
        elif result is not None:
            st.metric("Sentiment", result.label.capitalize(), f"{result.probability:.1%} positive",
                      delta_color="off", delta_arrow="off")
            st.altair_chart(sentiment.gauge_chart(result.probability), width="stretch")
            ui.latency_caption(result.milliseconds, format_name)
            if result.truncated:
                st.warning(f"The text is longer than {MAX_CHARACTERS:,} characters; only the first "
                           f"{MAX_CHARACTERS:,} were scored.", icon=":material/content_cut:")
            if result.known_words == 0:
                st.warning("None of these words are in the model's vocabulary (it knows English movie reviews), "
                           "so the score is only the model's prior, not a judgement of the text.",
                           icon=":material/translate:")

    if result is not None and result.in_distribution and result.known_words:
        st.subheader("Which words drove it")
        st.caption("The model's score is a sum over the review's words, pairs and triples, so it splits into "
                   "one share per word: each n-gram is scored alone with "
                   f"{ui.format_label(format_name)}, its share measured against an empty input and split "
                   "between its words. Blue words pushed toward positive, orange toward negative; hover for the "
                   "share (in calibrated logit units).")
        st.markdown(sentiment.highlighted_html(result.pieces), unsafe_allow_html=True)
        if result.explanation_cut:
            st.caption(f"Highlights cover the first {sentiment.MAX_EXPLAINED_WORDS:,} words.")

with batch:
    st.write(f"Upload a CSV with a column of texts; each row gets a label and a probability. Up to "
             f"{MAX_CSV_ROWS:,} rows and {MAX_CSV_BYTES / 1e6:.0f} MB per file (rows beyond the limit "
             "are left out); UTF-8, UTF-16 and Windows-1252 files, comma, semicolon or tab separated.")
    upload = ui.file_uploader("CSV file", CSV_TYPES, key="sentiment_csv", max_bytes=MAX_CSV_BYTES)
    if upload is None:
        ui.nothing_uploaded_yet(CSV_TYPES, "Upload a CSV with a column of reviews to score them.",
                                max_bytes=MAX_CSV_BYTES)
        ui.sample_download_button(sentiment.SAMPLE_CSV, "Download a sample CSV")
    else:
        try:
            table, encoding, columns = sentiment.read_reviews(upload.getvalue())
        except sentiment.TextInputError as error:
            st.error(str(error), icon=":material/error:")
        else:
            if len(table) > MAX_CSV_ROWS:
                st.warning(f"The file has more than {MAX_CSV_ROWS:,} rows; only the first "
                           f"{MAX_CSV_ROWS:,} are scored.", icon=":material/content_cut:")
            if encoding not in csvfiles.UNICODE_ENCODINGS:
                st.info(f"The file is not UTF-8; it was read as {encoding}.", icon=":material/translate:")
            column = st.selectbox("Text column", columns, key="sentiment_column")
            bar = st.progress(0.0, text="Scoring…")
            scored = classifier.score_table(table, column, lambda done: bar.progress(done, text=f"Scoring… {done:.0%}"))
            bar.empty()
            st.success(f"Scored {scored.scored:,} of {len(scored.table):,} rows with "
                       f"{ui.format_label(format_name)}.", icon=":material/check:")
            if scored.refused:
                st.warning(f"{scored.refused} rows don't read like English movie reviews, so they get no label "
                           f"(their note says so).", icon=":material/block:")
            if scored.skipped:
                st.warning(f"{scored.skipped} rows could not be scored (see the note column); the others are "
                           "unaffected.", icon=":material/warning:")
            st.dataframe(scored.table, hide_index=True, column_config={
                "probability_positive": st.column_config.ProgressColumn(
                    "probability positive (calibrated)", format="%.2f", min_value=0.0, max_value=1.0)})
            st.caption(f"Probabilities are calibrated (temperature T = {classifier.temperature:.3g}, see "
                       "“How this model works”); the downloaded file's column says so in its name.")
            ui.csv_download_button("Download the scored CSV", scored.table.rename(columns=CALIBRATED_COLUMN),
                                   "scored_reviews.csv", key="sentiment_download")

ui.how_this_model_works(entry)
