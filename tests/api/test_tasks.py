"""The task routes give what the pages' serving classes give in-process, field for field."""

import numpy as np

from showcase import calibration, paths, runtime
from showcase import manifest as manifest_lib
from showcase.api import fastest_format
from showcase.api.serving import read_benchmarks
from showcase.api.tasks import to_json
from showcase.imaging import read_image
from showcase.tasks import anomaly, digits, flowers, forecast, gan, sentiment

DIGIT_PNG = paths.SAMPLES_DIR / "digits" / "7_mnist_test_6586.png"


def served(name: str):
    entry = manifest_lib.model_entry(name)
    format_name = fastest_format(entry, read_benchmarks())
    return entry, format_name, runtime.load(name, format_name)


def multipart(data: bytes, name: str = "upload.png") -> tuple[bytes, dict]:
    body = (b"--xyz\r\nContent-Disposition: form-data; name=\"file\"; filename=\"" + name.encode()
            + b"\"\r\nContent-Type: application/octet-stream\r\n\r\n" + data + b"\r\n--xyz--\r\n")
    return body, {"Content-Type": "multipart/form-data; boundary=xyz"}


def is_numeric(value) -> bool:
    try:
        return np.asarray(value, dtype=float) is not None
    except (TypeError, ValueError):
        return False


def assert_same(api_result: dict, local_result, skip=("milliseconds",)):
    local = to_json(local_result)
    for field, value in local.items():
        if field in skip:
            continue
        if isinstance(value, (list, float)) and is_numeric(value):
            np.testing.assert_allclose(np.asarray(api_result[field], dtype=float), np.asarray(value, dtype=float),
                                       rtol=1e-5, atol=1e-7, err_msg=field)
        else:
            assert api_result[field] == value, field


def test_digits_route_answers_as_the_digit_classifier(api):
    entry, format_name, predictor = served("digits")
    body, headers = multipart(DIGIT_PNG.read_bytes())
    answer = api.request("POST", "/v1/tasks/digits", body, headers).json()
    local = digits.DigitClassifier(predictor, entry).classify(read_image(DIGIT_PNG.read_bytes()))
    assert answer["format"] == format_name and answer["result"]["digit"] == 7
    assert_same(answer["result"], local)
    assert "confidence" in answer["result"]  # properties are serialized with the fields
    assert answer["result"]["in_distribution"] and answer["result"]["answer"] == "7"


def test_the_digit_routes_refuse_a_photo_that_is_not_a_digit(api):
    photo = (paths.SAMPLES_DIR / "ood" / "skimage_coffee.jpg").read_bytes()
    for name in ("digits", "anomaly"):
        result = api.request("POST", f"/v1/tasks/{name}", photo, {"Content-Type": "image/jpeg"}).json()["result"]
        assert not result["in_distribution"] and result["reason"] == digits.OOD_REASON, name
        assert result["ood"]["score"] > result["ood"]["threshold"], name
    assert result["anomaly"] and result["answer"] is None


def test_flowers_route_answers_as_the_flower_classifier(api):
    entry, _, predictor = served("flowers")
    photo = flowers.sample_photos()[0].read_bytes()
    answer = api.request("POST", "/v1/tasks/flowers", photo, {"Content-Type": "image/jpeg"}).json()
    local = flowers.FlowerClassifier(predictor, entry).classify(photo)
    assert_same(answer["result"], local, skip=("milliseconds", "view"))
    assert answer["result"]["view"]["shape"] == [224, 224, 3]


def test_anomaly_route_uses_the_formats_threshold(api):
    entry, format_name, predictor = served("anomaly")
    data = (anomaly.SAMPLE_DIR / "fashion_mnist_test_0.png").read_bytes()
    answer = api.request("POST", "/v1/tasks/anomaly?corruption=Inverted%20colours", data,
                         {"Content-Type": "image/png"}).json()
    local = anomaly.AnomalyDetector(predictor, entry).score(read_image(data), "Inverted colours")
    assert answer["result"]["threshold"] == anomaly.format_threshold(entry, format_name)
    assert_same(answer["result"], local)


def test_sentiment_routes_answer_as_the_sentiment_classifier(api):
    entry, _, predictor = served("sentiment")
    classifier = sentiment.SentimentClassifier(predictor, sentiment.load_vocabulary(entry), entry)
    text = "An awful, boring film. The acting was wooden."
    answer = api.request("POST", "/v1/tasks/sentiment", text.encode(), {"Content-Type": "text/plain"}).json()
    assert_same(answer["result"], classifier.score(text))
    table, _, columns = sentiment.read_reviews(sentiment.SAMPLE_CSV.read_bytes())
    scored = api.request("POST", "/v1/tasks/sentiment/csv", sentiment.SAMPLE_CSV.read_bytes(),
                         {"Content-Type": "text/csv"}).json()["result"]
    local = classifier.score_table(table, columns[0])
    assert [row["probability_positive"] for row in scored["table"]] == to_json(list(local.table["probability_positive"]))


def test_the_sentiment_routes_refuse_text_that_is_not_an_english_review(api):
    text = "Dieser Film ist wirklich großartig, die Schauspieler sind hervorragend und die Geschichte fesselt."
    result = api.request("POST", "/v1/tasks/sentiment", text.encode(), {"Content-Type": "text/plain"}).json()["result"]
    assert not result["in_distribution"] and result["reason"] == sentiment.OOD_REASON and result["answer"] is None
    assert result["ood"]["score"] > result["ood"]["threshold"]
    english = api.request("POST", "/v1/tasks/sentiment", b"Loved it.", {"Content-Type": "text/plain"}).json()["result"]
    assert english["in_distribution"] and english["answer"] == "positive" and english["reason"] == ""
    data = "review\nLoved it.\n\"C'est un film magnifique, j'ai adoré les acteurs.\"\n".encode()
    scored = api.request("POST", "/v1/tasks/sentiment/csv", data, {"Content-Type": "text/csv"}).json()["result"]
    assert scored["refused"] == 1 and [row["label"] for row in scored["table"]] == ["positive", ""]


def test_forecast_route_answers_as_the_forecaster(api):
    entry, _, predictor = served("forecast")
    answer = api.get("/v1/tasks/forecast?ticker=IBM&horizon=5&backtest=true").json()
    local = forecast.Forecaster(predictor, entry).forecast(forecast.builtin_series("IBM"), 5, True,
                                                           forecast.TEST_START)
    np.testing.assert_allclose(answer["result"]["quantiles"], local.quantiles, rtol=1e-6)
    assert answer["result"]["dates"] == [day.strftime("%Y-%m-%d") for day in local.dates]
    assert answer["result"]["median"] == local.median and answer["result"]["baselines"] == local.baselines


def test_gan_route_draws_the_pages_grid(api):
    _, _, predictor = served("gan")
    reader = calibration.calibrated(runtime.load("digits", gan.READER_FORMAT), manifest_lib.model_entry("digits"))
    settings = {"digit": 3, "seed": 9, "size": 2}
    local = gan.DigitGenerator(predictor, reader).generate(settings)
    answer = api.get("/v1/tasks/gan?digit=3&seed=9&size=2")
    assert answer.headers["content-type"] == "image/png" and answer.body == local.grid_png()
    described = api.get("/v1/tasks/gan?digit=3&seed=9&size=2&output=json").json()
    assert described["captions"] == local.captions()
