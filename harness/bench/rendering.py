"""Rendering a bench run: the terminal table, bench.md, and the flat figures of the trend history.

All three read the bench.json content only (plus the ``_notes``/``_errors``/``_skipped`` keys a
live run carries), so a saved run renders the same way it did when it ran.

>>> trend_figures({"figures": {"save.hardened.1k": {"p50_us": 900.0, "p99_us": 1400.0,
...     "ratio": 1.08, "unit": "us"}}})["save.hardened.1k.ratio"]
1.08
"""

from __future__ import annotations

from typing import Any

OPS = ("save", "update", "get", "get_damaged")
STORE_ORDER = ("naive", "phase470", "hardened", "sqlite", "postgres")


def trend_figures(bench: dict[str, Any]) -> dict[str, float]:
    """Flat ``id.stat -> number`` pairs for :func:`harness.results.trend.append_run`."""
    flat: dict[str, float] = {}
    for figure_id, figure in bench.get("figures", {}).items():
        if figure.get("unit") == "ops/s":
            _put(flat, f"{figure_id}.ops_per_s", figure.get("value"))
            continue
        for stat in ("ratio", "ratio_minimal", "p50_us", "p99_us"):
            _put(flat, f"{figure_id}.{stat}", figure.get(stat))
    for store, record in bench.get("recover", {}).items():
        _put(flat, f"recover.{store}.per_job_us", record.get("per_job_us"))
    for store, steps in bench.get("breakdown", {}).items():
        for step, value in steps.items():
            _put(flat, f"breakdown.{store}.{step}", value)
    for store, curve in bench.get("directory_size", {}).items():
        for entry in curve:
            for stat in ("save_ratio", "get_ratio", "save_p50_us", "get_p50_us"):
                _put(flat, f"directory_size.{store}.{entry['jobs']}.{stat}", entry.get(stat))
    for target in bench.get("targets", []):
        _put(flat, f"target.{target['id']}.value", target.get("value"))
    return flat


def _put(flat: dict[str, float], key: str, value: object) -> None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        flat[key] = float(value)


# ---------------------------------------------------------------------------- terminal


def format_table(bench: dict[str, Any]) -> str:
    """The targets and the latency figures, as plain text for the terminal."""
    lines = ["targets:"]
    for target in bench.get("targets", []):
        verdict = {True: "met   ", False: "MISSED", None: "n/a   "}[target["passed"]]
        value = "-" if target["value"] is None else f"{target['value']:g}"
        lines.append(
            f"  {verdict} {target['id']} {target['title']}: {target['metric']} {value} "
            f"(limit {target['limit']:g}; {target['margin']})"
        )
    figures = bench.get("figures", {})
    for payload in _payloads(figures):
        floor_w = figures.get(f"floor_write.{payload}", {})
        floor_r = figures.get(f"floor_read.{payload}", {})
        floor_m = figures.get(f"floor_write_minimal.{payload}", {})
        lines += [
            "",
            f"latency {payload}: p50 us (x floor); floors: write {_us(floor_w)}, "
            f"minimal write {_us(floor_m)}, read {_us(floor_r)}",
            f"  {'store':<9}" + "".join(f"{op:>22}" for op in OPS),
        ]
        for store in _stores(figures, payload):
            cells = [_cell(figures.get(f"{op}.{store}.{payload}")) for op in OPS]
            lines.append(f"  {store:<9}" + "".join(f"{cell:>22}" for cell in cells))
    minimal = minimal_ratios(figures)
    if minimal:
        lines += ["", "hardened save p50 / minimal write floor p50 (paired): " + minimal]
    return "\n".join(lines)


def minimal_ratios(figures: dict[str, Any], store: str = "hardened") -> str:
    """``"1k 1.21x, 64k 1.18x"``: a store's save against the minimal floor, per payload."""
    parts = []
    for payload in _payloads(figures):
        ratio = figures.get(f"save.{store}.{payload}", {}).get("ratio_minimal")
        if isinstance(ratio, int | float):
            parts.append(f"{payload} {ratio:.3g}x")
    return ", ".join(parts)


def _payloads(figures: dict[str, Any]) -> list[str]:
    order = ("1k", "64k", "1m")
    present = {figure.get("payload") for figure in figures.values() if figure.get("unit") == "us"}
    return [payload for payload in order if payload in present]


def _stores(figures: dict[str, Any], payload: str) -> list[str]:
    present = {
        f.get("store")
        for f in figures.values()
        if f.get("payload") == payload and f.get("unit") == "us"
    }
    known = [store for store in STORE_ORDER if store in present]
    return known + sorted(str(store) for store in present if store and store not in STORE_ORDER)


def _us(figure: dict[str, Any]) -> str:
    return "-" if not figure else f"{figure['p50_us']:.1f} us"


def _cell(figure: dict[str, Any] | None) -> str:
    if not figure:
        return "-"
    ratio = figure.get("ratio")
    return (
        f"{figure['p50_us']:.1f} ({ratio:.3g}x)" if ratio is not None else f"{figure['p50_us']:.1f}"
    )


# ---------------------------------------------------------------------------- markdown


def render_bench_markdown(bench: dict[str, Any]) -> str:
    """bench.md: targets first, then latency, breakdown, recover, directory size, throughput."""
    machine = bench.get("machine", {})
    lines = [
        f"# jobharness bench{' (quick)' if bench.get('quick') else ''}",
        "",
        f"- commit {bench.get('commit') or '?'}, started {bench.get('started', '?')}, "
        f"took {bench.get('duration_s', 0):.1f} s",
        f"- machine: {machine.get('hostname', '?')}, {machine.get('cpus', '?')} cpus, "
        f"{machine.get('system', '?')}, Python {machine.get('python', '?')}",
    ]
    if machine.get("loadavg_start") or machine.get("loadavg_end"):
        lines.append(
            f"- load average (1, 5, 15 min): {machine.get('loadavg_start')} at the start, "
            f"{machine.get('loadavg_end')} at the end, on {machine.get('cpus', '?')} cpus"
        )
    floor_write = bench.get("figures", {}).get("floor_write.1k") or {}
    floor_read = bench.get("figures", {}).get("floor_read.1k") or {}
    if floor_write.get("p50_us") and floor_read.get("p50_us"):
        lines.append(
            f"- disk conditions: durable-replace floor {floor_write['p50_us']:.0f} us, plain "
            f"read {floor_read['p50_us']:.0f} us at 1 KB; compare ratios only with runs whose "
            "floors are within 1.5x of these (docs/benchmarks.md, run-to-run noise)"
        )
    for store, why in bench.get("_skipped", {}).items():
        lines.append(f"- skipped {store}: {why}")
    lines += _targets_section(bench)
    lines += _latency_section(bench.get("figures", {}))
    lines += _breakdown_section(bench)
    lines += _recover_section(bench.get("recover", {}))
    lines += _directory_section(bench.get("directory_size", {}))
    lines += _scaling_section(bench.get("scaling", {}))
    notes = list(bench.get("_notes", []))
    errors = bench.get("_errors", {})
    if notes or errors:
        lines += ["", "## Notes", ""]
        lines += [f"- measurement FAILED: {name}: {error}" for name, error in errors.items()]
        lines += [f"- {note}" for note in notes]
    return "\n".join(lines) + "\n"


def _targets_section(bench: dict[str, Any]) -> list[str]:
    lines = [
        "",
        "## Targets",
        "",
        "Informative: a missed target is reported with its margin; the gate enforces.",
        "",
        "| id | target | figure | metric | value | limit | verdict | margin |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for target in bench.get("targets", []):
        verdict = {True: "met", False: "**MISSED**", None: "n/a"}[target["passed"]]
        value = "-" if target["value"] is None else f"{target['value']:g}"
        lines.append(
            f"| {target['id']} | {target['title']} | `{target['figure']}` | "
            f"{target['metric']} | {value} | {target['limit']:g} | {verdict} | "
            f"{target['margin']} |"
        )
    return lines


def _latency_section(figures: dict[str, Any]) -> list[str]:
    lines = [
        "",
        "## Latency",
        "",
        "p50 and p99 in microseconds, and `x floor`: the median over rounds of the sample "
        "divided by its floor's sample of the same round (save, update: the durable-replace "
        "floor; get, get_damaged: the plain-read floor). `x minimal`: the same against the "
        "minimal durable replace (fixed temp name, directory descriptor kept open). Writes "
        "and reads run in rounds of their own; every operation of a round runs once, in an "
        "order rotated each round.",
    ]
    for payload in _payloads(figures):
        floor_w = figures.get(f"floor_write.{payload}", {})
        floor_r = figures.get(f"floor_read.{payload}", {})
        lines += ["", f"### {payload}", ""]
        floor_m = figures.get(f"floor_write_minimal.{payload}", {})
        if floor_w and floor_r:
            minimal = f", minimal replace p50 {floor_m['p50_us']:.1f} us" if floor_m else ""
            lines.append(
                f"Floors: durable replace p50 {floor_w['p50_us']:.1f} us "
                f"(p99 {floor_w['p99_us']:.1f}, {floor_w['samples']} samples){minimal}, "
                f"plain read p50 {floor_r['p50_us']:.1f} us (p99 {floor_r['p99_us']:.1f})."
            )
            lines.append("")
        lines += [
            "| store | op | p50 us | p99 us | x floor | x minimal | samples |",
            "|---|---|---|---|---|---|---|",
        ]
        for store in _stores(figures, payload):
            for op in OPS:
                figure = figures.get(f"{op}.{store}.{payload}")
                if figure:
                    lines.append(
                        f"| {store} | {op} | {figure['p50_us']:.1f} | "
                        f"{figure['p99_us']:.1f} | {_num(figure.get('ratio'))} | "
                        f"{_num(figure.get('ratio_minimal'))} | {figure['samples']} |"
                    )
    return lines


def _breakdown_section(bench: dict[str, Any]) -> list[str]:
    breakdown = bench.get("breakdown", {})
    if not breakdown:
        return []
    lines = [
        "",
        "## Where a save spends its time (1 KB)",
        "",
        "Medians of each step of the real `save_job`, from the marks its code makes "
        "(`durable_jobs/steps.py`, recorded by `harness/bench/breakdown.py`); each save's steps "
        "add up to its total exactly, so their medians add up to about the median total. "
        "(No copy of the save code is timed any more, so there is no copy-vs-real comparison.)",
    ]
    for store, steps in breakdown.items():
        total = steps.get("total_us") or 0.0
        lines += ["", f"**{store}**", "", "| step | us | share of total |", "|---|---|---|"]
        for step, value in steps.items():
            share = f"{value / total * 100:.0f}%" if total and step != "total_us" else ""
            lines.append(f"| {step.removesuffix('_us')} | {value:.1f} | {share} |")
    return lines


def _recover_section(recover: dict[str, Any]) -> list[str]:
    if not recover:
        return []
    lines = [
        "",
        "## Cold recover()",
        "",
        "A fresh store object over jobs whose pages were evicted from the page cache; 1% of "
        "the jobs were left running by a dead worker and are failed by the recover.",
        "",
        "| store | jobs | seconds | per job us |",
        "|---|---|---|---|",
    ]
    for store, record in recover.items():
        lines.append(
            f"| {store} | {record['jobs']} | {record['seconds']:.3f} | {record['per_job_us']:.1f} |"
        )
    return lines


def _directory_section(directory: dict[str, Any]) -> list[str]:
    if not directory:
        return []
    lines = [
        "",
        "## Latency as the directory grows (1 KB probe job)",
        "",
        "Floors measured on a file in the same directory, so `x floor` isolates the store.",
        "",
        "| store | jobs | save p50 us | save x floor | get p50 us | get x floor |",
        "|---|---|---|---|---|---|",
    ]
    for store, curve in directory.items():
        for entry in curve:
            lines.append(
                f"| {store} | {entry['jobs']} | {entry['save_p50_us']:.1f} | "
                f"{_num(entry['save_ratio'])} | {entry['get_p50_us']:.1f} | "
                f"{_num(entry['get_ratio'])} |"
            )
    return lines


def _scaling_section(scaling: dict[str, Any]) -> list[str]:
    titles = {
        "distinct": "N writer processes, each saving its own job",
        "same": "N writer processes saving one job",
        "readers": "N reader processes alongside 2 writers (read throughput; writes in brackets)",
    }
    lines: list[str] = []
    for shape, title in titles.items():
        curves = scaling.get(shape) or {}
        if not curves:
            continue
        counts = sorted({entry["processes"] for curve in curves.values() for entry in curve})
        lines += [
            "",
            f"### Throughput: {title}",
            "",
            "ops/s (p50 us, errors when any) per number of processes",
            "",
            "| store | " + " | ".join(str(count) for count in counts) + " |",
            "|---|" + "---|" * len(counts),
        ]
        for store, curve in curves.items():
            by_count = {entry["processes"]: entry for entry in curve}
            cells = [_scaling_cell(by_count.get(count), shape) for count in counts]
            lines.append(f"| {store} | " + " | ".join(cells) + " |")
    if lines:
        lines = [
            "",
            "## Throughput and scaling",
            "",
            "Real processes, each opening the store itself; operations completed inside a "
            "fixed window, 1 KB jobs. Two cores: beyond two processes they take turns.",
            *lines,
        ]
    return lines


def _scaling_cell(entry: dict[str, Any] | None, shape: str) -> str:
    if entry is None:
        return "-"
    text = f"{entry['ops_per_s']:.0f} ({_num(entry['p50_us'], 0)} us)"
    if entry.get("errors"):
        text += f", {entry['errors']} errors"
    if shape == "readers":
        text += f" [w {entry.get('write_ops_per_s', 0):.0f}"
        if entry.get("write_errors"):
            text += f", {entry['write_errors']} errors"
        text += "]"
    return text


def _num(value: object, digits: int = 3) -> str:
    if not isinstance(value, int | float):
        return "-"
    return f"{value:.{digits}f}"
