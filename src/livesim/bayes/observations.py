"""What a calibration compares: observed summaries, their errors, and how one
simulated replication is summarised the same way (docs/model.md, section 11).

Three kinds of observation, any mix: campaign totals (`[calibration.targets]`,
metric = value or {value, rel_sd}), a table of observed streams (`observed`: a
`stream` column and columns named as replications.csv metrics) and one stream's
minutes (`observed_timeseries`: `scope` = the stream id, `minute` as in
timeseries.csv, and timeseries columns), compared as means over blocks of
`block_minutes`. Every summary has an observation error, a standard deviation:
rel_sd x |value| for targets; for the files, `observed_rel_sd` x |value| with a
floor of `observed_rel_sd` x the mean |value| of its column (a zero count is not
known exactly either).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from livesim.calibrate import ALIASES, METRICS
from livesim.engines.output import TIMESERIES_COLUMNS
from livesim.errors import ConfigError
from livesim.results import ADDITIVE, row_totals

if TYPE_CHECKING:
    from livesim.calibration_schema import Calibration
    from livesim.engines.output import SessionOutput
    from livesim.scenario import Campaign

#: The per-stream metrics an observed streams table may hold.
STREAM_METRICS = [*ADDITIVE, "mean_watch_minutes", "mean_qa_wait", "conversion_rate"]


@dataclass(frozen=True)
class Observations:
    """The observed summaries (`names`, `values`, errors `sd`) and what they are:
    campaign metrics, (stream, metric) pairs, and blocks of one stream's minutes."""

    names: tuple[str, ...]
    values: np.ndarray
    sd: np.ndarray
    campaign: tuple[str, ...] = ()
    streams: tuple[tuple[str, str], ...] = ()
    series_stream: str | None = None
    series: tuple[tuple[str, int, int], ...] = ()  # (column, first, end) minutes

    def summarize(self, output: SessionOutput) -> np.ndarray:
        """One replication's summaries, in the order of `names`."""
        out: list[float] = []
        if self.campaign:
            totals = row_totals(output.rows)
            out += [totals[m] for m in self.campaign]
        if self.streams:
            rows = {row["stream"]: row for row in output.rows}
            out += [float(rows[s][m]) for s, m in self.streams]
        if self.series:
            assert self.series_stream is not None
            minutes = output.timeseries[self.series_stream]
            for column, lo, hi in self.series:
                j = TIMESERIES_COLUMNS.index(column)
                out.append(float(minutes[lo:hi, j].mean()))
        return np.asarray(out, dtype=float)


def observations(spec: Calibration, campaign: Campaign, folder: Path) -> Observations:
    """The observations of a calibration section (files relative to `folder`);
    a ConfigError lists every problem (field, value, rule)."""
    problems: list[str] = []
    names: list[str] = []
    values: list[float] = []
    sds: list[float] = []
    metrics = []
    errors = spec.target_errors()
    for key, value in spec.target_values().items():
        metric = ALIASES.get(key, key)
        if metric not in METRICS:
            problems.append(
                f"calibration.targets.{key}: not a campaign metric; choose from gmv, "
                + ", ".join(METRICS)
            )
            continue
        metrics.append(metric)
        names.append(metric)
        values.append(value)
        sds.append(errors[key] * abs(value))
    streams: list[tuple[str, str]] = []
    if spec.observed is not None:
        table = _read(folder, spec.observed, "calibration.observed", problems)
        if table is not None:
            streams = _stream_observations(table, campaign, spec, problems)
            for (stream, metric), v, sd in zip(
                streams, *_file_errors(table, streams, spec), strict=True
            ):
                names.append(f"{stream}.{metric}")
                values.append(v)
                sds.append(sd)
    series_stream: str | None = None
    series: list[tuple[str, int, int]] = []
    if spec.observed_timeseries is not None:
        path = spec.observed_timeseries
        table = _read(folder, path, "calibration.observed_timeseries", problems)
        if table is not None:
            found = _series_observations(table, campaign, spec, problems)
            if found is not None:
                series_stream, series, means = found
                errs = _floored(means, spec.observed_rel_sd, [c for c, _, _ in series])
                for (column, lo, hi), v, e in zip(series, means, errs, strict=True):
                    names.append(f"{series_stream}.{column}.minutes_{lo}_{hi}")
                    values.append(float(v))
                    sds.append(e)
    if not names and not problems:
        problems.append(
            "calibration: nothing observed; add [calibration.targets], observed or "
            "observed_timeseries"
        )
    if problems:
        raise ConfigError(problems)
    return Observations(
        names=tuple(names),
        values=np.asarray(values, dtype=float),
        sd=np.asarray(sds, dtype=float),
        campaign=tuple(metrics),
        streams=tuple(streams),
        series_stream=series_stream,
        series=tuple(series),
    )


def _read(folder: Path, name: str, field: str, problems: list[str]) -> Any:
    """A CSV file as a table, or None with the problem noted."""
    path = folder / name
    if not path.is_file():
        problems.append(f"{field}: {name!r}: no such file (relative to {folder})")
        return None
    try:
        return pd.read_csv(path)
    except (ValueError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        problems.append(f"{field}: {name!r} is not a readable CSV table ({first})")
        return None


def _numeric(table: pd.DataFrame, columns: list[str], field: str) -> list[str]:
    """Problems with columns that are not finite numbers."""
    out = []
    for c in columns:
        values = pd.to_numeric(table[c], errors="coerce")
        if values.isna().any() or not np.isfinite(values.to_numpy(float)).all():
            bad = table[c][values.isna() | ~np.isfinite(values.fillna(0))].iloc[0]
            out.append(f"{field}: column {c!r} holds {bad!r}; values must be numbers")
    return out


def _stream_observations(
    table: pd.DataFrame, campaign: Campaign, spec: Calibration, problems: list[str]
) -> list[tuple[str, str]]:
    field = f"calibration.observed ({spec.observed})"
    if "stream" not in table.columns:
        problems.append(f"{field}: needs a 'stream' column of stream ids")
        return []
    columns = [c for c in table.columns if c != "stream"]
    unknown = [c for c in columns if c not in STREAM_METRICS]
    if unknown:
        problems.append(
            f"{field}: unknown column {unknown[0]!r}; columns are stream metrics of "
            f"replications.csv: {', '.join(STREAM_METRICS)}"
        )
    ids = {s.id for s in campaign.streams}
    stream_ids = [str(s) for s in table["stream"]]
    for s in stream_ids:
        if s not in ids:
            problems.append(
                f"{field}: stream {s!r} is not a stream of the scenario "
                f"({', '.join(sorted(ids))})"
            )
    if len(set(stream_ids)) != len(stream_ids):
        problems.append(f"{field}: a stream is listed twice")
    problems += _numeric(table, [c for c in columns if c not in unknown], field)
    if not columns:
        problems.append(f"{field}: no metric columns beside 'stream'")
    return [(s, c) for s in stream_ids for c in columns]


def _file_errors(
    table: pd.DataFrame, pairs: list[tuple[str, str]], spec: Calibration
) -> tuple[list[float], list[float]]:
    """The observed values of (stream, metric) pairs and their errors."""
    if not pairs:
        return [], []
    rows = table.set_index(table["stream"].astype(str))
    values = [float(rows.at[s, m]) for s, m in pairs]  # type: ignore[arg-type]
    return values, _floored(
        np.asarray(values), spec.observed_rel_sd, [m for _, m in pairs]
    )


def _floored(values: np.ndarray, rel_sd: float, columns: list[str]) -> list[float]:
    """rel_sd x |value|, at least rel_sd x the mean |value| of its column (and
    a small absolute floor, so that an all-zero column still has an error)."""
    values = np.abs(np.asarray(values, dtype=float))
    out = []
    for v, c in zip(values, columns, strict=True):
        same = values[[k for k, d in enumerate(columns) if d == c]]
        out.append(rel_sd * max(v, float(same.mean()), 1e-6))
    return out


def _series_observations(
    table: pd.DataFrame, campaign: Campaign, spec: Calibration, problems: list[str]
) -> tuple[str, list[tuple[str, int, int]], np.ndarray] | None:
    field = f"calibration.observed_timeseries ({spec.observed_timeseries})"
    missing = [c for c in ("scope", "minute") if c not in table.columns]
    if missing:
        problems.append(
            f"{field}: needs columns 'scope' (the stream id) and 'minute' "
            "(as in timeseries.csv)"
        )
        return None
    columns = [c for c in table.columns if c not in ("scope", "minute", "strategy")]
    unknown = [c for c in columns if c not in TIMESERIES_COLUMNS]
    if unknown:
        problems.append(
            f"{field}: unknown column {unknown[0]!r}; columns are timeseries.csv's "
            f"per-minute columns: {', '.join(TIMESERIES_COLUMNS)}"
        )
    scopes = sorted({str(s) for s in table["scope"]})
    streams = {s.id: s for s in campaign.streams}
    if len(scopes) != 1 or scopes[0] not in streams:
        problems.append(
            f"{field}: 'scope' must name one stream of the scenario "
            f"({', '.join(sorted(streams))}), got {', '.join(scopes)}"
        )
        return None
    problems += _numeric(
        table, [c for c in columns if c not in unknown] + ["minute"], field
    )
    if unknown or not columns or problems:
        if not columns:
            problems.append(f"{field}: no per-minute columns beside scope and minute")
        return None
    stream = streams[scopes[0]]
    minutes = table["minute"].to_numpy(dtype=float) - stream.start
    if minutes.min() < 0 or minutes.max() >= stream.duration or (minutes % 1).any():
        problems.append(
            f"{field}: minutes must be whole numbers in the stream's span "
            f"{stream.start}..{stream.end - 1}"
        )
        return None
    full = np.full(stream.duration, math.nan)
    blocks, means = [], []
    for c in columns:
        series = full.copy()
        series[minutes.astype(int)] = table[c].to_numpy(dtype=float)
        for lo in range(0, stream.duration, spec.block_minutes):
            hi = min(lo + spec.block_minutes, stream.duration)
            if np.isnan(series[lo:hi]).any():
                continue  # a block is compared only where every minute is observed
            blocks.append((c, lo, hi))
            means.append(float(series[lo:hi].mean()))
    if not blocks:
        problems.append(
            f"{field}: no block of {spec.block_minutes} minutes is fully observed"
        )
        return None
    return stream.id, blocks, np.asarray(means)
