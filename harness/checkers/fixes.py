"""What to do about a failure: one "likely cause -> fix" line per kind of failure a checker finds.

A verdict that says only *what* broke leaves the user to work out *why*. Each checker's failures
have a usual cause in a job store or service, and a usual fix; :func:`fix_for` gives that line
for a failed check, picking the most specific one its counts allow (a lease checker that found
live jobs failed points at the recovery, one that found jobs finished twice at the fencing).

The lines are advice, not proof: they name where to look first. They are printed under a failed
criterion in the terminal, in ``report.md`` and in the HTML report.

>>> print(fix_for(CheckResult("http_leases", False, "1 finished_twice", {"finished_twice": 1})))
a job finished twice -> fence every write of a worker with its lease token, so a rescued job's late writes are refused
"""

from __future__ import annotations

from harness.checkers.result import CheckResult

FIXES: dict[str, str] = {
    "never_raises": "a read raised on a damaged or half-written file -> catch the decode and OS "
    "errors in get_job, retry briefly, fall back to the backup, and return None rather than raise",
    "no_torn_read": "a read returned content no writer wrote in full -> write a temp file, fsync "
    "it, os.replace it over the job file, fsync the folder; and check what you read (a checksum), "
    "so a damaged file is read from the backup instead",
    "acknowledged_writes_survive": "a save returned before its data was safe -> fsync the temp "
    "file before os.replace, and give each writer its own temp name",
    "crash_consistency": "an acknowledged write was lost to the power cut -> fsync the folder after "
    "the rename (os.replace is durable only once the directory entry is)",
    "crash_backup": "the backup did not survive the power cut -> make the backup the same way as "
    "the job file (temp file, fsync, rename, folder fsync) before replacing the job file",
    "crash_litter": "a crash left temp files that no recovery removed -> have recover() delete "
    "the temp files of this store's naming scheme at start-up",
    "no_litter": "temp files were left behind -> remove the temp file on every error path, and "
    "have recover() delete stale ones",
    "no_lost_update": "concurrent read-modify-writes overwrote each other -> take a per-job lock "
    "(flock on a lock file, SELECT ... FOR UPDATE) around update_job's read and write",
    "terminal_state": "a dead worker's job stayed 'running' -> fail such jobs with a clear message "
    "in recover() at start-up, judging the owner by its lease or its pid on this host",
    "clear_errors": "an error message does not say what happened or what to do -> store a message "
    "that names the cause and the next step (e.g. 'abandoned: the worker died; resubmit')",
    "recovery_to_last_good": "a damaged job file was not recovered -> keep a backup of the last "
    "good version (.bak), and read it when the job file does not parse or fails its checksum",
    "recovery_spares_live_jobs": "recovery failed jobs whose worker was alive -> fail only jobs "
    "whose owner is dead (pid gone on this host, or its lease expired), never every running job",
    "no_descriptor_leak": "file descriptors leaked -> open every file in a with block, so error "
    "paths close it too",
    "performance_budget": "a store call went over its budget -> a slow save: count its fsyncs "
    "(jobharness bench shows where a save spends its time; one for the file and one for the "
    "folder is the floor); a slow read of a damaged file: fall back to the backup at once "
    "instead of sleeping between retries",
    "http_no_5xx": "a request was answered 500 -> catch store errors in the handler: answer the "
    "last good state, 404, or 503 with a message, never 500",
    "http_terminal": "a job never ended -> rescue a dead instance's jobs: a lease renewed by a "
    "heartbeat, and a rescuer that fails jobs whose lease expired",
    "http_download_stable": "a done job went back, or its download changed -> write the result "
    "file atomically before marking the job done, and never mark it done twice",
    "http_clear_errors": "an error answer does not say what happened or what to do -> put the "
    "cause and the next step in the job's error (or the response body)",
    "http_no_loss": "an accepted job was lost -> store the job durably (fsync the file and its "
    "folder, or commit) before answering 202",
    "http_last_good": "a damaged job was not served from its last good version -> keep a backup "
    "and fall back to it in GET /jobs/{id}",
    "http_leases": "a live instance's job was failed -> recovery and the rescuer must fail only "
    "jobs whose lease expired, never every job they find running",
    "http_crash_states": "an acknowledged job did not survive the power cut -> fsync the job file "
    "and its folder (or commit) before answering",
}

BY_COUNT: dict[tuple[str, str], str] = {
    ("http_leases", "finished_twice"): "a job finished twice -> fence every write of a worker "
    "with its lease token, so a rescued job's late writes are refused",
    ("http_leases", "rescue_late"): "a killed instance's jobs were not rescued in time -> run the "
    "rescuer every fraction of a lease on every instance, not only at start-up",
    ("http_crash_states", "answered_5xx"): "the service answered 5xx after the power cut -> read "
    "damaged or missing files as last good or 404, never 500",
    ("http_no_loss", "result_lost"): "a done job's result was lost -> fsync the result file "
    "before the job is marked done",
}


def fix_for(result: CheckResult) -> str | None:
    """The likely cause and fix of a failed check; None for one that did not fail."""
    if result.valid is not False:
        return None
    counts = result.counts or {}
    general = FIXES.get(result.name)
    for (name, key), line in BY_COUNT.items():
        if name == result.name and counts.get(key) and not _general_count(result, counts):
            return line
    return general


def _general_count(result: CheckResult, counts: dict[str, object]) -> bool:
    """Whether the failure the general line is about was found too (it then comes first)."""
    primary = {
        "http_leases": "failed_live",
        "http_crash_states": "lost_acknowledged",
        "http_no_loss": "lost",
    }
    key = primary.get(result.name)
    return bool(key and counts.get(key))
