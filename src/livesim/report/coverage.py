"""What a run's distributions cover, in words: simulation noise alone, or parameter
uncertainty and simulation noise, with the share the parameters explain and the
priors that drive the spread (docs/model.md, section 16). Every place that shows a
distribution (report.md/html, the command line) says it with these words."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

#: Drivers named in the words (the summary keeps them all).
TOP_DRIVERS = 3


def coverage(manifest: dict[str, Any], summary: pd.DataFrame | None = None) -> str:
    """One paragraph: what the intervals and probabilities of a run include."""
    priors = list(manifest.get("priors") or [])
    if priors and "noise only" in str(manifest.get("distributions_cover", "")):
        return (
            "**These distributions cover simulation noise only:** every prior is "
            "at its median (docs/model.md, section 16)."
        )
    if not priors and manifest.get("priors_off"):
        off = list(manifest["priors_off"])
        return (
            "**These distributions cover simulation noise only:** the scenario's "
            f"{len(off)} prior{'s' if len(off) > 1 else ''} ({', '.join(off)}) "
            "were switched off (`--fixed`), so every parameter is at its set value "
            "and the intervals and probabilities below do not include what is not "
            "known about them (docs/model.md, section 16)."
        )
    if not priors:
        return (
            "**These distributions cover simulation noise only:** every parameter is "
            "fixed at the scenario's value, and most are assumptions (docs/model.md, "
            "section 6), so the intervals and probabilities below do not include "
            "what is not known about them; `[[uncertainty]]` priors add it "
            "(section 16)."
        )
    text = (
        "**These distributions cover parameter uncertainty and simulation noise:** "
        f"{len(priors)} prior{'s' if len(priors) > 1 else ''} ({', '.join(priors)}), "
        f"{manifest.get('parameter_draws')} parameter draws of "
        f"{manifest.get('inner_replications')} replication(s) each (docs/model.md, "
        "section 16)."
    )
    post = manifest.get("posterior")
    if post:
        text += (
            f" {', '.join(post['parameters'])} are drawn from the calibration's "
            f"posterior `{post['file']}` ({post['particles']} particles, SHA-256 "
            f"{post['sha256'][:12]}), the others from their priors."
        )
    if summary is not None:
        text += _explained(summary)
    return text


def _explained(summary: pd.DataFrame) -> str:
    """The parameters' share of the spread of net GMV, and its drivers (for the
    first strategy), in words; empty where the summary has neither."""
    rows = summary[summary["scope"] == "campaign"]
    if rows.empty:
        return ""
    first = rows["strategy"].iloc[0]
    rows = rows[rows["strategy"] == first]
    out = ""
    share = rows[rows["metric"] == "net_gmv.parameter_share"]
    if len(share) and not math.isnan(float(share["mean"].iloc[0])):
        r = share.iloc[0]
        fmt = ".1%" if r["ci_high"] > 0.99 else ".0%"
        out += (
            f" For {first}, the parameters account for {r['mean']:{fmt}} of the "
            f"variance of net GMV (95% CI {r['ci_low']:{fmt}} to "
            f"{r['ci_high']:{fmt}}), simulation noise for the rest."
        )
    drivers = rows[rows["metric"].str.startswith("net_gmv.explained_by.")]
    drivers = drivers.dropna(subset=["mean"]).head(TOP_DRIVERS)
    if len(drivers):
        named = ", ".join(
            f"{m.removeprefix('net_gmv.explained_by.')} ({v:.0%})"
            for m, v in zip(drivers["metric"], drivers["mean"], strict=True)
        )
        out += (
            f" The priors that drive its spread most (share of the variance a line "
            f"in each explains): {named}."
        )
    return out
