"""The `livesim` command line: outputs, exit codes, error messages, atomic writes.

Most tests call `livesim.cli.main` in-process; a few run the real command as a
subprocess (`python -m livesim.cli`) to check the end-to-end behaviour. Every run
uses a small scenario written to tmp_path (or the bundled teaching scenario) and
writes inside tmp_path only.
"""

from __future__ import annotations

import contextlib
import io
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import livesim
from livesim import bundled_scenario, load_scenario
from livesim.cli import main

#: One KOS host with only platform traffic, one product, one 30-minute stream:
#: a replication takes a few milliseconds.
SMALL = """\
name = "cli_small"

[[products]]
id = "p"
price = 100.0

[[hosts]]
id = "h"
kind = "KOS"
followers = 0
recommendation_rate = 5.0

[[streams]]
id = "s"
host = "h"
duration = 30
products = ["p"]
"""

TABLES = ("replications.csv", "summary.csv", "timeseries.csv")
FIGURES = ("gmv_distribution.png", "funnel_by_kind.png", "timeline.png")
QUICK = ("--replications", "2", "--workers", "1", "--no-progress")


def edited(*changes: tuple[str, str]) -> str:
    """SMALL with each (old, new) replacement made once (old must be present)."""
    text = SMALL
    for old, new in changes:
        assert old in text, old
        text = text.replace(old, new, 1)
    return text


def write(folder: Path, text: str, name: str = "scenario.toml") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    """Every file under `folder` with its bytes and modification time."""
    return {
        str(p.relative_to(folder)): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def run_quietly(argv: list[str]) -> tuple[int, str, str]:
    """main(argv) with its stdout and stderr captured (usable outside capsys)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


def call(argv: list[str]) -> int:
    """main(argv)'s exit code, also when argparse refuses an argument (SystemExit)."""
    try:
        return main(argv)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 1


# --------------------------------------------------------------------- a good run


@pytest.fixture(scope="module")
def good_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One run of SMALL (3 replications, seed 11, no event log), shared by tests."""
    folder = tmp_path_factory.mktemp("good")
    scenario = write(folder, SMALL)
    out = folder / "out"
    argv = [
        "run",
        str(scenario),
        "--replications",
        "3",
        "--seed",
        "11",
        "--workers",
        "1",
        "--no-progress",
        "--out",
        str(out),
    ]
    code, stdout, stderr = run_quietly(argv)
    return {
        "code": code,
        "stdout": stdout,
        "stderr": stderr,
        "out": out,
        "scenario": scenario,
    }


def test_run_exits_0_and_writes_every_file(good_run: dict[str, Any]) -> None:
    assert good_run["code"] == 0, good_run["stderr"]
    assert "Traceback" not in good_run["stderr"]
    out: Path = good_run["out"]
    for name in (*TABLES, "manifest.json", "report.md"):
        assert (out / name).is_file(), name
        assert (out / name).stat().st_size > 0, name
    for name in FIGURES:
        assert (out / "figures" / name).read_bytes().startswith(b"\x89PNG"), name
    assert not (out / "events.csv").exists()  # only with --events


def test_run_tables_have_one_row_per_replication(good_run: dict[str, Any]) -> None:
    lines = (good_run["out"] / "replications.csv").read_text().splitlines()
    header = lines[0].split(",")
    assert header[:2] == ["replication", "strategy"]
    # one strategy (baseline) x one stream x 3 replications
    assert sorted(line.split(",")[0] for line in lines[1:]) == ["0", "1", "2"]
    assert "baseline" in (good_run["out"] / "summary.csv").read_text()


def test_run_manifest_records_the_run(good_run: dict[str, Any]) -> None:
    manifest = json.loads((good_run["out"] / "manifest.json").read_text())
    assert manifest["scenario_sha256"] == load_scenario(good_run["scenario"]).digest()
    assert manifest["seed"] == 11
    assert manifest["replications"] == 3
    assert manifest["engine"] == "cohort"  # auto: no event log asked for
    assert manifest["livesim_version"] == livesim.__version__
    assert isinstance(manifest["run_seconds"], int | float)
    assert manifest["run_seconds"] >= 0


def test_run_prints_a_short_summary_table(good_run: dict[str, Any]) -> None:
    stdout: str = good_run["stdout"]
    assert "cli_small: 3 replications per strategy, seed 11, engine cohort" in stdout
    assert "median net GMV" in stdout
    assert "conversion" in stdout
    assert any(line.lstrip().startswith("baseline") for line in stdout.splitlines())
    assert "wrote " in stdout
    assert len(stdout.splitlines()) < 15  # short: a header, a table and a last line


def test_run_prints_and_records_the_awareness_phase(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    phase = (
        "\n[awareness]\ndays = 10\nimpressions = 2e6\nfrequency = 2.0\n"
        "turnout = 0.001\nparticipants = 50\nfinalists = 5\nselected = 1\n"
    )
    scenario = write(tmp_path, SMALL + phase)
    out = tmp_path / "out"
    assert main(["run", str(scenario), *QUICK, "--out", str(out)]) == 0
    stdout = capsys.readouterr().out
    assert (
        "awareness phase: 2,000,000 impressions over 10 days -> 1,000,000 people "
        "reached -> 1,000,000 still aware -> 1,000 expected arrivals; hosts 50 -> 5 "
        "-> 1 (participants -> finalists -> selected)"
    ) in stdout
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["awareness"]["baseline"]["expected_arrivals"] == 1000.0
    rows = pd.read_csv(out / "replications.csv")
    assert rows["arrivals_awareness"].sum() > 0
    assert "1,000 expected arrivals" in (out / "report.md").read_text()


def test_run_with_events_writes_the_event_log(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scenario = write(tmp_path, SMALL)
    out = tmp_path / "out"
    code = main(["run", str(scenario), *QUICK, "--events", "--out", str(out)])
    assert code == 0, capsys.readouterr().err
    header = (out / "events.csv").read_text().splitlines()[0]
    assert header.startswith("replication,strategy,stream,viewer,time,event")
    assert "events.csv" in json.loads((out / "manifest.json").read_text())["files"]


def test_run_bundled_teaching_scenario(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "tiny"
    code = main(
        ["run", str(bundled_scenario("teaching_tiny")), *QUICK, "--out", str(out)]
    )
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "baseline" in captured.out and "kos_only" in captured.out
    assert (out / "replications.csv").is_file()


# ------------------------------------------------------------------ reproducibility


def test_same_seed_and_any_workers_give_identical_replications(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scenario = str(write(tmp_path, SMALL))
    common = ["run", scenario, "--replications", "3", "--seed", "5", "--no-progress"]
    runs = {
        "a": ["--workers", "1"],
        "b": ["--workers", "1"],
        "c": ["--workers", "2"],
    }
    for name, extra in runs.items():
        assert main([*common, *extra, "--out", str(tmp_path / name)]) == 0
    capsys.readouterr()
    first = (tmp_path / "a" / "replications.csv").read_bytes()
    assert (tmp_path / "b" / "replications.csv").read_bytes() == first
    assert (tmp_path / "c" / "replications.csv").read_bytes() == first


def test_another_seed_gives_other_replications(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scenario = str(write(tmp_path, SMALL))
    for seed in ("1", "2"):
        argv = ["run", scenario, *QUICK, "--seed", seed, "--out", str(tmp_path / seed)]
        assert main(argv) == 0
    capsys.readouterr()
    one = (tmp_path / "1" / "replications.csv").read_bytes()
    assert (tmp_path / "2" / "replications.csv").read_bytes() != one


# ------------------------------------------------------------------------ check


def test_check_valid_scenario_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path, SMALL)
    assert main(["check", "scenario.toml"]) == 0
    captured = capsys.readouterr()
    assert "valid scenario 'cli_small'" in captured.out
    assert captured.err == ""
    assert [p.name for p in tmp_path.iterdir()] == ["scenario.toml"]


def test_check_bundled_teaching_scenario(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(bundled_scenario("teaching_tiny"))]) == 0
    out = capsys.readouterr().out
    assert "valid scenario 'teaching_tiny'" in out
    assert "2 strategies (baseline, kos_only)" in out


# -------------------------------------------------------------------- bad input

#: Scenario files that are refused: (id, file text or None for a missing file,
#: substrings the error must contain: the field first, then the value or rule).
BAD_SCENARIOS: list[tuple[str, str | None, tuple[str, ...]]] = [
    ("missing_file", None, ("scenario.toml", "no such scenario file")),
    ("bad_toml", 'name = "unclosed\n', ("scenario.toml", "not valid TOML")),
    (
        "unknown_key",
        edited(("price = 100.0", 'price = 100.0\ncolour = "red"')),
        ("products[0].colour", "unknown key"),
    ),
    (
        "unknown_top_level_key",
        edited(('name = "cli_small"', 'name = "cli_small"\nnmae = "typo"')),
        ("nmae", "unknown key"),
    ),
    (
        "probability_above_1",
        edited(('kind = "KOS"', 'kind = "KOS"\nshare_prob = 1.5')),
        ("hosts[0].share_prob", "1.5"),
    ),
    (
        "probability_below_0",
        edited(("price = 100.0", "price = 100.0\nmargin = -0.1")),
        ("products[0].margin", "-0.1"),
    ),
    (
        "negative_rate",
        edited(("recommendation_rate = 5.0", "recommendation_rate = -1.0")),
        ("hosts[0].recommendation_rate", "-1.0"),
    ),
    (
        "negative_price",
        edited(("price = 100.0", "price = -5.0")),
        ("products[0].price", "-5.0"),
    ),
    (
        "nan_price",
        edited(("price = 100.0", "price = nan")),
        ("products[0].price", "finite"),
    ),
    (
        "undefined_host",
        edited(('host = "h"', 'host = "ghost"')),
        ("streams[0].host", "'ghost'", "not a defined host"),
    ),
    (
        "undefined_product",
        edited(('products = ["p"]', 'products = ["p", "ghost"]')),
        ("streams[0].products", "'ghost'", "not a defined product"),
    ),
    (
        "supercritical_word_of_mouth",
        edited(('kind = "KOS"', 'kind = "KOS"\nshare_prob = 0.6')),
        ("streams[0]", "branching factor", "share_prob", "must be < 1"),
    ),
    (
        # share_prob * wom_viewers_per_share + feedback = 0.25 * 4 + 0 = 1 exactly
        "critical_branching_factor_of_exactly_1",
        edited(
            ('kind = "KOS"', 'kind = "KOS"\nshare_prob = 0.25\ncomment_rate = 0.0'),
        )
        + "\n[platform]\nwom_viewers_per_share = 4.0\n",
        ("streams[0]", "branching factor", "wom_viewers_per_share", "must be < 1"),
    ),
    (
        "stream_too_long",
        edited(("duration = 30", "duration = 1441")),
        ("streams[0].duration", "1441", "1440"),
    ),
    (
        "too_many_followers",
        edited(("followers = 0", "followers = 2_000_000_001")),
        ("hosts[0].followers", "2000000001"),
    ),
]

#: Command lines that are refused for SMALL: (id, scenario text, extra arguments,
#: substrings the error must contain).
BAD_REQUESTS: list[tuple[str, str, list[str], tuple[str, ...]]] = [
    ("zero_replications", SMALL, ["-n", "0"], ("replications", "0", "1..100000")),
    (
        "too_many_replications",
        SMALL,
        ["-n", "100001"],
        ("replications", "100001", "1..100000"),
    ),
    ("zero_workers", SMALL, ["-n", "2", "-w", "0"], ("workers", "0", "1..256")),
    ("too_many_workers", SMALL, ["-n", "2", "-w", "257"], ("workers", "257")),
    ("unknown_engine", SMALL, ["-n", "2", "--engine", "warp"], ("--engine", "warp")),
    ("replications_not_a_number", SMALL, ["-n", "many"], ("--replications", "many")),
    (
        "past_the_preflight_limit",
        edited(("recommendation_rate = 5.0", "recommendation_rate = 1e8")),
        ["-n", "2"],
        ("replications", "past the limit", "--force"),
    ),
    (
        "event_log_too_big",
        edited(("recommendation_rate = 5.0", "recommendation_rate = 5000.0")),
        ["-n", "2", "--events"],
        ("events", "200,000"),
    ),
    (
        "unknown_strategy",
        SMALL,
        ["-n", "2", "--strategy", "nope"],
        ("strategies", "nope"),
    ),
]


def assert_refused(
    code: int, stderr: str, expected: tuple[str, ...], out: Path | None
) -> None:
    assert code == 2, stderr
    for part in expected:
        assert part in stderr, (part, stderr)
    assert "Traceback" not in stderr
    if out is not None:
        assert not out.exists()
        assert not list(out.parent.glob(f".{out.name}*"))  # no temporary folders


@pytest.mark.parametrize(
    ("text", "expected"),
    [case[1:] for case in BAD_SCENARIOS],
    ids=[case[0] for case in BAD_SCENARIOS],
)
def test_run_refuses_bad_scenario(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    text: str | None,
    expected: tuple[str, ...],
) -> None:
    scenario = tmp_path / "scenario.toml"
    if text is not None:
        write(tmp_path, text)
    out = tmp_path / "out"
    code = main(["run", str(scenario), *QUICK, "--out", str(out)])
    captured = capsys.readouterr()
    assert_refused(code, captured.err, expected, out)
    assert captured.out == ""


@pytest.mark.parametrize(
    ("text", "expected"),
    [case[1:] for case in BAD_SCENARIOS],
    ids=[case[0] for case in BAD_SCENARIOS],
)
def test_check_refuses_bad_scenario(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    text: str | None,
    expected: tuple[str, ...],
) -> None:
    scenario = tmp_path / "scenario.toml"
    if text is not None:
        write(tmp_path, text)
    code = main(["check", str(scenario)])
    captured = capsys.readouterr()
    assert_refused(code, captured.err, expected, None)
    assert "valid scenario" not in captured.out


@pytest.mark.parametrize(
    ("text", "args", "expected"),
    [case[1:] for case in BAD_REQUESTS],
    ids=[case[0] for case in BAD_REQUESTS],
)
def test_run_refuses_bad_request(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    text: str,
    args: list[str],
    expected: tuple[str, ...],
) -> None:
    scenario = write(tmp_path, text)
    out = tmp_path / "out"
    argv = ["run", str(scenario), "--no-progress", *args, "--out", str(out)]
    code = call(argv)
    captured = capsys.readouterr()
    assert_refused(code, captured.err, expected, out)


def test_run_refuses_out_that_is_a_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scenario = write(tmp_path, SMALL)
    out = write(tmp_path, "not a folder", name="out")
    code = main(["run", str(scenario), *QUICK, "--out", str(out)])
    assert_refused(code, capsys.readouterr().err, ("--out", "not a folder"), None)
    assert out.read_text() == "not a folder"


def test_debug_shows_the_exception(tmp_path: Path) -> None:
    scenario = write(tmp_path, edited(("price = 100.0", "price = -5.0")))
    with pytest.raises(livesim.ConfigError, match=r"products\[0\]\.price"):
        main(["check", str(scenario), "--debug"])


# ------------------------------------------------- earlier output is left alone


def test_refused_run_leaves_earlier_output_as_it_was(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = write(tmp_path, SMALL)
    out = tmp_path / "out"
    assert main(["run", str(good), *QUICK, "--out", str(out)]) == 0
    before = snapshot(out)
    assert "replications.csv" in before
    bad = write(tmp_path, edited(('host = "h"', 'host = "ghost"')), name="bad.toml")
    huge = write(
        tmp_path,
        edited(("recommendation_rate = 5.0", "recommendation_rate = 1e8")),
        name="huge.toml",
    )
    refused = [
        ["run", str(bad), *QUICK],
        ["run", str(tmp_path / "missing.toml"), *QUICK],
        ["run", str(good), "--no-progress", "--replications", "0"],
        ["run", str(huge), *QUICK],
    ]
    capsys.readouterr()
    for argv in refused:
        code = main([*argv, "--out", str(out)])
        err = capsys.readouterr().err
        assert code == 2, (argv, err)
        assert "Traceback" not in err
        assert snapshot(out) == before, argv
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "bad.toml",
        "huge.toml",
        "out",
        "scenario.toml",
    ]


def test_failure_while_writing_leaves_earlier_output_as_it_was(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    scenario = write(tmp_path, SMALL)
    out = tmp_path / "out"
    assert main(["run", str(scenario), *QUICK, "--out", str(out)]) == 0
    before = snapshot(out)
    capsys.readouterr()

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr("livesim.output.draw_all", broken)
    code = main(["run", str(scenario), *QUICK, "--seed", "3", "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 1
    assert "RuntimeError: disk full" in err
    assert "Traceback" not in err
    assert snapshot(out) == before
    # the simulated replications are kept for --resume, and the message says where
    kept = tmp_path / ".out.partial"
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        ".out.partial",
        "out",
        "scenario.toml",
    ]
    assert f"kept in {str(kept)!r}" in err and "--resume" in err


# ------------------------------------------------------- the real console script


def run_command(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "livesim.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.slow
def test_console_script_end_to_end(tmp_path: Path) -> None:
    write(tmp_path, SMALL)
    done = run_command(
        tmp_path,
        "run",
        "scenario.toml",
        "--replications",
        "2",
        "--seed",
        "4",
        "--no-progress",
        "--events",
        "--out",
        "results/small",
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert "cli_small: 2 replications per strategy, seed 4" in done.stdout
    out = tmp_path / "results" / "small"
    for name in (*TABLES, "manifest.json", "report.md", "events.csv"):
        assert (out / name).is_file(), name
    for name in FIGURES:
        assert (out / "figures" / name).is_file(), name
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["seed"] == 4
    assert (
        manifest["scenario_sha256"]
        == load_scenario(tmp_path / "scenario.toml").digest()
    )

    checked = run_command(tmp_path, "check", "scenario.toml")
    assert checked.returncode == 0, checked.stderr
    assert "valid scenario" in checked.stdout


@pytest.mark.slow
def test_console_script_refuses_bad_input_without_traceback(tmp_path: Path) -> None:
    write(tmp_path, edited(('kind = "KOS"', 'kind = "KOS"\nshare_prob = 1.5')))
    done = run_command(tmp_path, "run", "scenario.toml", *QUICK, "--out", "results/bad")
    assert done.returncode == 2
    assert "hosts[0].share_prob" in done.stderr
    assert "1.5" in done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout == ""
    assert not (tmp_path / "results").exists()


# -------------------------------------------------------------- known problems


def test_run_refuses_negative_seed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scenario = write(tmp_path, SMALL)
    out = tmp_path / "out"
    code = main(["run", str(scenario), *QUICK, "--seed", "-1", "--out", str(out)])
    assert_refused(code, capsys.readouterr().err, ("seed", "-1"), out)


def test_run_refuses_out_below_a_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scenario = write(tmp_path, SMALL)
    blocker = write(tmp_path, "a file", name="blocker")
    out = blocker / "out"
    code = main(["run", str(scenario), *QUICK, "--out", str(out)])
    assert_refused(code, capsys.readouterr().err, ("--out",), None)


def test_run_refuses_to_replace_a_folder_of_other_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scenario = write(tmp_path, SMALL)
    out = tmp_path / "mine"
    out.mkdir()
    keep = out / "keep.txt"
    keep.write_text("precious")
    code = main(["run", str(scenario), *QUICK, "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and "--out" in err and "manifest.json" in err
    assert keep.read_text() == "precious"
    assert sorted(p.name for p in out.iterdir()) == ["keep.txt"]


def test_app_refuses_an_unknown_scenario(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["app", "--scenario", "no_such_scenario", "--no-browser"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no_such_scenario" in err[0]


# ------------------------------------------------------------ options and progress


def subcommands() -> dict[str, Any]:
    from livesim.cli import build_parser

    parser = build_parser()
    action = next(a for a in parser._actions if a.dest == "command")
    return dict(action.choices)  # type: ignore[arg-type]


@pytest.mark.parametrize("command", sorted(subcommands()))
def test_every_option_has_help_and_says_its_default(command: str) -> None:
    """`livesim COMMAND --help` explains every option, and names the default of
    each that has one (a flag's default is to be off)."""
    parser = subcommands()[command]
    for action in parser._actions:
        if action.dest in ("help",):
            continue
        name = action.option_strings[-1] if action.option_strings else action.dest
        assert action.help, f"{command} {name}: no help"
        takes_value = action.nargs != 0
        if action.option_strings and takes_value and action.default is not None:
            assert "default" in action.help, f"{command} {name}: default not shown"
    usage = io.StringIO()
    with contextlib.redirect_stdout(usage), pytest.raises(SystemExit):
        parser.parse_args(["--help"])
    assert "usage:" in usage.getvalue()


@pytest.mark.parametrize("command", ["run", "compare", "calibrate"])
def test_commands_that_simulate_take_replications_and_seed(command: str) -> None:
    options = {s for a in subcommands()[command]._actions for s in a.option_strings}
    assert {"-n", "--replications", "--seed"} <= options


def test_progress_outside_a_terminal_is_whole_lines(tmp_path: Path) -> None:
    """Through a pipe the bar writes lines, not carriage-return redraws."""
    write(tmp_path, SMALL)
    done = run_command(
        tmp_path, "run", "scenario.toml", "-n", "3", "-w", "1", "--out", "out"
    )
    assert done.returncode == 0, done.stderr
    assert "\r" not in done.stderr
    bars = [line for line in done.stderr.splitlines() if "replications:" in line]
    assert bars and bars[-1].count("3/3") == 1, done.stderr


def test_progress_bar_lines_stream() -> None:
    from livesim.progress import Lines

    out = io.StringIO()
    stream = Lines(out)
    stream.write("\rreplications:  50%|#####     | 1/2")
    stream.write("\n")
    stream.write("\rreplications: 100%|##########| 2/2")
    assert out.getvalue().splitlines() == [
        "replications:  50%|#####     | 1/2",
        "replications: 100%|##########| 2/2",
    ]


def test_an_undefined_interval_is_explained(tmp_path: Path) -> None:
    scenario = write(tmp_path, SMALL)
    code, stdout, stderr = run_quietly(
        ["run", str(scenario), *QUICK, "--out", str(tmp_path / "out")]
    )
    assert code == 0, stderr
    assert "nan" in stdout
    assert "needs at least 6 replications" in stdout
    assert "this run has 2" in stdout
    report = (tmp_path / "out" / "report.md").read_text()
    assert "needs at least 6 replications" in report


def test_the_first_compile_is_announced_and_timed_apart(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With no stamp of a compiled engine, a run says it compiles before it does,
    and the manifest keeps compile time out of the simulation's seconds."""
    from livesim.engines import warmup

    monkeypatch.setattr(warmup, "_cache_folder", lambda: tmp_path / "cache")
    monkeypatch.setattr(warmup, "_announced", False)
    (tmp_path / "cache").mkdir()
    compiled = []

    def compile_now() -> None:  # in this process the kernels are loaded already
        compiled.append(True)
        warmup.compile_now.__wrapped__()  # type: ignore[attr-defined]
        time.sleep(0.2)

    compile_now.__wrapped__ = warmup.compile_now  # type: ignore[attr-defined]
    monkeypatch.setattr(warmup, "compile_now", compile_now)
    scenario = write(tmp_path, SMALL)
    argv = ["run", str(scenario), "-n", "6", "-w", "1", "--out", str(tmp_path / "a")]
    code, stdout, stderr = run_quietly(argv)
    assert code == 0, stderr
    first = stderr.splitlines()[0]
    assert first.startswith("livesim: compiling the cohort engine first, once per")
    manifest = json.loads((tmp_path / "a" / "manifest.json").read_text())
    assert compiled == [True]
    assert manifest["compile_seconds"] >= 0.2
    assert "compiling the cohort engine, once per install" in stdout
    assert "needs at least" not in stdout  # 6 replications: the interval exists
    assert list((tmp_path / "cache").glob(f"{warmup.STAMP_PREFIX}*"))
    argv[-1] = str(tmp_path / "b")
    code, stdout, stderr = run_quietly(argv)  # the stamp is there: nothing to say
    assert code == 0, stderr
    assert "compiling" not in stderr + stdout
    manifest = json.loads((tmp_path / "b" / "manifest.json").read_text())
    assert manifest["compile_seconds"] == 0 and compiled == [True]


def test_a_bad_input_before_the_first_compile_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The compile is announced when it starts, after the inputs are checked: a
    bad scenario on a fresh install gets its error line and nothing else."""
    from livesim.engines import warmup

    monkeypatch.setattr(warmup, "_cache_folder", lambda: tmp_path / "empty")
    monkeypatch.setattr(warmup, "_announced", False)
    scenario = write(tmp_path, SMALL.replace("price = 100.0", "price = -1.0", 1))
    assert "price = -1.0" in scenario.read_text()
    for command in ("run", "compare"):
        assert main([command, str(scenario), "--out", str(tmp_path / "o")]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "price" in err[0], err
        assert not (tmp_path / "o").exists()
