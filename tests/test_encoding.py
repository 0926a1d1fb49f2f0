"""The job-file format: what it round-trips, what damage it detects, how it names the damage.

The promise under test is the strong one: *every* single-bit flip and *every* truncation of a
file the store wrote is detected, including flips that leave valid JSON, so damage is never served
as a job.
"""

from __future__ import annotations

import datetime
import json
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import flip_bit, jobs, json_values

from durable_jobs import InvalidJobError
from durable_jobs.encoding import (
    RECOVERED_KEY,
    DamagedFileError,
    decode_file,
    encode_file,
    encode_job_body,
    peek_version,
)

versions = st.integers(min_value=0, max_value=10**18)
small_jobs = jobs(max_fields=3)


def encoded(job: dict[str, Any], version: int = 7) -> bytes:
    return encode_file(encode_job_body(job), version)


@given(job=jobs(), version=versions)
def test_any_json_job_round_trips_with_its_version(job: dict[str, Any], version: int) -> None:
    decoded = decode_file(encoded(job, version))
    assert decoded.job == {key: value for key, value in job.items() if key != RECOVERED_KEY}
    assert decoded.version == version


@given(job=jobs(), version=versions)
def test_encoded_file_is_one_line_of_ascii_json(job: dict[str, Any], version: int) -> None:
    data = encoded(job, version)
    assert data.isascii()
    assert data.count(b"\n") == 1 and data.endswith(b"}\n")
    assert json.loads(data)["version"] == version  # jq and cat still work on a job file
    assert peek_version(data) == version


# No deadline: each example decodes the file once per bit (or per length), so its time grows
# with the job drawn, and a busy machine made the default 200 ms deadline fail (seen in CI).
@settings(max_examples=60, deadline=None)
@given(job=small_jobs, version=versions)
def test_every_single_bit_flip_is_detected(job: dict[str, Any], version: int) -> None:
    data = encoded(job, version)
    for bit in range(len(data) * 8):
        with pytest.raises(DamagedFileError):
            decode_file(flip_bit(data, bit))


@settings(max_examples=60, deadline=None)
@given(job=small_jobs, version=versions)
def test_every_truncation_is_detected(job: dict[str, Any], version: int) -> None:
    data = encoded(job, version)
    for length in range(len(data)):
        with pytest.raises(DamagedFileError):
            decode_file(data[:length])


def test_a_flip_that_leaves_valid_json_is_still_detected() -> None:
    data = encoded({"id": "a1", "progress": 7})
    bit = data.index(b"7}}") * 8  # '7' (0x37) -> '6' (0x36): still a number, still JSON
    flipped = flip_bit(data, bit)
    assert json.loads(flipped)["job"] == {"id": "a1", "progress": 6}
    with pytest.raises(DamagedFileError, match="checksum mismatch"):
        decode_file(flipped)


def test_a_flip_in_the_version_digits_is_detected() -> None:
    data = encoded({"id": "a1"}, version=13)
    flipped = flip_bit(data, data.index(b'"version":13') * 8 + len(b'"version":1') * 8)
    assert peek_version(flipped) == 12  # '3' (0x33) -> '2' (0x32)
    with pytest.raises(DamagedFileError, match="checksum mismatch"):
        decode_file(flipped)


def test_a_flip_that_makes_a_leading_zero_is_detected() -> None:
    data = encoded({"id": "a1"}, version=10)
    flipped = flip_bit(data, data.index(b'"version":10') * 8 + len(b'"version":') * 8)
    assert peek_version(flipped) == 0  # "10" -> "00": still digits, a different length as a number
    with pytest.raises(DamagedFileError, match="checksum mismatch"):
        decode_file(flipped)


def test_a_version_written_with_leading_zeros_is_not_trusted() -> None:
    body = encode_job_body({"id": "a1"})
    canonical = encode_file(body, 7)
    padded = canonical.replace(b'"version":7', b'"version":007')
    with pytest.raises(DamagedFileError, match="checksum mismatch"):
        decode_file(padded)


def test_a_cut_after_the_header_is_named_truncated() -> None:
    data = encoded({"id": "a1", "status": "running"})
    with pytest.raises(DamagedFileError, match="truncated"):
        decode_file(data[:-5])


@given(value=json_values())
def test_json_without_the_header_is_described_as_another_programs(value: Any) -> None:
    with pytest.raises(DamagedFileError, match="another program"):
        decode_file(json.dumps(value).encode())


def test_a_plain_job_dict_is_described_as_another_programs() -> None:
    with pytest.raises(DamagedFileError, match=r"JSON dict .*written by another program"):
        decode_file(b'{"id": "a1", "status": "done"}')


@given(size=st.integers(min_value=1, max_value=8192))
def test_a_zero_filled_file_is_described_as_zero_bytes(size: int) -> None:
    with pytest.raises(DamagedFileError, match=f"{size} zero bytes"):
        decode_file(b"\x00" * size)


def test_an_empty_file_is_described_as_empty() -> None:
    with pytest.raises(DamagedFileError, match=r"empty file \(0 bytes\)"):
        decode_file(b"")


@given(data=st.binary(min_size=1))
def test_arbitrary_bytes_are_never_decoded_as_a_job(data: bytes) -> None:
    with pytest.raises(DamagedFileError):
        decode_file(data)


def test_a_damaged_header_is_described_as_such() -> None:
    data = encoded({"id": "a1"})
    with pytest.raises(DamagedFileError, match="header"):
        decode_file(data[:30])


def circular_dict() -> dict[str, Any]:
    job: dict[str, Any] = {"id": "a1"}
    job["self"] = job
    return job


def circular_list() -> dict[str, Any]:
    items: list[Any] = []
    items.append(items)
    return {"items": items}


@pytest.mark.parametrize(
    "job",
    [
        pytest.param([("status", "done")], id="list"),
        pytest.param("status=done", id="str"),
        pytest.param(None, id="None"),
        pytest.param({"tags": {"a", "b"}}, id="set"),
        pytest.param({"at": datetime.datetime(2025, 12, 25)}, id="datetime"),
        pytest.param({"progress": math.nan}, id="nan"),
        pytest.param({"progress": math.inf}, id="infinity"),
        pytest.param({"data": b"bytes"}, id="bytes"),
        pytest.param({"obj": object()}, id="object"),
        pytest.param(circular_dict(), id="circular-dict"),
        pytest.param(circular_list(), id="circular-list"),
    ],
)
def test_what_json_cannot_carry_is_refused_as_an_invalid_job(job: Any) -> None:
    with pytest.raises(InvalidJobError):
        encode_job_body(job)


def test_nesting_too_deep_for_json_is_refused_as_an_invalid_job() -> None:
    job: dict[str, Any] = {}
    for _ in range(100_000):
        job = {"x": job}
    with pytest.raises(InvalidJobError, match="nested too deeply"):
        encode_job_body(job)


def test_the_recovered_marker_is_never_encoded() -> None:
    job = {"id": "a1", RECOVERED_KEY: "served the backup"}
    assert json.loads(encode_job_body(job)) == {"id": "a1"}
    assert RECOVERED_KEY in job  # the caller's dict is left as it was


def test_peek_version_needs_only_the_header() -> None:
    data = encoded({"id": "a1"}, version=42)
    assert peek_version(data[: data.index(b'"job":') + len(b'"job":')]) == 42
    assert peek_version(b"garbage") is None
