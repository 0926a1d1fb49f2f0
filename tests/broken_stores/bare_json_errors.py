"""Broken store: the JSON parser's own words as the error of an unreadable job.

Defect: when neither copy can be read, ``get_job`` answers with the exception of parsing the
job file (``JSONDecodeError: Expecting value: line 1 column 1 (char 0)``): true, but it names
neither the job nor what happened to its file, and nobody can act on it.

Caught by: C5 (``clear_errors``), with both copies of a job damaged (damage-both).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from base import BaseStore


class BareJsonErrors(BaseStore):
    def _fallback(self, job_id: str, main: str) -> dict[str, Any] | None:
        answer = super()._fallback(job_id, main)
        if isinstance(answer, dict) and answer.get("status") == "unknown":
            return {"id": job_id, "status": "unknown", "error": self._parser_error(job_id)}
        return answer

    def _parser_error(self, job_id: str) -> str:
        try:
            with open(self._main(job_id), "rb") as file:
                json.loads(file.read().partition(b"\n")[2])
        except Exception as error:
            return f"{type(error).__name__}: {error}"  # DEFECT: the parser's words, nothing else
        return "JSONDecodeError: Expecting value: line 1 column 1 (char 0)"


def make_store(root: Path) -> BareJsonErrors:
    return BareJsonErrors(root)
