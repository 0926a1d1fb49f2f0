"""The HTML report: one self-contained file, a criteria matrix, plots, timelines, a real browser.

Real verify runs (two short scenarios, two stores, about 5 s in all) are made once per module
with the CLI, as a user makes them; the benchmark is a literal ``bench.json`` in the format
``jobharness bench`` writes. The last test opens the report in headless Chromium over the
DevTools protocol and checks that every plot drew something and nothing logged an error.
"""

from __future__ import annotations

import dataclasses
import doctest
import json
import os
import re
import shutil
import subprocess
import sys
from argparse import Namespace
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from devtools import (
    CHROMIUM_MISSING,
    OVERFLOWING_LABELS,
    REQUIRE_CHROMIUM,
    DevTools,
    evaluate,
    logged_errors,
    open_page,
)

from harness.checkers.result import CheckResult
from harness.errors import ConfigError
from harness.history.log import Record
from harness.report import (
    bench_sections,
    markup,
    plots,
    svg,
    timeline,
    timeline_model,
    timeline_section,
)
from harness.report import command as report_command
from harness.report import html as report_html
from harness.report import runs as report_runs
from harness.results import RunReport, ScenarioResult, load_run
from harness.results.trend import append_run, read_trend

ROOT = Path(__file__).resolve().parent.parent
STORES = ("hardened", "naive")
SCENARIOS = {
    "writers-killed": """
description = "Two writers killed at random while a reader polls."
checkers = ["never_raises", "no_torn_read", "acknowledged_writes_survive", "no_litter", "latency"]
[workload]
jobs = 2
duration = 0.5
shared_jobs = true
[[processes]]
role = "writer"
count = 2
[[processes]]
role = "reader"
count = 1
think_ms = 0.5
[[faults]]
kind = "kill"
at = "random"
target = "writer"
times = 2
""",
    "file-damaged": """
description = "Job files damaged under a writer and a reader."
checkers = ["never_raises", "no_torn_read", "recovery_to_last_good", "latency"]
[workload]
jobs = 2
duration = 0.5
[[processes]]
role = "writer"
count = 2
ops = 4
[[processes]]
role = "reader"
count = 1
think_ms = 0.5
[[faults]]
kind = "damage"
target = "writer"
file = "main"
how = ["truncate", "garbage"]
times = 2
""",
}


def make_bench(commit: str = "abc1234") -> dict[str, Any]:
    """A bench.json in the format of ``jobharness bench`` (two stores, two payloads)."""
    figures: dict[str, Any] = {}
    for payload, factor in (("1k", 1.0), ("64k", 1.5)):
        figures[f"floor_write.{payload}"] = {
            "value": 470 * factor,
            "unit": "us",
            "p50_us": 470 * factor,
            "p99_us": 700 * factor,
            "samples": 200,
            "op": "floor_write",
            "payload": payload,
        }
        for store, base in (("hardened", 510.0), ("naive", 60.0)):
            for op in ("save", "get"):
                value = base * factor * (0.1 if op == "get" else 1)
                figures[f"{op}.{store}.{payload}"] = {
                    "value": value,
                    "unit": "us",
                    "p50_us": value,
                    "p99_us": value * 1.6,
                    "samples": 200,
                    "floor": f"floor_write.{payload}",
                    "ratio": value / (470 * factor),
                    "store": store,
                    "op": op,
                    "payload": payload,
                }
    return {
        "tool": "jobharness-bench",
        "format": 1,
        "quick": True,
        "commit": commit,
        "started": "2026-11-28T20:00:00+00:00",
        "duration_s": 61.0,
        "machine": {"hostname": "ci", "cpus": 2, "system": "Linux", "python": "3.11"},
        "figures": figures,
        "targets": [
            {
                "id": "T1",
                "title": "save within 15 % of the floor",
                "figure": "save.hardened.1k",
                "metric": "ratio",
                "limit": 1.15,
                "value": 1.08,
                "passed": True,
                "margin": "0.07 under",
            },
            {
                "id": "T2",
                "title": "get within 10 % of a plain read",
                "figure": "get.hardened.1k",
                "metric": "ratio",
                "limit": 1.10,
                "value": 1.21,
                "passed": False,
                "margin": "0.11 over",
            },
        ],
        "scaling": {
            mode: {
                store: [
                    {"processes": p, "ops_per_s": rate * p**0.7, "p50_us": 500.0} for p in (1, 2, 4)
                ]
                for store, rate in (("hardened", 1900.0), ("naive", 9000.0))
            }
            for mode in ("distinct", "same", "readers")
        },
        "directory_size": {
            "hardened": [
                {
                    "jobs": j,
                    "save_p50_us": 510 + j / 100,
                    "get_p50_us": 50 + j / 1000,
                    "save_ratio": 1.0,
                    "get_ratio": 1.0,
                }
                for j in (1, 100, 10000)
            ],
        },
        "breakdown": {
            "hardened": {
                "lock_us": 12.0,
                "read_current_us": 8.0,
                "encode_us": 3.0,
                "write_us": 10.0,
                "fsync_us": 300.0,
                "rename_backup_us": 9.0,
                "rename_us": 9.0,
                "dir_fsync_us": 150.0,
                "total_us": 505.0,
            }
        },
        "recover": {"hardened": {"jobs": 10000, "seconds": 1.9, "per_job_us": 190.0}},
    }


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Two real verify runs (naive fails), a bench folder and a trend log."""
    base = tmp_path_factory.mktemp("report")
    suite = base / "scenarios"
    suite.mkdir()
    for name, text in SCENARIOS.items():
        (suite / f"{name}.toml").write_text(text)
    trend = base / "trend.jsonl"
    env = {**os.environ, "JOBHARNESS_TREND": str(trend)}
    runs = {}
    for store in STORES:
        out = base / f"verify-{store}"
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "harness.cli",
                "verify",
                "--store",
                store,
                "--scenarios",
                str(suite),
                "--out",
                str(out),
                "--seed",
                "5",
            ],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode in (0, 1), result.stderr
        runs[store] = out
    bench = base / "bench-20261128-200000"
    bench.mkdir()
    (bench / "bench.json").write_text(json.dumps(make_bench()))
    # The bench run's own line (as `jobharness bench` appends it), then earlier runs of
    # everything, so every trend has a past to be compared with.
    append_run(
        "bench",
        {"save.hardened.1k.ratio": 1.08, "get.hardened.1k.ratio": 1.21},
        directory=bench,
        path=trend,
    )
    lines = read_trend(trend)
    with open(trend, "a", encoding="utf-8") as out:
        for age in range(3):
            for line in lines:
                past = {
                    **line.as_dict(),
                    "dir": f"{line.dir}-old{age}",
                    "date": f"2026-11-2{age}T10:00:00+00:00",
                    "figures": {k: v * (1 + 0.1 * age) for k, v in line.figures.items()},
                }
                out.write(json.dumps(past) + "\n")
    return {"base": base, "runs": runs, "bench": bench, "trend": trend}


@pytest.fixture(scope="module")
def page(workspace: dict[str, Any]) -> str:
    runs = [load_run(path) for path in workspace["runs"].values()]
    runs.append(load_run(workspace["bench"]))
    return report_html.render_html(runs, trend=read_trend(workspace["trend"]))


class Collector(HTMLParser):
    """Every tag with its attributes, for checks on the structure of the page."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def parse(html: str) -> Collector:
    collector = Collector()
    collector.feed(html)
    return collector


# ---------------------------------------------------------------- the page, as text


def test_the_page_references_nothing_outside_itself(page: str) -> None:
    tags = parse(page).tags
    references = [
        attrs[name] or "" for _, attrs in tags for name in ("src", "href") if name in attrs
    ]
    assert references, "expected links to the evidence"
    outside = [ref for ref in references if not (ref.startswith("#") or ref.startswith("data:"))]
    assert outside == []
    assert not any(tag in ("script", "link", "img", "iframe") for tag, _ in tags)
    assert "@import" not in page and "url(" not in page


def test_the_matrix_has_one_row_per_store_and_one_column_per_criterion(
    page: str, workspace: dict[str, Any]
) -> None:
    report = json.loads((workspace["runs"]["hardened"] / "report.json").read_text())
    criteria = [c["id"] for c in report["criteria"]]
    matrix = re.search(r'<table class="matrix">(.*?)</table>', page, re.S)
    assert matrix is not None
    header = re.findall(r"<th><abbr[^>]*>([^<]+)</abbr></th>", matrix.group(1))
    assert header == criteria
    rows = re.findall(r'<tr class="store-row">(.*?)</tr>', matrix.group(1), re.S)
    assert [re.search(r'<a href="#ev-[^"]+">([^<]+)</a>', row).group(1) for row in rows] == list(
        STORES
    )  # type: ignore[union-attr]
    for row in rows:
        assert row.count('<td class="cell ') == len(criteria)


def test_every_matrix_cell_leads_to_its_evidence(page: str, workspace: dict[str, Any]) -> None:
    ids = {attrs.get("id") for _, attrs in parse(page).tags}
    cells = re.findall(r'<td class="cell (pass|fail|na)"><a href="#(ev-[^"]+)"', page)
    assert cells
    assert all(anchor in ids for _, anchor in cells)
    naive = json.loads((workspace["runs"]["naive"] / "report.json").read_text())
    failed = [c for c in naive["criteria"] if c["passed"] is False]
    assert failed, "the naive store should fail a criterion"
    for criterion in failed:
        block = re.search(
            rf'<div class="evidence fail" id="ev-naive-{criterion["id"]}">(.*?)</div>', page, re.S
        )
        assert block is not None
        assert svg.esc(criterion["summary"]) in block.group(1)
        first = criterion["evidence"][0].partition(": ")[2]
        assert svg.esc(first) in block.group(1)


def test_the_page_draws_every_kind_of_plot(page: str, workspace: dict[str, Any]) -> None:
    svgs = [
        attrs["data-plot"]
        for tag, attrs in parse(page).tags
        if tag == "svg" and attrs.get("data-plot")
    ]
    count = int(re.search(r'data-plot-count="(\d+)"', page).group(1))  # type: ignore[union-attr]
    assert count == len(svgs) == len(set(svgs))
    timelines = [s for s in svgs if s.startswith("tl-")]
    assert sorted(timelines) == sorted(
        f"tl-{store}-{name}" for store in STORES for name in SCENARIOS
    )
    assert {"latency-save", "latency-get"} <= set(svgs)
    bench = [s for s in svgs if s.startswith("bench-")]
    assert (
        len(bench) == 2 + 3 + 2 + 1 + 1
    )  # latency save/get, scaling x3, directory save/get, breakdown, recover
    trends = [s for s in svgs if s.startswith("trend-")]
    figures = {f for line in read_trend(workspace["trend"]) for f in line.figures}
    assert len(trends) == len(figures) and trends
    assert page.count('class="mark current"') == len(trends)


def test_latency_tables_give_p50_p99_and_the_iqr(page: str) -> None:
    latency = page[page.index('<section id="latency">') : page.index('<section id="latency-over')]
    tables = re.findall(r'<table class="spread">(.*?)</table>', latency, re.S)
    assert tables and all("IQR (p25-p75)" in table for table in tables)
    # A fresh run saves the quartiles, so every row has a spread: "0.04 (0.03-0.07)".
    assert re.search(r"<td>[\d.]+ \([\d.]+-[\d.]+\)</td>", tables[0])
    over_time = page[page.index('<section id="latency-over-time">') :]
    assert over_time.count('<figure class="latency-over-time"') == len(STORES) * len(SCENARIOS)


def test_a_timeline_from_a_small_literal_history() -> None:
    def op(
        process: str,
        f: str,
        start: float,
        end: float,
        kind: str,
        job: str | None = "j0",
        value: Any = None,
    ) -> list[Record]:
        return [
            Record(process, "invoke", f, job, value, start),
            Record(process, kind, f, job, value, end),
        ]

    records = [
        *op("setup", "save", 0.00, 0.01, "ok"),
        *op("writer-0", "save", 0.10, 0.12, "ok"),
        *op("reader-0", "get", 0.11, 0.13, "fail"),
        *op("nemesis", "kill", 0.20, 0.20, "ok", None, {"process": "writer-0", "how": "SIGKILL"}),
        *op("writer-0", "save", 0.19, 0.25, "info"),
        *op("writer-0.1", "open", 0.30, 0.31, "ok", None),
        *op("reader-0", "get", 0.40, 0.41, "ok"),
        *op("nemesis", "fill-disk", 0.50, 0.51, "ok", None),
        *op("nemesis", "free-disk", 0.70, 0.70, "ok", None),
        *op("nemesis", "damage", 0.80, 0.80, "ok"),
        *op("final", "get", 0.95, 1.00, "ok"),
    ]
    records = [
        Record(r.process, r.type, r.f, r.job, r.value, r.time, index=i)
        for i, r in enumerate(records)
    ]
    problem = {records[12].index: "op #12 reader-0 get(j0): stale: an older version"}
    built = timeline.build_timeline(records, problem, buckets=100)
    assert [lane.name for lane in built.lanes] == ["setup", "reader-0", "writer-0", "final"]
    writer = next(lane for lane in built.lanes if lane.name == "writer-0")
    assert writer.counts == {"ok": 2, "info": 1} and writer.restarts == (0.30,)
    assert (
        writer.levels[19:25] == (timeline_model.INFO_LEVEL,) * 6
    )  # the killed save spans its buckets
    reader = next(lane for lane in built.lanes if lane.name == "reader-0")
    assert reader.levels[11] == timeline_model.FAIL_LEVEL
    assert reader.levels[40] == timeline_model.PROBLEM_LEVEL
    assert [(w.kind, w.start, w.end) for w in built.windows] == [("fill-disk", 0.50, 0.70)]
    assert {m.kind for m in built.markers} == {"killed", "damaged", "problem"}
    svg = timeline.render_timeline("tl-literal", "literal", built)
    assert svg.count('<g class="mark ops-') == 4  # ok, fail, info and problem: one group each
    titles = re.findall(r"<rect[^>]*><title>([^<]*)</title></rect>", svg)
    # Every bar says what it is made of: a lone operation in full, with how it ended.
    assert "writer-0: op #8 writer-0 save(j0), 0.190 s to 0.250 s, 60 ms, info" in titles
    assert any("reader-0: op #4 reader-0 get(j0)" in t and t.endswith(", fail") for t in titles)
    assert any("judged wrong: op #12 reader-0 get(j0): stale" in t for t in titles)
    assert "kill writer-0: SIGKILL" in svg and "disk full" in svg


def saved_run_with_a_judged_read(folder: Path, *, with_indices: bool) -> Path:
    """A run folder whose history holds only good reads, and whose saved check nonetheless
    names op #2 as torn: only a timeline that reads the saved evidence can mark it."""
    records = [
        Record("writer-0", "invoke", "save", "j0", {"tag": ["writer-0", 1]}, 0.00, index=0),
        Record("writer-0", "ok", "save", "j0", None, 0.01, index=1),
        Record("reader-0", "invoke", "get", "j0", None, 0.02, index=2),
        Record("reader-0", "ok", "get", "j0", {"kind": "none"}, 0.03, index=3),
    ]
    run_dir = folder / "scenarios" / "literal"
    run_dir.mkdir(parents=True)
    (run_dir / "history.jsonl").write_text("".join(r.to_json() + "\n" for r in records))
    check = CheckResult(
        "no_torn_read", False, "1 torn read", {"torn": 1}, ["op #2 reader-0 get(j0): torn: cut"]
    )
    scenario = ScenarioResult.judged(
        name="literal",
        description="a literal history",
        kind="concurrent",
        roles=("reader", "writer"),
        checkers=("no_torn_read",),
        applicable=True,
        standing="",
        reason="",
        notes=(),
        duration=0.03,
        history="scenarios/literal/history.jsonl",
        checks=(check,),
    )
    report = RunReport("literal", 1, "fail", "C6 failed", (), (scenario,)).as_dict()
    if not with_indices:  # as a report saved before evidence_operations existed
        del report["scenarios"][0]["checks"][0]["evidence_operations"]
    (folder / "report.json").write_text(json.dumps(report))
    return folder


@pytest.mark.parametrize("with_indices", [True, False])
def test_the_timeline_marks_the_operations_the_saved_evidence_names(
    tmp_path: Path, with_indices: bool
) -> None:
    run = load_run(saved_run_with_a_judged_read(tmp_path, with_indices=with_indices))
    assert isinstance(run, RunReport)
    assert timeline_section.problem_operations(run.scenarios[0]) == {
        2: "no_torn_read: op #2 reader-0 get(j0): torn: cut"
    }
    page = report_html.render_html([run], trend=[])
    figure = re.search(r'<figure id="tl-literal-literal".*?</figure>', page, re.S)
    assert figure is not None
    assert figure.group(0).count('class="mark problem"') == 1
    assert "no_torn_read: op #2 reader-0 get(j0): torn: cut" in figure.group(0)
    assert "1 operation judged wrong" in figure.group(0)


def test_a_passing_check_marks_nothing(tmp_path: Path) -> None:
    run = load_run(saved_run_with_a_judged_read(tmp_path, with_indices=True))
    assert isinstance(run, RunReport)
    passing = dataclasses.replace(
        run.scenarios[0],
        checks=tuple(dataclasses.replace(c, valid=True) for c in run.scenarios[0].checks),
    )
    assert timeline_section.problem_operations(passing) == {}


def test_a_long_history_stays_small() -> None:
    """Bucketing: 40,000 operations in 8 lanes draw as a few kilobytes, not megabytes."""
    records = []
    for i in range(40_000):
        process = f"writer-{i % 8}"
        start = i * 25e-6
        kind = "fail" if i % 997 == 0 else "ok"
        records += [
            Record(process, "invoke", "save", "j0", None, start),
            Record(process, kind, "save", "j0", None, start + 20e-6),
        ]
    svg = timeline.render_timeline("tl-long", "long", timeline.build_timeline(records))
    assert len(svg) < 60_000


def test_the_plot_modules_examples_hold() -> None:
    for module in (plots, svg, timeline, timeline_model, markup, bench_sections):
        result = doctest.testmod(module)
        assert result.failed == 0 and result.attempted > 0


# ---------------------------------------------------------------- the command


def test_report_writes_html_and_summary_and_says_where(
    workspace: dict[str, Any],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("JOBHARNESS_TREND", str(workspace["trend"]))
    runs = [*workspace["runs"].values(), workspace["bench"] / "bench.json"]
    assert report_command.run_report_command(Namespace(runs=runs, out=tmp_path / "out")) == 0
    printed = capsys.readouterr().out
    assert (
        str(tmp_path / "out" / "report.html") in printed
        and str(tmp_path / "out" / "summary.md") in printed
    )
    summary = (tmp_path / "out" / "summary.md").read_text()
    for store, folder in workspace["runs"].items():  # whatever each run concluded
        verdict = json.loads((folder / "report.json").read_text())["verdict"]
        assert f"| {store} | {verdict} |" in summary
    assert "| T2 | get within 10 % of a plain read | 1.21 | 1.1 | FAIL | 0.11 over |" in summary


def test_without_arguments_the_latest_run_of_each_store_is_taken(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def fake_run(folder: str, store: str, started: str) -> None:
        (tmp_path / "reports" / folder).mkdir(parents=True)
        report = {
            "verdict": "pass",
            "store": store,
            "started": started,
            "criteria": [],
            "scenarios": [],
        }
        (tmp_path / "reports" / folder / "report.json").write_text(json.dumps(report))

    fake_run("verify-hardened-1", "hardened", "2026-11-28T10:00:00+00:00")
    fake_run("verify-hardened-2", "hardened", "2026-11-28T11:00:00+00:00")
    fake_run("verify-naive-1", "naive", "2026-11-28T09:00:00+00:00")
    (tmp_path / "reports" / "bench-1").mkdir()
    (tmp_path / "reports" / "bench-1" / "bench.json").write_text(json.dumps(make_bench()))
    (tmp_path / "reports" / "scratch").mkdir()  # neither kind: ignored when discovering
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("JOBHARNESS_TREND", str(tmp_path / "none.jsonl"))
    found = report_runs.discover_runs()
    assert [run.folder.name for run in found if run.folder] == [
        "verify-hardened-2",
        "verify-naive-1",
        "bench-1",
    ]
    assert report_command.run_report_command(Namespace(runs=[], out=None)) == 0
    assert (tmp_path / "reports" / "report.html").is_file() and (
        tmp_path / "reports" / "summary.md"
    ).is_file()
    assert "reports/report.html" in capsys.readouterr().out


def test_a_folder_without_a_run_is_a_one_line_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"neither report\.json nor bench\.json") as caught:
        report_command.run_report_command(Namespace(runs=[tmp_path], out=tmp_path))
    assert "\n" not in str(caught.value)
    (tmp_path / "bench.json").write_text("{not json")
    with pytest.raises(ConfigError, match="cannot read it as JSON"):
        load_run(tmp_path)
    with pytest.raises(ConfigError, match="no verify or bench run found"):
        report_runs.discover_runs(tmp_path / "empty")


def test_the_cli_reports_a_bad_folder_with_exit_code_2(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "harness.cli", "report", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert (
        "neither report.json nor bench.json" in result.stderr and "Traceback" not in result.stderr
    )


def test_render_after_verify_writes_the_report_into_the_run(
    workspace: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = tmp_path / "verify-naive"
    shutil.copytree(workspace["runs"]["naive"], run)
    monkeypatch.setenv("JOBHARNESS_TREND", str(workspace["trend"]))
    path = report_command.render_after_verify(run)
    assert path == run / "report.html"
    text = path.read_text()
    assert (
        text.count('<tr class="store-row">') == 1 and 'data-plot="tl-naive-writers-killed"' in text
    )
    assert 'class="mark current"' in text  # the run's own figures are marked in the trends


# ---------------------------------------------------------------- in a real browser


CHECK_PLOTS = """
(() => {
  document.querySelectorAll('details').forEach(d => { d.open = true; });
  const plots = [...document.querySelectorAll('svg[data-plot]')];
  const broken = [];
  for (const svg of plots) {
    const box = svg.getBoundingClientRect();
    const drawn = [...svg.querySelectorAll('.mark')].filter(m => {
      const b = m.getBBox();
      return b.width > 0 || b.height > 0;
    });
    if (!(box.width > 0 && box.height > 0) || drawn.length === 0) broken.push(svg.dataset.plot);
  }
  const cell = document.querySelector('.matrix td.cell a');
  const target = cell && document.getElementById(cell.getAttribute('href').slice(1));
  return {readyState: document.readyState, expected: Number(document.body.dataset.plotCount),
          plots: plots.length, broken,
          evidenceFound: Boolean(target && target.textContent.length > 0)};
})()
"""


@pytest.mark.skipif(bool(CHROMIUM_MISSING) and not REQUIRE_CHROMIUM, reason=str(CHROMIUM_MISSING))
def test_the_report_renders_in_headless_chromium(
    page: str, browser: DevTools, tmp_path: Path
) -> None:
    path = tmp_path / "report.html"
    path.write_text(page, encoding="utf-8")
    session = open_page(browser, path)
    state = evaluate(browser, session, CHECK_PLOTS)
    assert state["readyState"] == "complete"
    assert state["plots"] == state["expected"] > 20
    assert state["broken"] == []
    assert state["evidenceFound"]
    # No chart label runs outside its chart (an axis tick, a long row label, a trend's title).
    assert evaluate(browser, session, OVERFLOWING_LABELS) == []
    assert logged_errors(browser, session) == []
