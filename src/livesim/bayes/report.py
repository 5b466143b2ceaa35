"""The calibration report (report.md and a self-contained report.html) and its
figures: generations, marginal posteriors against priors, pairs with
correlations, and the posterior predictive check."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from livesim.report.blocks import Block
from livesim.report.figures import COLORS, _save, pyplot
from livesim.report.html import to_html
from livesim.report.markdown import to_markdown

if TYPE_CHECKING:
    from livesim.bayes.abc import AbcResult

#: |correlation| from which two parameters form a ridge (said in words).
RIDGE = 0.5


def weighted_quantile(x: np.ndarray, w: np.ndarray, q: float) -> float:
    """The q-quantile of values x with weights w (the inverse of their CDF)."""
    order = np.argsort(x, kind="stable")
    cum = np.cumsum(w[order]) / np.sum(w)
    return float(x[order][min(int(np.searchsorted(cum, q)), len(x) - 1)])


def marginals(result: AbcResult) -> pd.DataFrame:
    """Per free parameter: posterior median and 90% credible interval against the
    prior's, and how much narrower the posterior is."""
    w = result.posterior["weight"].to_numpy()
    rows = []
    for prior in result.request.free:
        x = result.posterior[prior.name].to_numpy()
        lo, mid, hi = (weighted_quantile(x, w, q) for q in (0.05, 0.5, 0.95))
        p_lo, p_mid, p_hi = (float(v) for v in prior.ppf(np.array([0.05, 0.5, 0.95])))
        rows.append(
            {
                "parameter": prior.name,
                "posterior_median": mid,
                "ci90_low": lo,
                "ci90_high": hi,
                "prior_median": p_mid,
                "prior90_low": p_lo,
                "prior90_high": p_hi,
                "width_vs_prior": (hi - lo) / (p_hi - p_lo)
                if p_hi > p_lo
                else math.nan,
            }
        )
    return pd.DataFrame(rows)


def _scale(x: np.ndarray) -> np.ndarray:
    """Values on a log scale where all are positive (multiplicative effects make
    straight ridges there), else as they are."""
    return np.log(x) if np.all(x > 0) else x


def correlations(result: AbcResult) -> pd.DataFrame:
    """Weighted correlation of every pair (on log scales for positive values)."""
    w = result.posterior["weight"].to_numpy()
    names = result.names
    rows = []
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            x = _scale(result.posterior[a].to_numpy())
            y = _scale(result.posterior[b].to_numpy())
            cov = np.cov(x, y, aweights=w)
            denom = math.sqrt(cov[0, 0] * cov[1, 1])
            r = float(cov[0, 1] / denom) if denom > 0 else math.nan
            rows.append({"a": a, "b": b, "correlation": r})
    return pd.DataFrame(rows, columns=["a", "b", "correlation"])


def ridge_words(pairs: pd.DataFrame) -> list[str]:
    """A sentence per strongly correlated pair: what the data do not separate."""
    out = []
    for row in pairs.itertuples():
        r = float(row.correlation)  # type: ignore[arg-type]
        if math.isfinite(r) and abs(r) >= RIDGE:
            combo = "their product" if r < 0 else "their ratio"
            out.append(
                f"**{row.a} and {row.b} form a ridge** (correlation {r:+.2f}): the "
                f"observations do not separate them; they pin down {combo} (on a log "
                "scale) rather than each one. A second, independent observation that "
                "moves one of them alone would."
            )
    return out


def marginal_figure(result: AbcResult, path: Path) -> Path:
    plt = pyplot()
    names = result.names
    fig, axes = plt.subplots(1, len(names), figsize=(4.2 * len(names), 3.2))
    axes = np.atleast_1d(axes)
    w = result.posterior["weight"].to_numpy()
    for ax, name in zip(axes, names, strict=True):
        prior = result.prior_draws[name].to_numpy()
        post = result.posterior[name].to_numpy()
        lo = min(float(np.quantile(prior, 0.005)), float(post.min()))
        hi = max(float(np.quantile(prior, 0.995)), float(post.max()))
        ax.hist(
            prior,
            bins=np.linspace(lo, hi, 40),
            density=True,
            color=COLORS[5],
            alpha=0.45,
            label="prior",
        )
        ax.hist(
            post,
            bins=25,
            weights=w,
            density=True,
            color=COLORS[0],
            alpha=0.8,
            label="posterior",
        )
        ax.set_xlim(lo, hi)
        for q in (0.05, 0.95):
            ax.axvline(weighted_quantile(post, w, q), color=COLORS[0], ls="--", lw=1)
        ax.set_title(name)
        ax.set_yticks([])
    axes[0].legend(frameon=False, fontsize=8)
    fig.suptitle("Marginal posteriors (90% credible interval dashed) against priors")
    return _save(fig, path)


def pairs_figure(result: AbcResult, path: Path) -> Path:
    plt = pyplot()
    names = result.names
    k = len(names)
    fig, axes = plt.subplots(k, k, figsize=(2.6 * k + 0.6, 2.6 * k), squeeze=False)
    w = result.posterior["weight"].to_numpy()
    size = 4 + 60 * w / w.max()
    table = correlations(result).set_index(["a", "b"])["correlation"]
    for i, a in enumerate(names):
        for j, b in enumerate(names):
            ax = axes[i][j]
            if i == j:
                ax.hist(result.posterior[a], bins=30, weights=w, color=COLORS[0])
                ax.set_yticks([])
            elif i > j:
                ax.scatter(
                    result.posterior[b],
                    result.posterior[a],
                    s=size,
                    alpha=0.35,
                    color=COLORS[0],
                    lw=0,
                )
            else:
                r = table.get((a, b), table.get((b, a), math.nan))
                ax.text(
                    0.5,
                    0.5,
                    f"r = {r:+.2f}",
                    ha="center",
                    va="center",
                    fontsize=12,
                    color=COLORS[4] if abs(r) >= RIDGE else "#333",
                )
                ax.set_xticks([])
                ax.set_yticks([])
            if i == k - 1:
                ax.set_xlabel(b)
            if j == 0:
                ax.set_ylabel(a)
    fig.suptitle("Posterior pairs (point size: weight); correlations of log values")
    return _save(fig, path)


def predictive_figure(result: AbcResult, path: Path) -> Path:
    plt = pyplot()
    table = result.predictive
    n = len(table)
    fig, ax = plt.subplots(figsize=(7.5, 0.45 * n + 1.4))
    scale = table["observed"].abs().where(table["observed"] != 0, 1.0)
    y = np.arange(n)[::-1]
    lo = table["predictive_p5"] / scale
    hi = table["predictive_p95"] / scale
    ax.hlines(y, lo, hi, color=COLORS[0], lw=4, alpha=0.6, label="predictive 90%")
    ax.plot(table["predictive_median"] / scale, y, "|", color=COLORS[0], ms=12)
    ax.plot(table["observed"] / scale, y, "o", color=COLORS[1], label="observed")
    ax.set_yticks(y, [s[:40] for s in table["summary"]])
    ax.set_xlabel("relative to the observed value")
    ax.legend(frameon=False, fontsize=8, loc="lower right")
    ax.set_title("Posterior predictive check")
    return _save(fig, path)


def report_blocks(result: AbcResult, figures: list[Path]) -> list[Block]:
    """The report: a Summary (question, answer, what it covers, what could flip
    it, the cost side), the figures, then the tables."""
    req = result.request
    gens = result.generations
    marg = marginals(result)
    pairs = correlations(result)
    blocks = [
        Block("h1", f"Calibration of {req.scenario.name}"),
        Block("h2", "Summary"),
        Block("p", _question(result)),
        *(Block("p", text) for text in _answers(result, marg)),
        Block("p", _covers(result)),
        Block("p", _flip(result, pairs)),
        Block(
            "p",
            "**The cost side** does not enter the fit: costs change ROI, not the "
            "observed summaries. Run the scenario with this posterior (`livesim run "
            "--posterior`) to see ROI with these parameters' uncertainty.",
        ),
    ]
    blocks += [
        Block("figure", path.stem.replace("_", " "), path=path) for path in figures
    ]
    blocks += [
        Block("h2", "Generations"),
        Block(
            "table",
            frame=gens,
            formats={"temperature": ".4g", "acceptance_rate": ".2%", "ess": ",.0f"},
        ),
        Block("h2", "Marginal posteriors"),
        Block("table", frame=marg, formats={c: ".4g" for c in marg.columns}),
        Block("h2", "Correlations"),
        Block("table", frame=pairs, formats={"correlation": "+.2f"}),
        Block("h2", "Posterior predictive check"),
        Block(
            "table",
            frame=result.predictive,
            formats={"tail_probability": ".2f", "sd": ",.4g"},
        ),
    ]
    return blocks


def _question(result: AbcResult) -> str:
    names = result.request.observations.names
    shown = ", ".join(f"`{n}`" for n in names[:5]) + (" ..." if len(names) > 5 else "")
    free = ", ".join(f"`{n}`" for n in result.names)
    return (
        f"**The question:** which values of {free} "
        f"make `{result.request.scenario.name}` reproduce the {len(names)} observed "
        f"summaries ({shown}) within their errors?"
    )


def _answers(result: AbcResult, marg: pd.DataFrame) -> list[str]:
    lines = [
        f"**{row.parameter}**: {row.posterior_median:.4g} (90% credible "
        f"interval {row.ci90_low:.4g} to {row.ci90_high:.4g}; prior "
        f"{row.prior90_low:.4g} to {row.prior90_high:.4g}, the posterior is "
        f"{row.width_vs_prior:.0%} as wide)."
        for row in marg.itertuples()
    ]
    lines[0] = "**The answer:** " + lines[0]
    return lines


def _covers(result: AbcResult) -> str:
    req, gens = result.request, result.generations
    text = (
        "**What it covers:** the credible intervals cover parameter uncertainty "
        "given the observations and their errors, with simulation noise; every "
        "other prior of the scenario was drawn in every simulation (integrated "
        f"out). ABC-SMC (pyabc): {result.simulations:,} simulations in "
        f"{result.seconds:,.0f} s, {len(gens)} generations of "
        f"{req.spec.population} particles, engine {req.engine}, seed {req.seed}."
    )
    if not result.reached:
        text += (
            " **The final temperature was not reached** (time budget or "
            f"generations): the last is {gens['temperature'].iloc[-1]:.4g}, not "
            f"{req.spec.tolerance:g}. This posterior is tempered, wider than the "
            "exact one; rerun with --resume and more generations."
        )
    return text


def _flip(result: AbcResult, pairs: pd.DataFrame) -> str:
    ridges = ridge_words(pairs)
    if ridges:
        said = " ".join(ridges)
    elif len(pairs):
        said = (
            f"No pair is correlated beyond |r| = {RIDGE}: the observations "
            "separate the parameters."
        )
    else:
        said = ""
    worst = result.predictive.sort_values("tail_probability").iloc[0]
    return (
        f"**What could flip it:** the observations' errors and the priors. {said} "
        "Posterior predictive check: the smallest tail probability is "
        f"{worst['tail_probability']:.2f} ({worst['summary']}); values below 0.05 "
        "mean the model cannot reproduce that observation at any parameter value "
        "the posterior allows."
    ).replace("  ", " ")


def write_calibration_report(result: AbcResult, folder: Path) -> list[Path]:
    """The figures, report.md and report.html in `folder`."""
    figs = folder / "figures"
    figs.mkdir(exist_ok=True)
    figures = [
        marginal_figure(result, figs / "marginals.png"),
        predictive_figure(result, figs / "predictive_check.png"),
    ]
    if len(result.names) > 1:
        figures.insert(1, pairs_figure(result, figs / "pairs.png"))
    blocks = report_blocks(result, figures)
    from livesim.atomic import write_text_atomic

    md, page = folder / "report.md", folder / "report.html"
    write_text_atomic(md, to_markdown(blocks, folder))
    write_text_atomic(
        page, to_html(blocks, f"livesim calibration: {result.request.scenario.name}")
    )
    return [md, page, *figures]
