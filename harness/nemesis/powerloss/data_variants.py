"""What one file's unsynced data may look like after a power cut (rule 1 of the model).

The persistence model (:mod:`harness.nemesis.powerloss.crash_states`) treats each file's data
on its own. Of the data changes a file got since its last ``fsync`` (its ``minimum``: that many
are durable), a power cut may keep:

* an in-order **prefix** of them (none, some, all), the last one kept possibly **torn** (the
  first half of its bytes) or, when it grew the file, **zero-filled** (the new size reached the
  disk, the data did not);
* or, since the page cache writes dirty pages back in any order, the final content on **some
  4 KiB pages only**: each touched page alone, and every touched page but one (a seeded sample
  of ``page_samples`` above that).

Each possibility is a :class:`DataVariant`; :func:`variant_content` gives the bytes it leaves
and :func:`describe_variant` says it in a few words::

    >>> from harness.nemesis.powerloss.operation_trace import DataOp
    >>> write = DataOp(seq=1, kind="write", inode=1, offset=0, data=b"new!")
    >>> [variant_content(b"", [write], 0, v) for v in data_variants(b"", [write], 0)]
    [b'', b'ne', b'\\x00\\x00\\x00\\x00', b'new!']
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from harness.nemesis.powerloss.operation_trace import DataOp, apply_truncate, apply_write

PAGE_SIZE = 4096
"""The unit the page cache writes back: unsynced data persists (or not) a page at a time."""
PAGE_SAMPLES = 8
"""Out-of-order page variants kept per file and crash point (a seeded sample above this)."""


@dataclass(frozen=True, slots=True)
class DataVariant:
    """How much of one file's unsynced data persisted: ``kept`` ops, then maybe a partial one."""

    kept: int
    partial: str | None = None  # torn | zeros: what happened to op number ``kept``
    pages: frozenset[int] | None = None  # out of order: only these pages of the unsynced data


def data_variants(base: bytes, ops: list[DataOp], minimum: int) -> list[DataVariant]:
    """The synced data, then each unsynced op in turn: torn, zero-filled (if it grew), whole."""
    size = len(content_after(base, ops[:minimum]))
    variants = [DataVariant(minimum)]
    for index in range(minimum, len(ops)):
        op = ops[index]
        if op.kind == "write":
            if len(op.data) >= 2:
                variants.append(DataVariant(index, "torn"))
            if op.offset + len(op.data) > size:
                variants.append(DataVariant(index, "zeros"))
            size = max(size, op.offset + len(op.data))
        else:
            size = op.offset
        variants.append(DataVariant(index + 1))
    return variants


def page_variants(
    base: bytes, ops: list[DataOp], minimum: int, samples: int, rng: random.Random
) -> list[DataVariant]:
    """Unsynced data written back out of order: some of its pages on disk, the others not.

    The page cache writes dirty pages back in any order, so the pages an unsynced write touched
    may reach the disk without the pages an *earlier* unsynced write touched (a header written
    after its data slot, persisted before it). Candidates: each touched page alone, and every
    touched page but one; above ``samples`` of them, a seeded sample.
    """
    if samples <= 0 or len(ops) <= minimum:
        return []
    size = len(content_after(base, ops))
    touched: set[int] = set()
    for op in ops[minimum:]:
        if op.kind == "write" and op.data:
            last = min(op.offset + len(op.data), size) - 1
            touched.update(range(op.offset // PAGE_SIZE, last // PAGE_SIZE + 1))
    if len(touched) < 2:
        return []  # one page: in-order prefixes and the torn write already cover it
    ordered = sorted(touched)
    candidates = [frozenset({page}) for page in ordered]
    candidates += [frozenset(touched - {page}) for page in ordered]
    unique = sorted(set(candidates), key=lambda pages: (len(pages), sorted(pages)))
    if len(unique) > samples:
        unique = sorted(rng.sample(unique, samples), key=lambda p: (len(p), sorted(p)))
    return [DataVariant(len(ops), pages=pages) for pages in unique]


def variant_content(base: bytes, ops: list[DataOp], minimum: int, variant: DataVariant) -> bytes:
    """The bytes the file holds after the cut when ``variant`` of its unsynced data persisted."""
    if variant.pages is not None:
        return _paged_content(base, ops, minimum, variant.pages)
    partial = (ops[variant.kept], variant.partial) if variant.partial else None
    return content_after(base, ops[: variant.kept], partial)


def content_after(
    base: bytes, ops: list[DataOp], partial: tuple[DataOp, str] | None = None
) -> bytes:
    """``base`` with ``ops`` applied in order, then a ``partial`` (torn or zeros) write if any."""
    content = bytearray(base)
    for op in ops:
        if op.kind == "write":
            apply_write(content, op.offset, op.data)
        else:
            apply_truncate(content, op.offset)
    if partial is not None:
        op, how = partial
        if how == "torn":
            apply_write(content, op.offset, op.data[: len(op.data) // 2])
        else:  # zeros: the new size is on disk, the new data is not
            apply_truncate(content, max(len(content), op.offset + len(op.data)))
    return bytes(content)


def _paged_content(base: bytes, ops: list[DataOp], minimum: int, pages: frozenset[int]) -> bytes:
    """The synced content, resized to the final size, with ``pages`` taken from the final one."""
    final = content_after(base, ops)
    content = bytearray(content_after(base, ops[:minimum]))
    apply_truncate(content, len(final))  # the size reached the disk; absent pages read as before
    for page in pages:
        start = page * PAGE_SIZE
        content[start : start + PAGE_SIZE] = final[start : start + PAGE_SIZE]
    return bytes(content)


def describe_variant(name: str, ops: list[DataOp], minimum: int, variant: DataVariant) -> str:
    """``j0.json: 1 of 2 unsynced data changes persisted, then a torn write (30 of 60 B at 0)``"""
    if variant.pages is not None:
        shown = ", ".join(str(page) for page in sorted(variant.pages)[:4])
        more = f" and {len(variant.pages) - 4} more" if len(variant.pages) > 4 else ""
        return (
            f"{name}: unsynced data written back out of order: only page(s) {shown}{more} "
            f"(of {PAGE_SIZE} B) reached the disk"
        )
    unsynced = len(ops) - minimum
    kept_count = variant.kept - minimum
    if kept_count == unsynced:
        text = f"{name}: all unsynced data persisted ({unsynced} changes)"
    elif kept_count == 0:
        text = f"{name}: unsynced data lost ({unsynced} changes)"
    else:
        text = f"{name}: {kept_count} of {unsynced} unsynced data changes persisted"
    if variant.partial:
        op = ops[variant.kept]
        size = len(op.data)
        if variant.partial == "torn":
            text += f", then a torn write ({size // 2} of {size} B at {op.offset})"
        else:
            text += f", then a write that reached the disk as zeros ({size} B at {op.offset})"
    return text
