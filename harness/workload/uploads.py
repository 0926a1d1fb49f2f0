"""The CSV files a service run uploads, and the download the built-in service must answer for each.

Uploads are drawn from the run's seed: a header and a few to a few dozen rows, with the cells a
CSV parser gets wrong (commas, quotes, a line break inside quotes, non-ASCII letters, empty
cells, a formula-like ``=1+1``), always valid UTF-8 CSV with one field count::

    >>> import random
    >>> upload = make_upload(random.Random(1), 3)
    >>> upload.data.count(b"\\r\\n") >= 4, upload.filename.endswith(".csv")
    (True, True)

:func:`expected_download` is what the built-in service (:mod:`durable_jobs.service`) serves at
``GET /jobs/{id}/download`` for an upload, computed with the service's own enrichment exactly
as its worker writes it. It is there to check that a crash never leaves a done job with a result
that is not its own (torn, empty, another job's); the enrichment's own correctness is its unit
tests' to judge.
"""

from __future__ import annotations

import csv
import hashlib
import io
import random
from dataclasses import dataclass

from durable_jobs.service.enrich import CsvRecords, enrich_records

HEADER = ["name", "city", "note", "amount"]
NAMES = ["ada", "grace", "Zoë", "Łukasz", "Søren", "Ngozi", "李雷", "o'brien"]
NOTES = ["", "plain", 'say "hi"', "a,b", "line\nbreak", "=1+1", "-5", "  spaced  "]


@dataclass(frozen=True)
class Upload:
    filename: str
    data: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def make_upload(rng: random.Random, rows: int) -> Upload:
    """A seeded CSV upload of ``rows`` data rows."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(HEADER)
    for number in range(rows):
        writer.writerow(
            [
                rng.choice(NAMES),
                rng.choice(["London", "Lagos", "Kraków", "", "São Paulo"]),
                rng.choice(NOTES),
                str(rng.randint(-1000, 100_000) if number % 7 else rng.random()),
            ]
        )
    return Upload(f"upload-{rng.randrange(16**8):08x}.csv", buffer.getvalue().encode("utf-8"))


def expected_download(data: bytes) -> bytes:
    """The bytes the built-in service serves for the upload ``data`` once its job is done."""
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    for row in enrich_records(CsvRecords(data)):
        writer.writerow(row)
    return out.getvalue().encode("utf-8")
