"""The shared CSV reader (encodings, delimiters, binary data) and the safe writer behind every CSV download."""

import csv
import io

import pandas as pd
import pytest

from showcase import csvfiles

HOSTILE_CELLS = ["=cmd|' /C calc'!A0", "+1+1+cmd|' /C calc'!A0", "-2+3+cmd|' /C calc'!A0", "@SUM(A1:A2)",
                 "\t=1+1", "\r=1+1", "  =1+1", "\n=HYPERLINK(\"http://example.com\")"]


def read_back(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))


def test_every_formula_like_cell_is_written_with_a_leading_quote():
    table = pd.DataFrame({"review": HOSTILE_CELLS, "label": ["positive"] * len(HOSTILE_CELLS)})
    rows = read_back(csvfiles.safe_csv_bytes(table))
    assert [row[0] for row in rows[1:]] == ["'" + cell for cell in HOSTILE_CELLS]
    assert all(row[1] == "positive" for row in rows[1:])


def test_ordinary_cells_numbers_and_headers_are_kept():
    table = pd.DataFrame({"=header": ["a good film", "1+1", "", "don't"], "probability": [0.5, -0.25, 1.0, 0.0]})
    rows = read_back(csvfiles.safe_csv_bytes(table))
    assert rows[0] == ["'=header", "probability"]
    assert [row[0] for row in rows[1:]] == ["a good film", "1+1", "", "don't"]
    assert [float(row[1]) for row in rows[1:]] == [0.5, -0.25, 1.0, 0.0]


def test_text_that_looks_negative_is_neutralised_too():
    rows = read_back(csvfiles.safe_csv_bytes(pd.DataFrame({"note": ["-5", "+33 1 23"]})))
    assert [row[0] for row in rows[1:]] == ["'-5", "'+33 1 23"]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "cp1252"])
def test_text_is_decoded_in_every_supported_encoding(encoding):
    text = "review\nTrès bon film — génial\n"
    decoded, used = csvfiles.decode_text(text.encode(encoding))
    assert decoded.lstrip("\ufeff") == text
    assert used == {"utf-8": "utf-8-sig"}.get(encoding, encoding)


def test_binary_data_is_refused():
    with pytest.raises(csvfiles.CsvError, match="binary data"):
        csvfiles.decode_text(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")


@pytest.mark.parametrize("text, delimiter", [
    ("Date,Close\n2020-01-02,100.5\n", ","),
    ("Datum;Schluss\n02.01.2020;\"100,5\"\n", ";"),
    ("Datum;Schluss\n02.01.2020;100,5\n", ";"),
    ("Date\tClose\n2020-01-02\t100.5\n", "\t"),
    ("review\nGood, but long\n", ","),
])
def test_the_delimiter_comes_from_the_header(text, delimiter):
    assert csvfiles.find_delimiter(text) == delimiter


def test_a_semicolon_file_with_decimal_commas_keeps_them_in_one_cell():
    table, _, delimiter = csvfiles.read_table("Datum;Schluss\n02.01.2020;100,5\n".encode(), max_rows=10)
    assert delimiter == ";" and table.to_dict("records") == [{"Datum": "02.01.2020", "Schluss": "100,5"}]


@pytest.mark.parametrize("value, expected", [
    ("n/a", "'n/a'"),
    ("**7** [x](y)", r"'\*\*7\*\* \[x\](y)'"),
    ("<script>", r"'\<script\>'"),
    ("https://e.vil", "'https:\u2060//e.vil'"),
    ("WWW.e.vil", "'WWW\u2060.e.vil'"),
    ("me@e.vil", "'me@\u2060e.vil'"),
    ("9" * 5000, "'" + "9" * 38 + "…"),
])
def test_a_visitors_value_is_quoted_short_and_inert(value, expected):
    assert csvfiles.shown(value) == expected
