"""Writing a run's output folder atomically: all files or none.

Everything is written into a temporary sibling folder first; only when every file is
complete does it take the final name (an existing folder of that name is moved aside
first and removed after). A failure leaves the previous output as it was.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from livesim.errors import ConfigError
from livesim.formats import DEFAULT_FORMAT, write_tables
from livesim.report.content import write_report
from livesim.report.figures import breakeven, draw_all, forest, strategy_distributions
from livesim.results import SimulationResult
from livesim.scenario import Scenario

if TYPE_CHECKING:
    from livesim.compare import Comparison


def check_out_folder(out: Path) -> None:
    """Refuse an output folder that cannot be written or would destroy other files.

    An existing folder is replaced only if it is empty or an earlier livesim output
    (it holds a manifest.json); a path through an existing file cannot be a folder.
    """
    check_no_file_in_the_way(out, [out, *out.parents])
    check_writable(out, beside=True)  # the run keeps its work beside --out
    if out.is_dir() and any(out.iterdir()) and not (out / "manifest.json").is_file():
        raise ConfigError(
            f"--out: {str(out)!r} is a folder with other files (no manifest.json of an "
            "earlier livesim run); livesim replaces its output folder whole, so choose "
            "a new or empty folder"
        )


def write_outputs(
    result: SimulationResult,
    scenario: Scenario,
    out: Path,
    comparison: Comparison | None = None,
    fmt: str = DEFAULT_FORMAT,
) -> Path:
    """Write tables (CSV and/or Parquet, `fmt`, with columns.json), manifest,
    figures, report.md and report.html to `out`, atomically; with a comparison
    also its tables and figures."""
    out = out.resolve()
    check_out_folder(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    remove_debris(out)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    umask = os.umask(0)
    os.umask(umask)
    tmp.chmod(0o777 & ~umask)  # mkdtemp makes it private; the output is not
    try:
        write_tables(tmp, result_tables(result, comparison), fmt)
        figures = draw_all(result, tmp / "figures", scenario.target_gmv)
        if comparison is not None:
            figures = [
                strategy_distributions(
                    result,
                    tmp / "figures" / "strategy_distributions.png",
                    scenario.target_gmv,
                ),
                forest(comparison.baseline_pairs(), tmp / "figures" / "forest.png"),
                *figures,
            ]
            if len(comparison.breakeven):
                path = tmp / "figures" / "breakeven.png"
                figures.insert(
                    1, breakeven(result.campaign, comparison.breakeven, path)
                )
        write_report(
            result,
            tmp,
            figures,
            scenario.description,
            comparison,
            scenario.target_gmv,
        )
        manifest = dict(
            result.manifest,
            files=sorted(
                str(p.relative_to(tmp)) for p in tmp.rglob("*") if p.is_file()
            ),
        )
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
        _swap_into_place(tmp, out)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise OSError(
            exc.errno, f"writing --out {str(out)!r} failed: {exc.strerror}"
        ) from exc
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def result_tables(
    result: SimulationResult, comparison: Comparison | None = None
) -> dict[str, pd.DataFrame]:
    """The tables of a run (and of a comparison), by file name without suffix."""
    tables = {
        "replications": result.replications,
        "summary": result.summary,
        "timeseries": result.timeseries,
    }
    if result.events is not None:
        tables["events"] = result.events
    if comparison is not None:
        tables["pairs"] = comparison.pairs
        tables["strategies"] = comparison.strategies
        if len(comparison.breakeven):
            tables["breakeven"] = comparison.breakeven
    return tables


def remove_debris(out: Path) -> None:
    """Remove what a write into `out` killed midway left beside it: its temporary
    folder (`.<name>.tmp-*`) and an earlier output moved aside (`.<name>.old-*`;
    put back in place first if `out` itself is gone)."""
    for old in sorted(out.parent.glob(f".{out.name}.old-*")):
        if not out.exists():
            os.replace(old, out)
        else:
            shutil.rmtree(old, ignore_errors=True)
    for tmp in out.parent.glob(f".{out.name}.tmp-*"):
        shutil.rmtree(tmp, ignore_errors=True)


def _swap_into_place(tmp: Path, out: Path) -> None:
    old = None
    if out.exists():
        old = out.with_name(f".{out.name}.old-{os.getpid()}")
        os.replace(out, old)
    try:
        os.replace(tmp, out)
    except BaseException:
        if old is not None:  # put the previous output back where it was
            os.replace(old, out)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def check_out_file(out: Path) -> None:
    """Refuse an output file path that cannot be written (before any work)."""
    if out.is_dir():
        raise ConfigError(f"--out: {str(out)!r} is a folder; give a file name")
    check_no_file_in_the_way(out, list(out.parents))
    check_writable(out.parent)


def check_writable(out: Path, beside: bool = False) -> None:
    """Refuse `out` when livesim could not write there: the folder itself if it
    exists, else the nearest folder above it that does (where it is made); with
    `beside` also the folder it is in (a run keeps its temporary and unfinished
    work beside its output folder).

    Writing is tried, not guessed from permission bits (root ignores them, a
    read-only file system does not): a probe file is made and removed at once.
    """
    above = next((p for p in out.parents if p.exists()), None)
    if out.exists() and not beside:
        above = None  # the folder is there and nothing is written beside it
    places = [p for p in (out, above) if p is not None and p.is_dir()]
    for place in dict.fromkeys(places):
        try:
            fd, probe = tempfile.mkstemp(dir=place, prefix=".livesim-probe-")
            os.close(fd)
            os.unlink(probe)
        except OSError as exc:
            where = "" if place == out else f" (the folder {str(place)!r})"
            raise ConfigError(
                f"--out: {str(out)!r}{where} cannot be written: {exc.strerror}; "
                "choose another folder"
            ) from None


def check_no_file_in_the_way(out: Path, folders: list[Path]) -> None:
    """Refuse `out` when one of `folders` (on its way) exists as a file."""
    for parent in folders:
        if parent.exists() and not parent.is_dir():
            raise ConfigError(
                f"--out: {str(out)!r}: {str(parent)!r} is a file, not a folder"
            )
