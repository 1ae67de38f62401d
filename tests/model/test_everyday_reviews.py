"""Short, everyday English reviews, written for this test (not from IMDB): the served model must get at least 90%
of them right in every format, as a visitor typing a line or two would see it."""

import pytest

from showcase import manifest as manifest_lib
from showcase import runtime
from showcase.tasks import sentiment

ENTRY = manifest_lib.model_entry("sentiment")

POSITIVE = [
    "Loved it.",
    "What a great movie!",
    "Best film I've seen all year.",
    "Really enjoyed this one, the cast is fantastic.",
    "A beautiful, moving story. I cried at the end.",
    "Funny, smart and surprisingly touching.",
    "The kids loved it and so did I.",
    "Absolutely brilliant from start to finish.",
    "I would happily watch it again tomorrow.",
    "Great acting, great music, great fun.",
    "A wonderful little film that deserves a bigger audience.",
    "It kept me on the edge of my seat the whole time.",
    "Highly recommended.",
    "Such a charming movie, I smiled all the way through.",
    "The best superhero movie in years.",
    "A masterpiece. Go see it.",
    "Not perfect, but I had a really good time.",
    "The performances are superb and the script is clever.",
    "I didn't expect much, but it was excellent.",
    "Gorgeous to look at and a joy to watch.",
    "A fun, feel-good film for the whole family.",
    "One of my all-time favourites.",
    "Exciting, well made and never boring.",
    "This movie made my day.",
]
NEGATIVE = [
    "Hated it.",
    "What a waste of time.",
    "Worst film I've seen all year.",
    "Boring, slow and far too long.",
    "The acting was terrible and the plot made no sense.",
    "I fell asleep halfway through.",
    "Don't bother with this one.",
    "A complete mess from start to finish.",
    "I want my money back.",
    "Awful dialogue, awful acting, awful everything.",
    "Not funny at all.",
    "Predictable and dull.",
    "I walked out after an hour.",
    "The story was stupid and the ending was even worse.",
    "Very disappointing, the trailer was better than the movie.",
    "A lazy, pointless sequel.",
    "Painful to watch.",
    "The worst movie I have ever seen.",
    "Poorly written and badly directed.",
    "It was not good.",
    "Nothing happens for two hours.",
    "Cheap effects and a terrible script.",
    "I really wanted to like it, but it was just bad.",
    "Save yourself the trouble and skip it.",
]


@pytest.fixture(scope="module")
def vocabulary():
    return sentiment.load_vocabulary(ENTRY)


def test_the_set_is_balanced_and_large_enough():
    assert len(POSITIVE) == len(NEGATIVE) and len(POSITIVE) + len(NEGATIVE) >= 40


@pytest.mark.parametrize("format_name", list(ENTRY["artifacts"]))
def test_at_least_90_percent_of_everyday_reviews_are_right(vocabulary, format_name):
    classifier = sentiment.SentimentClassifier(runtime.load("sentiment", format_name), vocabulary, ENTRY)
    wrong = [review for label, reviews in (("positive", POSITIVE), ("negative", NEGATIVE)) for review in reviews
             if classifier.score(review).label != label]
    accuracy = 1 - len(wrong) / (len(POSITIVE) + len(NEGATIVE))
    assert accuracy >= 0.90, (accuracy, wrong)
