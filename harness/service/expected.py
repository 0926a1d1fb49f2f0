"""What the built-in service must serve for each job: the enrichment of its upload, byte for byte.

The clients keep every CSV they upload under ``uploads/<sha256>.csv`` of the run folder, and each
accepted submit names its upload's hash; so after the main phase the runner knows, for every
accepted job, exactly which bytes the built-in service must serve at its download
(:func:`harness.workload.uploads.expected_download`), and records it as a ``runner`` event
``expected`` that the download checker compares with (C4). This checks that a crash never
leaves a done job with a result that is not its own (torn, empty, another job's), not the
enrichment's own correctness, which the service's unit tests own.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from harness.history.log import OK, HistoryLog, join_operations, merge_histories
from harness.workload.uploads import expected_download


def accepted_uploads(histories: Path) -> dict[str, str]:
    """Job id -> the sha256 of its upload, for every submit the service accepted."""
    records = merge_histories(sorted(histories.glob("submitter-*.jsonl")))
    found: dict[str, str] = {}
    for op in join_operations(records):
        if op.f != "submit" or op.type != OK or not isinstance(op.result, dict):
            continue
        job_id, upload = op.result.get("id"), (op.value or {}).get("upload")
        if job_id and upload:
            found[str(job_id)] = str(upload)
    return found


def record_expected(log: HistoryLog, histories: Path, uploads: Path) -> int:
    """One ``expected`` event per accepted job whose upload was kept; how many were recorded."""
    recorded = 0
    for job_id, upload in sorted(accepted_uploads(histories).items()):
        path = uploads / f"{upload}.csv"
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            continue  # the client kept no copy (a run saved before uploads were kept)
        if hashlib.sha256(data).hexdigest() != upload:
            continue  # not the bytes that were sent: judge nothing rather than the wrong thing
        log.event(
            "expected",
            job_id,
            {"sha256": hashlib.sha256(expected_download(data)).hexdigest()},
            kind=OK,
        )
        recorded += 1
    return recorded
