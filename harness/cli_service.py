"""The command-line options that point ``verify`` and ``run`` at a running service instead of a store.

::

    jobharness verify --service builtin --store sqlite --instances 2
    jobharness verify --service "node server.js --port {port} --data {data}" --profile api.toml

``--service`` takes ``builtin`` (``durable_jobs.service``, on the store ``--store`` names:
file, sqlite or postgres) or a command line with ``{port}``, ``{data}``, ``{instance}`` and
``{run}`` in it (see :mod:`harness.service.spec`); ``--profile`` maps the service's API when it
is not the incident's (see :mod:`harness.service.profile`); ``--instances`` runs every scenario
with that many instances on one data folder, whatever the scenario says.
"""

from __future__ import annotations

import argparse
import dataclasses
import shlex
from pathlib import Path
from typing import Any

from harness.errors import ConfigError
from harness.scenario.service_table import BUILTIN_STORES


def add_service_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--service",
        metavar="CMD",
        help="verify a running HTTP service: 'builtin', or a command with {port} and {data}",
    )
    parser.add_argument(
        "--profile", type=Path, help="with --service: a TOML file mapping the service's API"
    )
    parser.add_argument(
        "--instances",
        type=_positive,
        help="with --service: instances of the service in every scenario (default: each "
        "scenario's own)",
    )


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if not 1 <= value <= 16:
        raise argparse.ArgumentTypeError(f"expected 1 to 16 instances, got {value}")
    return value


def service_target(args: argparse.Namespace) -> Any:
    """The service ``--service`` names, checked now so a mistake is one line and exit 2."""
    from harness.service.profile import load_profile
    from harness.service.spec import parse_service
    from harness.service.target import ServiceTarget

    builtin = args.service.split(":")[0] == "builtin"
    if args.store is not None and not builtin:
        raise ConfigError(
            "--store with --service applies to --service builtin only (the built-in service's "
            f"store: {', '.join(BUILTIN_STORES)}); your own service keeps its data where its "
            "command says"
        )
    if builtin and args.store is not None and args.store not in BUILTIN_STORES:
        raise ConfigError(
            f"--store {args.store}: the built-in service runs on {', '.join(BUILTIN_STORES)}"
        )
    profile = load_profile(args.profile) if args.profile else None
    spec = parse_service(args.service, store=args.store or "file", profile=profile)
    return ServiceTarget(spec, args.service)


def service_scenarios(scenarios: list[Any], args: argparse.Namespace, where: Path) -> list[Any]:
    """The service scenarios, with ``--instances`` applied; a store scenario is a usage error."""
    chosen = []
    for scenario in scenarios:
        if scenario.service is None:
            raise ConfigError(
                f"{scenario.path}: a store scenario (kind = {scenario.kind!r}); --service runs "
                'scenarios of kind = "service" (the folder scenarios/service/)'
            )
        if args.instances:
            options = dataclasses.replace(scenario.service, instances=args.instances)
            scenario = dataclasses.replace(scenario, service=options)
        chosen.append(scenario)
    if not chosen:
        raise ConfigError(f"{where}: no service scenario to run")
    return chosen


def store_scenarios(scenarios: list[Any]) -> list[Any]:
    """The scenarios of a store run; a service scenario is a usage error that says what to add."""
    for scenario in scenarios:
        if scenario.service is not None:
            raise ConfigError(
                f'{scenario.path}: a service scenario (kind = "service"); run it against a '
                'running service with --service builtin or --service "YOUR COMMAND"'
            )
    return scenarios


def service_replay_words(args: argparse.Namespace) -> list[str]:
    """The service options of the replay command."""
    words = ["--service", shlex.quote(args.service)]
    if args.store is not None:
        words += ["--store", args.store]
    if args.profile is not None:
        words += ["--profile", shlex.quote(str(args.profile))]
    if args.instances:
        words += ["--instances", str(args.instances)]
    return words
