"""CSV files in and out of the app: one reader for every uploaded CSV, one writer for every CSV download.

Reading: ``read_table`` decodes the bytes (``decode_text``: UTF-8 with or without a byte order mark, UTF-16
with one, then Windows-1252), refuses binary data, picks the delimiter from the header row and returns a
table of strings. Nothing in the file is evaluated; callers convert the columns they need.

Writing: ``safe_csv_bytes`` writes a table as UTF-8 CSV with every text cell that a spreadsheet could run as
a formula (it starts with =, +, -, @, a tab or a carriage return) prefixed with a single quote, as the OWASP
guidance on CSV injection recommends.
"""

from __future__ import annotations

import csv
import io
import re
import warnings

import pandas as pd

# Tried in order. UTF-16 only with a byte order mark: without one it is a guess that decodes almost anything.
# latin-1 maps every byte, so it is the last resort for the few bytes Windows-1252 leaves undefined.
ENCODINGS = ("utf-8-sig", "utf-16", "cp1252", "latin-1")
UNICODE_ENCODINGS = ("utf-8-sig", "utf-16")
DELIMITERS = ",;\t|"
# Rows read to settle the delimiter when the header alone does not.
SNIFF_CHARACTERS = 20_000
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
# Leading spaces or line breaks do not stop every spreadsheet from reading a formula behind them.
_FORMULA_START = re.compile(r"^[\t\r]|^\s*[=+\-@]")
SAFE_DOWNLOAD_NOTE = (
    "Cells that start with =, +, -, @, a tab or a carriage return are written with a leading ' so that "
    "spreadsheets show them as text instead of running them as formulas."
)


class CsvError(ValueError):
    """Bytes that cannot be read as a CSV table; the message says why and what to do."""


# Characters that start Markdown (or Streamlit's :colour[...] and $LaTeX$) where pages show a message.
_MARKDOWN = re.compile(r"([\\`*_\[\]<>$~|#])")
# Where Markdown would turn an address into a link by itself (http://, www., name@host). Its autolinks are
# found in the text after escapes are resolved, so an invisible word joiner goes there instead of a backslash.
_LINK_STARTS = re.compile(r"(?<=[a-z]:)(?=//)|(?<=www)(?=\.)|(?<=@)", re.IGNORECASE)
WORD_JOINER = "\u2060"


def shown(value: object, limit: int = 40) -> str:
    """A visitor's value quoted for a message: ``repr`` cut to ``limit`` characters, Markdown escaped.

    Pages show messages with st.error and st.warning, which read Markdown: the visitor's value is shown
    as typed, never as a link, emphasis or an HTML tag.
    """
    text = repr(value)
    text = text if len(text) <= limit else text[: limit - 1] + "…"
    return _LINK_STARTS.sub(WORD_JOINER, _MARKDOWN.sub(r"\\\1", text))


# ## Reading


def decode_text(data: bytes) -> tuple[str, str]:
    """(text, encoding used) for uploaded bytes; CsvError for binary data."""
    for encoding in ENCODINGS:
        if encoding == "utf-16" and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
            continue
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if "\x00" in text:
            break
        return text, encoding
    raise CsvError("This is not a text CSV file (it contains binary data). Export your sheet as CSV (comma, "
                   "semicolon or tab separated; UTF-8, UTF-16 or Windows-1252) and upload that.")


def _header_fields(text: str, delimiter: str) -> int:
    # The first line ends at any line break a spreadsheet writes, a lone carriage return included.
    first_line = re.split(r"\r\n|\r|\n", text, maxsplit=1)[0]
    header = next(csv.reader(io.StringIO(first_line), delimiter=delimiter), [])
    return len(header)


def find_delimiter(text: str) -> str:
    """The delimiter that splits the header row, among , ; tab |; the sniffer decides between several."""
    splitting = [delimiter for delimiter in DELIMITERS if _header_fields(text, delimiter) > 1]
    if len(splitting) == 1:
        return splitting[0]
    try:
        return csv.Sniffer().sniff(text[:SNIFF_CHARACTERS], delimiters="".join(splitting) or DELIMITERS).delimiter
    except csv.Error:
        return splitting[0] if splitting else ","


def read_table(data: bytes, max_rows: int) -> tuple[pd.DataFrame, str, str]:
    """(table of strings, encoding, delimiter) from uploaded bytes; at most ``max_rows + 1`` rows are read.

    Reading one row more than the limit lets the caller tell a file at the limit from a longer one.
    """
    if not data.strip():
        raise CsvError("The file is empty.")
    text, encoding = decode_text(data)
    if not text.strip():
        raise CsvError("The file is empty.")
    delimiter = find_delimiter(text)
    try:
        with warnings.catch_warnings():
            # pandas only warns when a row has more fields than the header, and drops the extra ones.
            warnings.simplefilter("error", pd.errors.ParserWarning)
            table = pd.read_csv(io.StringIO(text), sep=delimiter, dtype=str, keep_default_na=False,
                                nrows=max_rows + 1, on_bad_lines="error", index_col=False, engine="c")
    except pd.errors.ParserWarning:
        raise CsvError(f"Some rows have more fields than the header (separator {delimiter!r}). Put cells that "
                       "contain the separator in double quotes, as spreadsheet exports do.") from None
    except pd.errors.EmptyDataError:
        raise CsvError("The file has no header row.") from None
    except (pd.errors.ParserError, csv.Error, ValueError, OverflowError) as error:
        reason = (str(error).strip().splitlines() or ["unknown error"])[0][:200]
        raise CsvError(f"The file could not be read as CSV ({reason}). Check that it is a comma, semicolon or "
                       "tab separated file with a header row.") from None
    table.columns = [str(column).strip() for column in table.columns]
    return table, encoding, delimiter


# ## Writing


def neutralise_cell(value: object) -> object:
    """A text cell a spreadsheet would run as a formula gets a leading ' ; numbers and other text are unchanged."""
    if isinstance(value, str) and _FORMULA_START.match(value):
        return "'" + value
    return value


def safe_csv_bytes(table: pd.DataFrame) -> bytes:
    """The table as UTF-8 CSV, every text cell and header neutralised with ``neutralise_cell``.

    Rows end in CRLF, as RFC 4180 says; then the csv writer quotes every cell holding a line break, a lone
    carriage return included (pandas' writer leaves that one bare, which splits the row in some readers).
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([neutralise_cell(str(column)) for column in table.columns])
    for row in table.itertuples(index=False, name=None):
        writer.writerow(["" if _is_missing(value) else neutralise_cell(value) for value in row])
    return buffer.getvalue().encode("utf-8")


def _is_missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and value != value) or value is pd.NA or value is pd.NaT
