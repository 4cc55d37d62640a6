"""Validate aiperf artifact files with the Python AIPerf's own models and readers.

Usage: python check_artifacts.py DIR [DIR ...]

Walks each directory, validates every artifact file the two tools share with the model the
Python AIPerf (0.13) reads it with, and loads each run directory with its plot data loader.
Prints one line per problem and `checked N files` at the end; exits 1 when anything failed.
"""

from __future__ import annotations

import json
import sys
import traceback
from pathlib import Path

from pydantic import ValidationError

from aiperf.common.models.dataset_models import InputsFile
from aiperf.common.models.export_models import JsonExportData, TimesliceCollectionExportData
from aiperf.common.models.record_models import MetricRecordInfo
from aiperf.common.models.server_metrics_models import ServerMetricsExportData
from aiperf.common.models.telemetry_models import TelemetryRecord
from aiperf.config.resolution.plan import BenchmarkRun

problems: list[str] = []
checked = 0


def fail(path: Path, what: str) -> None:
    problems.append(f"{path}: {what}")


def errors_of(exc: ValidationError, limit: int = 8) -> str:
    errs = exc.errors()
    shown = "; ".join(
        f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in errs[:limit]
    )
    more = f" (+{len(errs) - limit} more)" if len(errs) > limit else ""
    return f"{len(errs)} validation errors: {shown}{more}"


def validate_json(path: Path, model) -> None:
    global checked
    checked += 1
    try:
        model.model_validate_json(path.read_bytes())
    except ValidationError as e:
        fail(path, errors_of(e))


def validate_jsonl(path: Path, model) -> None:
    global checked
    checked += 1
    lines = [line for line in path.read_text().splitlines() if line.strip()]
    for n, line in enumerate(lines, 1):
        try:
            model.model_validate_json(line)
        except ValidationError as e:
            fail(path, f"line {n}: {errors_of(e)}")
            return


def check_csv_line_endings(path: Path) -> None:
    global checked
    checked += 1
    # Its csv writer ends rows with CRLF; the comment lines heading the server-metrics CSV are
    # written by hand and end with LF.
    for n, line in enumerate(path.read_bytes().split(b"\n")[:-1], 1):
        if not line.startswith(b"#") and not line.endswith(b"\r"):
            fail(path, f"line {n} must end with CRLF as the Python AIPerf's csv writer ends rows")
            return


def check_search_history(path: Path) -> None:
    global checked
    checked += 1
    from aiperf.operator.routers.sweeps import _search_summary_from_doc

    try:
        _search_summary_from_doc(json.loads(path.read_text()))
    except Exception as e:  # the reader's own error, whatever its type
        fail(path, f"search summary reader: {type(e).__name__}: {e}")


def check_run_loads(run_dir: Path) -> None:
    """The plot data loader reads a run directory (records, summary, telemetry)."""
    global checked
    checked += 1
    from aiperf.plot.core.data_loader import DataLoader

    try:
        run = DataLoader().load_run(run_dir)
    except Exception as e:
        fail(run_dir, f"plot loader: {type(e).__name__}: {e}")
        return
    if run.requests is None or len(run.requests) == 0:
        fail(run_dir, "plot loader found no per-request records")


def check_aggregate_loads(path: Path) -> None:
    global checked
    checked += 1
    from aiperf.plot.core.data_loader import DataLoader

    try:
        DataLoader()._load_aggregate_only(path.parent, path)
    except Exception as e:
        fail(path, f"plot aggregate loader: {type(e).__name__}: {e}")


VALIDATORS = {
    "profile_export.jsonl": lambda p: validate_jsonl(p, MetricRecordInfo),
    "gpu_telemetry_export.jsonl": lambda p: validate_jsonl(p, TelemetryRecord),
    "profile_export_aiperf.json": lambda p: validate_json(p, JsonExportData),
    "profile_export_aiperf_timeslices.json": lambda p: validate_json(
        p, TimesliceCollectionExportData
    ),
    "server_metrics_export.json": lambda p: validate_json(p, ServerMetricsExportData),
    "inputs.json": lambda p: validate_json(p, InputsFile),
    "run_config.json": lambda p: validate_json(p, BenchmarkRun),
    "search_history.json": check_search_history,
    "profile_export_aiperf_aggregate.json": check_aggregate_loads,
}


def main(dirs: list[str]) -> int:
    for d in dirs:
        root = Path(d)
        for path in sorted(root.rglob("*")):
            if not path.is_file():
                continue
            try:
                if path.name in VALIDATORS:
                    VALIDATORS[path.name](path)
                elif path.suffix == ".csv":
                    check_csv_line_endings(path)
                if path.name == "profile_export.jsonl":
                    check_run_loads(path.parent)
            except Exception:
                fail(path, "checker crashed:\n" + traceback.format_exc())
    for p in problems:
        print(p)
    print(f"checked {checked} files, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
