"""The service's pure parts: strict CSV parsing, enrichment, formula escaping, result files.

Fast tests on literal inputs, plus a Hypothesis property: whatever ``csv.writer`` writes, the
enrichment returns one row per input row with every original cell intact (modulo the escape).
"""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from durable_jobs.service.enrich import (
    ENRICHED_COLUMNS,
    FORMULA_PREFIXES,
    CsvFormatError,
    CsvRecords,
    enrich_csv,
    escape_cell,
)
from durable_jobs.service.results import remove_orphaned_temp_files, write_durably


def crc(*cells: str) -> str:
    """The checksum column, computed here from its definition: CRC-32 of cells joined by 0x1f."""
    return f"{zlib.crc32(chr(0x1F).join(cells).encode()):08x}"


def enriched(data: bytes) -> list[list[str]]:
    return list(enrich_csv(data))


def format_error(data: bytes) -> CsvFormatError:
    with pytest.raises(CsvFormatError) as caught:
        enriched(data)
    return caught.value


# ---------------------------------------------------------------- enrichment


def test_each_row_gets_its_number_filled_count_and_checksum() -> None:
    rows = enriched(b"name,city,age\r\nada,London,36\r\nbob,,\r\n")

    assert rows[0] == ["name", "city", "age", *ENRICHED_COLUMNS]
    assert rows[1] == ["ada", "London", "36", "1", "3", crc("ada", "London", "36")]
    assert rows[2] == ["bob", "", "", "2", "1", crc("bob", "", "")]


def test_cells_that_differ_only_in_splitting_have_different_checksums() -> None:
    one_cell = enriched(b'x,y\r\n"a,b",\r\n')[1][-1]
    two_cells = enriched(b"x,y\r\na,b\r\n")[1][-1]

    assert one_cell != two_cells


def test_line_endings_and_a_byte_order_mark_do_not_change_the_result() -> None:
    expected = enriched(b"a,b\r\n1,2\r\n3,4\r\n")

    assert enriched(b"a,b\n1,2\n3,4") == expected
    assert enriched(b"a,b\r1,2\r3,4\r") == expected
    assert enriched(b"\xef\xbb\xbfa,b\r\n1,2\r\n3,4\r\n") == expected


def test_blank_lines_are_skipped_and_not_counted() -> None:
    rows = enriched(b"a,b\n\n1,2\n\n\n3,4\n")

    assert [row[2] for row in rows[1:]] == ["1", "2"]


def test_a_header_without_rows_gives_a_header_without_rows() -> None:
    assert enriched(b"a,b\n") == [["a", "b", *ENRICHED_COLUMNS]]


def test_quoted_newlines_and_unicode_are_kept() -> None:
    rows = enriched('a,b\n"multi\r\nline","ünï ✓"\n'.encode())

    assert rows[1][:2] == ["multi\r\nline", "ünï ✓"]


def test_line_separators_that_are_not_csv_line_ends_stay_in_the_cell() -> None:
    # str.splitlines would break on these; a CSV reader must not.
    rows = enriched("a,b\nx\x1cy,p\u2028q\x85r\n".encode())

    assert rows[1][:2] == ["x\x1cy", "p\u2028q\x85r"]


def test_progress_reaches_one_when_every_byte_is_parsed() -> None:
    records = CsvRecords(b"a\n1\n2\n3\n")
    fractions = [records.fraction_read for _ in records]

    assert fractions == sorted(fractions)
    assert records.fraction_read == 1.0


# ---------------------------------------------------------------- refusing bad CSV


def test_a_row_with_the_wrong_number_of_fields_names_its_line() -> None:
    assert str(format_error(b"a,b\n1,2\n3\n")) == "line 3: expected 2 fields, got 1"
    assert str(format_error(b"a,b\n1,2,3\n")) == "line 2: expected 2 fields, got 3"


def test_a_multiline_record_is_reported_at_its_first_line() -> None:
    error = format_error(b'a,b\n"x\ny",2,3\n')

    assert error.line == 2
    assert "expected 2 fields, got 3" in str(error)


def test_text_after_a_closing_quote_names_its_line() -> None:
    error = format_error(b'a,b\n1,2\n3,"x"y\n')

    assert error.line == 3
    assert str(error).startswith("line 3: ")


def test_an_unclosed_quote_names_where_the_record_began() -> None:
    error = format_error(b'a,b\n1,"open\n2,3\n4,5\n')

    assert error.line == 4
    assert "unexpected end of data" in str(error)
    assert "starts on line 2" in str(error)


def test_bytes_that_are_not_utf8_name_their_line() -> None:
    error = format_error(b"a,b\n1,2\n3,\xe9t\xe9\n")

    assert error.line == 3
    assert "not valid UTF-8" in str(error)
    assert "0xe9" in str(error)


@pytest.mark.parametrize("data", [b"", b"\n", b"\r\n\r\n", b"\xef\xbb\xbf"])
def test_an_upload_without_a_header_is_an_empty_csv(data: bytes) -> None:
    error = format_error(data)

    assert error.line is None
    assert str(error).startswith("empty CSV")


# ---------------------------------------------------------------- formula escaping


@pytest.mark.parametrize("prefix", FORMULA_PREFIXES)
def test_each_dangerous_start_is_escaped_with_a_quote(prefix: str) -> None:
    cell = f"{prefix}HYPERLINK(1)"

    assert escape_cell(cell) == "'" + cell


@pytest.mark.parametrize("cell", ["", "plain", "a=b", "1-2", " =1", "'=1", "ünï", "12.5"])
def test_ordinary_cells_are_untouched(cell: str) -> None:
    assert escape_cell(cell) == cell


def test_header_and_cells_are_escaped_but_checksums_use_the_original() -> None:
    rows = enriched(b"=name,b\n@x,-1\n")

    assert rows[0][:2] == ["'=name", "b"]
    assert rows[1][:2] == ["'@x", "'-1"]
    assert rows[1][-1] == crc("@x", "-1")


# ---------------------------------------------------------------- the property

# Lone surrogates (category Cs) cannot be encoded as UTF-8, so no upload can contain them.
cells = st.text(st.characters(exclude_categories=["Cs"]), max_size=12)


@st.composite
def tables(draw: st.DrawFn) -> list[list[str]]:
    """A header and rows of one width, with any text (quotes, commas, newlines, NUL...)."""
    width = draw(st.integers(min_value=1, max_value=5))
    row = st.lists(cells, min_size=width, max_size=width)
    # No row becomes a blank line (which the parser skips): csv.writer writes a row of one
    # empty cell as "", so even 1-wide tables of empty cells keep every row.
    return draw(st.lists(row, min_size=1, max_size=12))


def unescape(cell: str) -> str:
    return cell[1:] if cell.startswith("'") and cell[1:].startswith(FORMULA_PREFIXES) else cell


@given(tables())
def test_every_row_comes_back_once_with_its_cells_intact(table: list[list[str]]) -> None:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(table)

    output = enriched(buffer.getvalue().encode("utf-8"))

    assert len(output) == len(table)
    width = len(table[0])
    for number, (original, result) in enumerate(zip(table, output, strict=True)):
        assert [unescape(cell) for cell in result[:width]] == original
        assert all(not cell.startswith(FORMULA_PREFIXES) for cell in result[:width])
        if number:
            assert result[width : width + 2] == [str(number), str(sum(1 for c in original if c))]


# ---------------------------------------------------------------- result files


def test_a_result_appears_complete_or_not_at_all(tmp_path: Path) -> None:
    with write_durably(tmp_path, "a.csv") as stream:
        stream.write("x\r\n")
    with pytest.raises(RuntimeError), write_durably(tmp_path, "b.csv") as stream:
        stream.write("half")
        raise RuntimeError("the job failed midway")

    assert (tmp_path / "a.csv").read_bytes() == b"x\r\n"
    assert sorted(os.listdir(tmp_path)) == ["a.csv"]  # no b.csv, no temp file left behind


def test_temp_files_of_dead_processes_are_removed_and_live_ones_kept(tmp_path: Path) -> None:
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        check=True,
        text=True,
    )
    dead_pid = int(dead.stdout)
    live_pid = os.getppid()  # the process that started pytest: alive for the whole run
    names = {
        "dead": f".j1.csv.{dead_pid}.abc123.tmp",
        "live": f".j2.csv.{live_pid}.abc123.tmp",
        "result": "j3.csv",
        "other": ".notes.tmp",
    }
    for name in names.values():
        (tmp_path / name).write_text("x")

    removed = remove_orphaned_temp_files(tmp_path)

    assert removed == [names["dead"]]
    assert sorted(os.listdir(tmp_path)) == sorted([names["live"], names["result"], names["other"]])


def test_a_temp_file_whose_writer_holds_its_lock_is_kept_whatever_its_pid_says(
    tmp_path: Path,
) -> None:
    # A writer in another pid namespace: its pid in the name is dead *here*, but it is alive.
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        check=True,
        text=True,
    )
    with write_durably(tmp_path, "j1.csv") as stream:
        stream.write("half a result")
        (temp,) = [name for name in os.listdir(tmp_path) if name.endswith(".tmp")]
        renamed = temp.replace(f".{os.getpid()}.", f".{int(dead.stdout)}.")
        os.rename(tmp_path / temp, tmp_path / renamed)
        assert remove_orphaned_temp_files(tmp_path) == []
        assert renamed in os.listdir(tmp_path)
        os.rename(tmp_path / renamed, tmp_path / temp)  # so the writer can finish
    assert (tmp_path / "j1.csv").read_text() == "half a result"
