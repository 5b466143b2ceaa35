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


#: Each report's markdown twin (the lsq fit has none), and its page.
MARKDOWN = {"optimize": "optimize.md", "sensitivity": "sensitivity.md", "fit": None}
PAGES = {"fit": "fit.html"}
#: What each Summary says the intervals cover.
COVERS = {
    "run": "simulation noise only",
    "compare": "simulation noise only",
    "optimize": "simulation noise only",
    "sensitivity": "Noise left in the means",
    "calibrate": "parameter uncertainty given the observations",
    "fit": "It is not a credible interval",
}


def page_of(reports: dict[str, Path], kind: str) -> Path:
    """A report's HTML page."""
    return reports[kind] / PAGES.get(kind, "report.html")


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A run, a comparison, an optimization, a sensitivity analysis and a
    calibration of small scenarios: every kind of report."""
    from test_optimize import knapsack_config
    from test_optimize import write as write_config
    from test_sensitivity import write as write_sensitivity

    folder = tmp_path_factory.mktemp("reports")
    tiny = str(bundled_scenario("teaching_tiny"))
    out = {"run": folder / "run", "compare": folder / "compare"}
    assert main(["run", tiny, "-n", "6", *QUIET, "--out", str(out["run"])]) == 0
    assert main(["compare", tiny, "-n", "8", *QUIET, "--out", str(out["compare"])]) == 0
    config = knapsack_config(replications=2, final_replications=4, finalists=2)
    path = write_config(folder, config)
    out["optimize"] = folder / "optimize"
    assert main(["optimize", str(path), *QUIET, "--out", str(out["optimize"])]) == 0
    out["sensitivity"] = folder / "sensitivity"
    sens = str(write_sensitivity(folder))
    assert main(["sensitivity", sens, *QUIET, "--out", str(out["sensitivity"])]) == 0
    out["calibrate"] = folder / "calibrate"
    calibration = _calibration(folder)
    argv = ["calibrate", str(calibration), "--population", "40", "--generations", "2"]
    assert main([*argv, *QUIET, "--out", str(out["calibrate"])]) == 0
    out["fit"] = folder / "fit"
    out["fit"].mkdir()
    assert (
        main([*_least_squares(folder), *QUIET, "--out", str(out["fit"] / "fit.json")])
        == 0
    )
    return out


def _least_squares(folder: Path) -> list[str]:
    from test_calibrate import CAL_TOML

    path = folder / "fitted.toml"
    path.write_text(CAL_TOML, encoding="utf-8")
    return ["calibrate", str(path), "--target", "gmv=20000"]


def _calibration(folder: Path) -> Path:
    """test_bayes' recovery scenario with two observed medians."""
    pytest.importorskip("pyabc")
    from test_bayes import SCENARIO

    targets = (
        "[calibration.targets]\norders = { value = 40.0, rel_sd = 0.1 }\n"
        "unique_viewers = { value = 600.0, rel_sd = 0.1 }\n"
    )
    path = folder / "calibrated.toml"
    path.write_text(SCENARIO + targets, encoding="utf-8")
    return path


@pytest.mark.parametrize("kind", list(COVERS))
def test_every_report_opens_with_its_summary(
    reports: dict[str, Path], kind: str
) -> None:
    html = page_of(reports, kind).read_text(encoding="utf-8")
    headings = [part.split("</h2>", 1)[0] for part in html.split("<h2>")[1:]]
    assert headings[0] == "Summary", headings
    summary = html.split("<h2>Summary</h2>", 1)[1].split("<h2>", 1)[0]
    for part in ("The question:", "The answer", "What could flip it", "The cost side"):
        assert f"<strong>{part}" in summary, (kind, part)
    assert COVERS[kind] in summary  # what the intervals cover, said plainly
    figures = html.find("<img")
    assert figures == -1 or html.index("<h2>Summary</h2>") < figures < html.index(
        "<table"
    )
    name = MARKDOWN.get(kind, "report.md")
    if name is not None:  # the markdown twin says the same, Summary first
        md = (reports[kind] / name).read_text(encoding="utf-8")
        first = next(line for line in md.splitlines() if line.startswith("## "))
        assert first == "## Summary" and COVERS[kind] in md


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
            for kind in reports:
                driver.get(page_of(reports, kind).as_uri())
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


def _overlapping(fig: Any) -> list[tuple[str, str]]:
    """Pairs of the figure's visible texts whose boxes overlap on the canvas."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    texts = [t for t in fig.findobj(lambda a: hasattr(a, "get_text")) if t.get_text()]
    boxes = [(t.get_text(), t.get_window_extent(renderer)) for t in texts]
    return [
        (a, b)
        for i, (a, box) in enumerate(boxes)
        for b, other in boxes[i + 1 :]
        if box.overlaps(other) and a.startswith("#") and b.startswith("#")
    ]


def test_finalists_of_one_cost_keep_legible_labels() -> None:
    """Finalists that cost the same (as the KOS101 optimization's do) are dodged:
    their rank labels do not overlap, and every finalist is named below."""
    import pandas as pd

    from livesim.report.figures import pyplot
    from livesim.report.optimize_figure import draw

    costs = [55_000.0, 55_000.0, 55_000.0, 50_000.0]
    table = pd.DataFrame(
        {
            "cost": costs * 3,
            "objective": [6.1e6, 6.0e6, 5.9e6, 5.7e6] * 3,
            "depth": [0.0, 0.2, 0.0, 0.2] * 3,
            "round": [1] * 12,
        }
    )
    fin = pd.DataFrame(
        {
            "cost": costs,
            "objective": [6.2e6, 6.15e6, 6.1e6, 5.9e6],
            "objective_ci_low": [5.7e6, 5.7e6, 5.6e6, 5.4e6],
            "objective_ci_high": [6.7e6, 6.6e6, 6.6e6, 6.3e6],
            "screening_objective": [6.1e6, 6.0e6, 5.9e6, 5.7e6],
            "final_rank": [1, 2, 3, 4],
            "winner": [True, False, False, False],
        }
    )
    names = ["11 KOS", "10 KOS + 1 KOC", "9 KOS + 2 KOC", "10 KOS"]
    fig = draw(
        table,
        fin,
        label="mean net GMV (RMB)",
        money=True,
        budget=55_000.0,
        title="t",
        names=names,
    )
    try:
        assert _overlapping(fig) == []
        shown = " ".join(t.get_text() for t in fig.texts)
        assert all(f"#{k}: {n}" in shown for k, n in enumerate(names, start=1))
    finally:
        pyplot().close(fig)
