"""The Sentiment page's check that a text reads like an English movie review, on the committed word list and
manifest: reviews in other languages, gibberish, code, web addresses, JSON, emoji and digits are refused ("This
doesn't read like an English movie review"), short real reviews ("Loved it.") are still scored, and the manifest's
figures are what the committed texts give and meet the targets. The check reads the text alone, never the model."""

import csv

import numpy as np
import pandas as pd
import pytest

from showcase import datasets, paths, runtime
from showcase import manifest as manifest_lib
from showcase.tasks import sentiment

NOT_ENGLISH = paths.SAMPLES_DIR / "sentiment" / "not_english.csv"
# Written after the check was designed and fitted, so never looked at while choosing its signals: a held-out set.
MORE_NOT_ENGLISH = [
    "Elokuva oli todella hyvä, näyttelijät olivat loistavia ja tarina kosketti minua syvästi.",
    "Nagyon jó film volt, a színészek kiválóan játszottak, mindenkinek ajánlom.",
    "Bộ phim này rất hay, diễn viên diễn xuất tuyệt vời và cốt truyện hấp dẫn.",
    "Filmnya sangat bagus, para pemainnya berakting dengan baik dan ceritanya menarik sekali.",
    "Un film minunat, cu actori excelenți și o poveste care te ține cu sufletul la gură.",
    "Det var en rigtig god film med fantastiske skuespillere, jeg kan varmt anbefale den.",
    "הסרט היה מצוין, השחקנים נהדרים והעלילה מרתקת מההתחלה ועד הסוף.",
    "หนังเรื่องนี้สนุกมาก นักแสดงเล่นดีและเนื้อเรื่องน่าติดตาม",
    "Filamu hii ni nzuri sana, waigizaji wamecheza vizuri na hadithi inavutia.",
    "Ein echt mieser Streifen, die Story ist Quatsch und die Effekte sind billig gemacht.",
    "La película no me gustó nada, los personajes son planos y el guion es muy flojo.",
    "J'ai adoré ce film du début à la fin, les acteurs sont formidables.",
    "fn main() { let v: Vec<i32> = (0..10).collect(); println!(\"{:?}\", v); }",
    "#!/bin/bash\nfor f in *.txt; do wc -l \"$f\"; done",
    "name: review-bot\nversion: 1.2.0\ndependencies:\n  - numpy>=2.0\n  - pandas",
    "id,title,rating\n1,Heat,8.3\n2,Alien,8.5",
    "d41d8cd98f00b204e9800998ecf8427e",
    "contact: reviews@example.org, https://example.org/contact?from=imdb",
    "🎥🎥 5/5 ⭐⭐⭐⭐⭐ 2024",
    "zxqv plorpt wunkeldorf sprindle quoxx blemph argh zzzt frimble",
]
SHORT_ENGLISH = [
    "Loved it.", "Terrible film.", "Not bad at all.", "Great movie!", "Boring.", "A masterpiece.", "Meh.",
    "Worst movie ever, don't waste your money.", "I laughed, I cried, I loved it.", "Not my cup of tea.",
    "Overrated.", "Brilliant acting by DiCaprio.", "LOVED IT!!!", "Loved it 😍😍😍", "Wow, just wow.",
    "So funny, we watched it twice.", "The ending was a letdown.", "Two hours of my life I won't get back.",
    "Surprisingly good for a sequel.", "Five stars, would watch again.",
]


def not_english_texts() -> dict[str, list[str]]:
    kinds: dict[str, list[str]] = {}
    with NOT_ENGLISH.open(encoding="utf-8", newline="") as file:
        for row in csv.DictReader(file):
            kinds.setdefault(row["kind"], []).append(row["text"])
    return kinds


@pytest.fixture(scope="module")
def entry():
    return manifest_lib.model_entry("sentiment")


@pytest.fixture(scope="module")
def check(entry):
    return sentiment.english_review_check(entry)


@pytest.fixture(scope="module")
def classifier(entry):
    predictor = runtime.load("sentiment", "onnx")
    return sentiment.SentimentClassifier(predictor, sentiment.load_vocabulary(entry), entry)


def test_the_written_set_has_at_least_forty_texts_of_many_kinds():
    kinds = not_english_texts()
    assert sum(map(len, kinds.values())) >= 40 and len(kinds) >= 20
    assert {"french", "german", "chinese", "russian", "gibberish", "code", "url", "emoji", "digits", "json"} <= set(kinds)


def test_at_least_ninety_percent_of_the_written_set_is_refused(check):
    texts = [text for texts in not_english_texts().values() for text in texts]
    answered = [text for text in texts if check.check(text).in_distribution]
    assert len(texts) >= 40 and len(answered) <= 0.10 * len(texts), answered


def test_at_least_ninety_percent_of_texts_written_after_the_fit_are_refused(check):
    answered = [text for text in MORE_NOT_ENGLISH if check.check(text).in_distribution]
    assert len(MORE_NOT_ENGLISH) >= 20 and len(answered) <= 0.10 * len(MORE_NOT_ENGLISH), answered


@pytest.mark.parametrize("text", SHORT_ENGLISH)
def test_a_short_real_review_is_still_scored(check, text):
    result = check.check(text)
    assert result.in_distribution, (text, check.surprises(text))
    assert result.reason == "" and result.score <= result.threshold


def test_a_refused_review_has_no_answer_and_says_why(classifier):
    result = classifier.score("Ce film est une pure merveille, les acteurs sont excellents et la mise en scène est "
                              "très soignée.")
    assert not result.in_distribution and result.answer is None
    assert result.reason == sentiment.OOD_REASON == "This doesn't read like an English movie review."
    assert result.ood.score > result.ood.threshold
    english = classifier.score("Loved it.")
    assert english.in_distribution and english.answer == english.label == "positive"


def test_text_without_a_word_in_letters_is_refused(check):
    for text in ("1234 5678", "10/10", "😀🎬🍿", "+1 (555) 012-3456", "3.14159"):
        assert not check.check(text).in_distribution, text
        assert check.score(text) == float("inf")


def test_a_csv_marks_the_rows_that_are_not_english_reviews(classifier):
    table = pd.DataFrame({"review": ["A great, moving film with a wonderful cast.",
                                     "Dieser Film ist wirklich großartig, die Schauspieler sind hervorragend.",
                                     "", "https://www.imdb.com/title/tt0111161/"]})
    scored = classifier.score_table(table, "review")
    assert list(scored.table["label"]) == ["positive", "", "", ""]
    assert scored.refused == 2 and scored.skipped == 1 and scored.scored == 1
    assert list(scored.table["note"].iloc[[1, 3]]) == [sentiment.OOD_REASON.rstrip(".")] * 2
    assert scored.table["probability_positive"].iloc[[1, 3]].isna().all()


def test_the_manifest_records_what_the_committed_texts_give(entry, check):
    recorded = entry["ood"]["figures"]["answered_by_kind"]
    for kind, texts in not_english_texts().items():
        measured = np.mean([check.check(text).in_distribution for text in texts])
        assert measured == pytest.approx(recorded[kind], abs=1e-4), kind
    assert entry["ood"]["evaluation_set"]["n"] == sum(map(len, not_english_texts().values()))


def test_the_recorded_figures_meet_the_targets(entry):
    record = entry["ood"]
    assert record["figures"]["all"]["coverage"] >= 0.995  # IMDB test reviews still scored
    assert record["figures"]["all"]["n_in"] == record["in_distribution"]["n"] >= 24_996
    assert record["validation"]["coverage"] >= 0.997 and record["validation"]["n"] == 2500
    assert record["figures"]["all"]["ood_answered"] <= 0.10  # at least 90% of the written set refused
    served = record["comparison"]["methods"][record["comparison"]["served"]]
    assert served["auroc"] == pytest.approx(record["figures"]["all"]["auroc"])


def test_the_word_list_matches_the_manifest_and_a_changed_one_is_refused(entry, check):
    record = entry["ood"]["artifact"]
    assert manifest_lib.verify_artifact(record) is None and record["bytes"] < 1_000_000
    assert len(check.english_words) == entry["ood"]["word_list"]["words"]
    assert {"the", "movie", "loved", "terrible", "don't"} <= check.english_words
    tampered = dict(entry, ood=dict(entry["ood"], artifact=dict(record, sha256="0" * 64)))
    with pytest.raises(runtime.ArtifactError, match="fit_ood.py sentiment"):
        sentiment.english_review_check(tampered)


def test_without_an_ood_record_every_text_is_scored(entry):
    unchecked = {key: value for key, value in entry.items() if key != "ood"}
    assert sentiment.english_review_check(unchecked) is None
    assert sentiment.english_check("asdf qwer zxcv", None).in_distribution


@pytest.mark.shared_data
def test_imdb_test_reviews_are_still_scored(entry, check):
    path = datasets.local_copy(datasets.IMDB)
    if path is None:
        pytest.skip(f"The IMDB reviews are not in {paths.SHARED_DIR}")
    reviews = datasets.imdb(path)["test"][0]
    answered = np.mean([check.check(review).in_distribution for review in reviews])
    assert answered >= 0.995
    assert answered == pytest.approx(entry["ood"]["figures"]["all"]["coverage"], abs=1e-4)
