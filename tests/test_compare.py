"""Strategy comparison: paired differences, bootstrap CIs, files as strategies."""

from __future__ import annotations

import copy
import html.parser
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from helpers import BASE
from livesim.cli import main
from livesim.compare import compare, paired
from livesim.errors import ConfigError
from livesim.scenario import scenario_from_dict


def scenario(name: str = "cmp", **strategies: Any) -> Any:
    data = copy.deepcopy(BASE)
    data["name"] = name
    data["target_gmv"] = 5_000.0
    data["hosts"][0]["followers"] = 5000
    data["streams"][0]["promotions"] = [{"start": 0, "duration": 60, "discount": 0.1}]
    data["strategies"] = strategies
    return scenario_from_dict(data)


def deeper(depth: float) -> dict[str, Any]:
    stream = copy.deepcopy(BASE["streams"][0])
    stream["promotions"] = [{"start": 0, "duration": 60, "discount": depth}]
    return {"streams": [stream]}


def test_identical_strategies_differ_by_nothing() -> None:
    """Common random numbers: a strategy identical to the baseline gives zero
    paired differences, so every CI covers zero."""
    result = compare(scenario(same=deeper(0.1)), replications=20, seed=5)
    pairs = result.pairs
    assert len(pairs) == 3  # one pair, three metrics
    assert (pairs["mean_diff"] == 0).all()
    assert ((pairs["ci_low"] <= 0) & (pairs["ci_high"] >= 0)).all()
    assert (pairs["p_first_higher"] == 0.5).all()


def test_a_file_strategy_identical_to_the_baseline_differs_by_nothing() -> None:
    one = scenario()
    two = scenario(name="copy")
    result = compare(one, [two], replications=15, seed=2)
    gmv = result.pairs[result.pairs["metric"] == "net_gmv"].iloc[0]
    assert (gmv["first"], gmv["second"]) == ("baseline", "copy")
    assert gmv["mean_diff"] == 0 and gmv["ci_low"] <= 0 <= gmv["ci_high"]


def test_a_deeper_discount_wins_clearly() -> None:
    result = compare(scenario(deep=deeper(0.4)), replications=30, seed=1)
    orders = result.pairs[result.pairs["metric"] == "orders"].iloc[0]
    assert orders["ci_high"] < 0  # baseline minus deep: fewer orders
    assert orders["p_first_higher"] < 0.2
    table = result.strategies.set_index("strategy")
    assert table.loc["deep", "mean_orders"] > table.loc["baseline", "mean_orders"]
    assert {"p_net_gmv_ge_target", "budget", "median_ci_low"} <= set(table.columns)


def test_bootstrap_interval_covers_a_known_mean() -> None:
    """Over many samples with a known mean difference, the 95% interval covers it
    in about 95% of them (here: between 88% and 99% of 200)."""
    rng = np.random.default_rng(0)
    covered = 0
    for k in range(200):
        a = rng.normal(1.0, 1.0, 40)
        b = rng.normal(0.0, 1.0, 40)
        row = paired(a, b, seed=k)
        covered += row["ci_low"] <= 1.0 <= row["ci_high"]
    assert 176 <= covered <= 198


def test_name_clashes_and_single_strategies_are_refused() -> None:
    with pytest.raises(ConfigError, match="occur twice"):
        compare(scenario(deep=deeper(0.2)), [scenario(name="deep")], replications=2)
    with pytest.raises(ConfigError, match="at least two strategies"):
        compare(scenario(), replications=2)


class _Images(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.images: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "img":
            self.images.append(dict(attrs).get("src") or "")


@pytest.mark.slow
def test_cli_compare_writes_a_self_contained_report(tmp_path: Path) -> None:
    path = tmp_path / "a.toml"
    path.write_text(
        """
name = "a"
target_gmv = 5000.0
[[products]]
id = "p"
price = 100.0
[[hosts]]
id = "h"
kind = "KOS"
followers = 5000
[[streams]]
id = "s"
host = "h"
duration = 60
products = ["p"]
[strategies.more_push.platform]
gpm_boost = 2.0
"""
    )
    other = tmp_path / "b.toml"
    other.write_text(path.read_text().replace('name = "a"', 'name = "b"'))
    out = tmp_path / "out"
    code = main(
        [
            "compare",
            str(path),
            str(other),
            "-n",
            "8",
            "-w",
            "1",
            "--no-progress",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    names = {p.name for p in out.iterdir()}
    assert {"report.md", "report.html", "pairs.csv", "strategies.csv"} <= names
    figures = {p.name for p in (out / "figures").iterdir()}
    expected = {
        "strategy_distributions.png",
        "forest.png",
        "funnel_by_kind.png",
        "timeline.png",
        "gmv_distribution.png",
    }
    assert expected <= figures
    page = _Images()
    page.feed((out / "report.html").read_text())
    assert len(page.images) == len(figures)
    assert all(src.startswith("data:image/png;base64,") for src in page.images)
    report = (out / "report.md").read_text()
    assert "**more_push**" in report and "**b**" in report
    assert (
        main(
            [
                "compare",
                str(path),
                "--no-progress",
                "--out",
                str(tmp_path / "o"),
                "-n",
                "2",
                "-w",
                "1",
                "--strategy",
                "baseline",
            ]
        )
        == 2
    )


def test_budget_counts_a_fee_per_stream() -> None:
    """A host with two streams is paid twice, as in the cost column."""
    from livesim.compare import budget

    data = copy.deepcopy(BASE)
    data["hosts"][0].update(fee=1000.0, gift_value=0.0)
    second = dict(data["streams"][0], id="s2", start=60)
    data["streams"].append(second)
    assert budget(scenario_from_dict(data), "baseline") == 2000.0
