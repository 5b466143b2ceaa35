"""The reports a strategist forwards: a Summary first, figures, then tables.

Structure is checked on the files; a real headless Chromium opens each report.html
at 1280 px and checks that the Summary comes first, every figure has loaded and no
table is wider than the page.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pytest

from livesim import bundled_scenario
from livesim.cli import main

QUIET = ["-w", "1", "--no-progress"]


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A run, a comparison and an optimization of small scenarios."""
    from test_optimize import knapsack_config
    from test_optimize import write as write_config

    folder = tmp_path_factory.mktemp("reports")
    tiny = str(bundled_scenario("teaching_tiny"))
    out = {"run": folder / "run", "compare": folder / "compare"}
    assert main(["run", tiny, "-n", "6", *QUIET, "--out", str(out["run"])]) == 0
    assert main(["compare", tiny, "-n", "8", *QUIET, "--out", str(out["compare"])]) == 0
    config = knapsack_config(replications=2, final_replications=4, finalists=2)
    path = write_config(folder, config)
    out["optimize"] = folder / "optimize"
    assert main(["optimize", str(path), *QUIET, "--out", str(out["optimize"])]) == 0
    return out


@pytest.mark.parametrize("kind", ["run", "compare", "optimize"])
def test_every_report_opens_with_its_summary(
    reports: dict[str, Path], kind: str
) -> None:
    md = reports[kind] / ("optimize.md" if kind == "optimize" else "report.md")
    headings = [line for line in md.read_text().splitlines() if line.startswith("## ")]
    assert headings[0] == "## Summary", headings
    summary = md.read_text().split("## Summary", 1)[1].split("\n## ", 1)[0]
    assert "**The question:**" in summary and "**The answer" in summary
    assert "**The cost side" in summary
    assert "simulation noise only" in summary  # no priors here: said plainly
    html = (reports[kind] / "report.html").read_text(encoding="utf-8")
    assert html.index("<h2>Summary</h2>") < html.index("<img")
    assert html.index("<img") < html.index("<table")


def test_a_comparison_reports_pairs_with_the_baseline_only(
    reports: dict[str, Path],
) -> None:
    import pandas as pd

    html = (reports["compare"] / "report.html").read_text(encoding="utf-8")
    assert "<details><summary>" in html  # long tables folded away
    pairs = pd.read_csv(reports["compare"] / "pairs.csv")
    assert set(pairs["first"]) == {"baseline"}  # two strategies: one pair
    summary = html.split("<h2>Summary</h2>", 1)[1].split("<h2>", 1)[0]
    assert "baseline" in summary and "kos_only" in summary


def _driver(profile: str) -> Any:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    from test_app_browser import CHROME_FLAGS, CHROMEDRIVER, _require_browser

    _require_browser()
    options = webdriver.ChromeOptions()
    for flag in CHROME_FLAGS:
        options.add_argument(flag)
    options.add_argument("--window-size=1280,800")
    options.add_argument(f"--user-data-dir={profile}")
    return webdriver.Chrome(
        service=Service(executable_path=str(CHROMEDRIVER)), options=options
    )


@pytest.mark.slow
def test_reports_in_a_browser(reports: dict[str, Path]) -> None:
    """Summary first, figures loaded, no table overflowing the page at 1280 px."""
    from selenium.webdriver.common.by import By

    with tempfile.TemporaryDirectory() as profile:
        driver = _driver(profile)
        try:
            for kind, folder in reports.items():
                driver.get((folder / "report.html").as_uri())
                first = driver.find_elements(By.TAG_NAME, "h2")[0]
                assert first.text == "Summary", kind
                for img in driver.find_elements(By.TAG_NAME, "img"):
                    width = driver.execute_script(
                        "return arguments[0].naturalWidth", img
                    )
                    assert width > 0, (kind, img.get_attribute("alt"))
                page = driver.execute_script(
                    "return document.documentElement.clientWidth"
                )
                for table in driver.find_elements(By.TAG_NAME, "table"):
                    right = driver.execute_script(
                        "return arguments[0].getBoundingClientRect().right", table
                    )
                    assert right <= page + 1, (kind, right, page)
        finally:
            driver.quit()
