"""Reliability promises (docs/guarantees.md): strict types, nothing written before
every check has passed, verified chunks, resume of `run` and `compare` after a kill
or an interrupt, one line per problem, and a quiet Ctrl-C or closed pipe.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from helpers import ONE_STREAM_TOML, SMALL
from livesim.checkpoint import decode
from livesim.chunks import DamagedChunk, read_chunk, read_table, write_chunk
from livesim.cli import main

TABLES = ("replications.csv", "summary.csv", "timeseries.csv")
QUIET = ("--no-progress", "-w", "1")


def write(folder: Path, text: str, name: str = "scenario.toml") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def files_under(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def refused(capsys: pytest.CaptureFixture[str], argv: list[str], *parts: str) -> str:
    """Run argv; it must exit 2 with one line per problem containing `parts`."""
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err
    for part in parts:
        assert part in err, (part, err)
    return err


# ------------------------------------------------------------------ strict types


@pytest.mark.parametrize(
    ("old", "new", "field", "rule"),
    [
        ("price = 100.0", "price = true", "products[0].price", "valid number"),
        ("price = 100.0", 'price = "170"', "products[0].price", "valid number"),
        ("followers = 0", "followers = 1.0", "hosts[0].followers", "valid integer"),
        ("duration = 30", 'duration = "30"', "streams[0].duration", "valid integer"),
        ('kind = "KOS"', 'kind = "KOS"\nreneging = 1', "hosts[0].reneging", "boolean"),
        ('id = "p"', "id = 5", "products[0].id", "valid string"),
    ],
)
def test_a_scenario_value_must_have_its_type(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    old: str,
    new: str,
    field: str,
    rule: str,
) -> None:
    path = write(tmp_path, SMALL.replace(old, new, 1))
    out = tmp_path / "out"
    refused(
        capsys, ["run", str(path), "-n", "2", *QUIET, "--out", str(out)], field, rule
    )
    assert files_under(tmp_path) == ["scenario.toml"]


def test_an_integer_is_fine_where_a_float_is_expected(tmp_path: Path) -> None:
    path = write(tmp_path, SMALL.replace("price = 100.0", "price = 100"))
    assert main(["check", str(path)]) == 0


@pytest.mark.parametrize(
    ("line", "field"),
    [
        ("replications = true", "replications"),
        ('replications = "3"', "replications"),
        ("seed = 1.0", "seed"),
        ("chunk = false", "chunk"),
    ],
)
def test_an_experiment_value_must_have_its_type(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], line: str, field: str
) -> None:
    write(tmp_path, ONE_STREAM_TOML, "swept.toml")
    path = write(
        tmp_path,
        f'scenario = "swept.toml"\n{line}\n[[parameters]]\nname = "push"\n'
        'paths = ["hosts.*.recommendation_rate"]\nvalues = [5.0, 10]\n',
        "exp.toml",
    )
    out = tmp_path / "out"
    refused(capsys, ["sweep", str(path), *QUIET, "--out", str(out)], field)
    assert not out.exists()


# ------------------------------------------------- nothing written before checks


def sweep_file(tmp_path: Path, body: str) -> Path:
    write(tmp_path, ONE_STREAM_TOML, "swept.toml")
    return write(tmp_path, 'scenario = "swept.toml"\n' + body, "exp.toml")


PUSH = '[[parameters]]\nname = "push"\npaths = ["hosts.*.recommendation_rate"]\n'


def test_a_sweep_past_the_limit_as_a_whole_is_refused_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # each point is ~60,000 viewer-visits x 1,000 replications = 6e7, below the
    # agent engine's 2e8; eight points together are 4.8e8, past it
    body = 'replications = 1000\nengine = "agent"\n' + PUSH
    body += (
        "values = [1000.0, 1000.0, 1000.0, 1000.0, 1000.0, 1000.0, 1000.0, 1000.0]\n"
    )
    path = sweep_file(tmp_path, body)
    out = tmp_path / "out"
    err = refused(
        capsys,
        ["sweep", str(path), *QUIET, "--out", str(out)],
        "replications",
        "past",
        "--force",
        "8,000 replications",
    )
    assert err.count("\n") == 1
    assert not out.exists()
    # the corrected experiment then runs in the same folder, no --resume needed
    path.write_text(path.read_text().replace("replications = 1000", "replications = 2"))
    path.write_text(path.read_text().replace("1000.0", "5.0"))
    assert main(["sweep", str(path), *QUIET, "--out", str(out)]) == 0
    assert (out / "sweep.csv").is_file()


def test_a_sensitivity_run_refused_by_its_preflight_leaves_no_debris(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    body = 'replications = 4000\nengine = "agent"\nsamples = 8\n' + PUSH
    body += "low = 900.0\nhigh = 1000.0\n"
    path = sweep_file(tmp_path, body)
    out = tmp_path / "out"
    refused(capsys, ["sensitivity", str(path), *QUIET, "--out", str(out)], "--force")
    assert not out.exists()


def test_an_empty_strategies_list_is_a_config_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = sweep_file(tmp_path, "strategies = []\n" + PUSH + "values = [5.0]\n")
    out = tmp_path / "out"
    refused(capsys, ["sweep", str(path), *QUIET, "--out", str(out)], "strategies")
    assert not out.exists()


def unwritable(tmp_path: Path) -> Path:
    """A folder in which this process cannot create files."""
    if os.geteuid() != 0:
        locked = tmp_path / "locked"
        locked.mkdir()
        locked.chmod(0o500)
        return locked
    if Path("/sys").is_dir():  # sysfs refuses new files even to root
        return Path("/sys")
    pytest.skip("no folder here refuses root's writes")


@pytest.mark.parametrize("command", ["run", "compare", "sweep"])
def test_an_unwritable_out_is_refused_before_simulating(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    out = unwritable(tmp_path) / "livesim-out"
    if command == "sweep":
        target = sweep_file(tmp_path, PUSH + "values = [5.0]\n")
    else:
        target = write(tmp_path, SMALL)
    argv = [command, str(target), *QUIET, "--out", str(out)]
    if command != "sweep":
        argv += ["-n", "2"]
    err = refused(capsys, argv, f"--out: {str(out)!r}", "cannot be written")
    assert ".tmp" not in err


def test_compare_names_the_file_that_is_bad(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = write(tmp_path, SMALL, "good.toml")
    other = write(tmp_path, SMALL.replace('name = "small"', 'name = "other"'), "b.toml")
    bad = write(
        tmp_path,
        SMALL.replace('name = "small"', 'name = "bad"').replace(
            'host = "h"', 'host = "ghost"'
        ),
        "bad.toml",
    )
    out = tmp_path / "out"
    argv = ["compare", str(good), str(other), str(bad), "-n", "2", *QUIET]
    err = refused(capsys, [*argv, "--out", str(out)], f"{bad}: streams[0].host")
    assert str(other) not in err
    assert not out.exists()


# ----------------------------------------------------------------- chunk files


def test_a_chunk_reads_back_whole(tmp_path: Path) -> None:
    path = tmp_path / "a.chunk"
    write_chunk(path, b"x,y\n1,2\n3,4\n", 2)
    assert read_chunk(path) == (b"x,y\n1,2\n3,4\n", 2)
    assert read_table(path).to_dict("list") == {"x": [1, 3], "y": [2, 4]}
    assert [p.name for p in tmp_path.iterdir()] == ["a.chunk"]  # no temporary left


def test_a_write_cut_short_is_never_taken_for_a_chunk(tmp_path: Path) -> None:
    """A kill while a chunk is filled leaves its temporary file: no name that
    readers look for (`*.chunk`) and no chunk the store would resume from."""
    from livesim.checkpoint import RunStore

    seen: list[str] = []

    def cut(tmp: str) -> None:
        seen.append(tmp)
        Path(tmp).write_bytes(b"half a chunk")
        raise KeyboardInterrupt

    from livesim.atomic import write_atomic

    with pytest.raises(KeyboardInterrupt):
        write_atomic(tmp_path / "baseline~r000040.chunk", cut)
    assert not Path(seen[0]).name.endswith(".chunk")
    left = tmp_path / Path(seen[0]).name  # as a SIGKILL would leave it
    left.write_bytes(b"half a chunk")
    assert list(tmp_path.glob("*.chunk")) == []
    store = RunStore(tmp_path, "digest", resume=True)
    assert store.chunks() == []
    hidden = tmp_path / ".baseline~r000041.chunk.abc.chunk"  # an older name
    hidden.write_bytes(b"half a chunk")
    assert store.chunks() == []


@pytest.mark.parametrize(
    "damage",
    ["half_the_rows", "mid_line", "one_byte", "empty", "binary", "no_header"],
)
def test_a_damaged_chunk_is_named(tmp_path: Path, damage: str) -> None:
    path = tmp_path / "a.chunk"
    write_chunk(path, b"x,y\n" + b"".join(b"%d,%d\n" % (i, i) for i in range(10)), 10)
    data = path.read_bytes()
    header = data.index(b"\n") + 1
    damaged = {
        "half_the_rows": data[: header + (len(data) - header) // 2 + 1].rsplit(
            b"\n", 1
        )[0]
        + b"\n",
        "mid_line": data[:-3],
        "one_byte": data[:-2] + b"7\n",
        "empty": b"",
        "binary": bytes(range(256)) * 4,
        "no_header": data[header:],
    }[damage]
    path.write_bytes(damaged)
    with pytest.raises(DamagedChunk, match=str(path)):
        read_table(path)


# ------------------------------------------------------------- run --resume


def tables(folder: Path) -> dict[str, bytes]:
    return {name: (folder / name).read_bytes() for name in TABLES}


def interrupt_after(monkeypatch: pytest.MonkeyPatch, calls: int) -> None:
    """Make the replication function raise KeyboardInterrupt after `calls` chunks
    (one worker: the chunks run in this process)."""
    import livesim.runner as runner

    real = runner.run_task
    count = {"n": 0}

    def flaky(task: Any) -> Any:
        count["n"] += 1
        if count["n"] > calls:
            raise KeyboardInterrupt
        return real(task)

    monkeypatch.setattr(runner, "run_task", flaky)


@pytest.mark.parametrize("command", ["run", "compare"])
def test_an_interrupted_run_resumes_to_the_same_tables(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    command: str,
) -> None:
    scenario = write(tmp_path, SMALL)
    whole, cut = tmp_path / "whole", tmp_path / "cut"
    argv = [command, str(scenario), "-n", "12", "--seed", "3", *QUIET]
    assert main([*argv, "--out", str(whole)]) == 0
    capsys.readouterr()
    interrupt_after(monkeypatch, 7)
    assert main([*argv, "--out", str(cut)]) == 130
    err = capsys.readouterr().err
    partial = tmp_path / ".cut.partial"
    assert str(partial) in err and "--resume" in err and "Traceback" not in err
    assert not cut.exists()
    kept = sorted(partial.glob("*.chunk"))
    assert sum(len(decode(path)[2]) for path in kept) == 7  # what finished is kept
    monkeypatch.undo()
    # a new run without --resume, or with another seed, may not discard them
    refused(capsys, [*argv, "--out", str(cut)], "--resume", str(partial))
    other = [a if a != "3" else "4" for a in argv]
    refused(capsys, [*other, "--out", str(cut), "--resume"], "digest differs")
    assert sorted(partial.glob("*.chunk")) == kept
    # a chunk damaged meanwhile is named and run again
    kept[0].write_bytes(kept[0].read_bytes()[:-10])
    assert main([*argv, "--out", str(cut), "--resume"]) == 0
    assert kept[0].name in capsys.readouterr().err
    assert tables(cut) == tables(whole)
    assert not partial.exists()


def test_resume_with_another_scenario_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    scenario = write(tmp_path, SMALL)
    argv = ["run", str(scenario), "-n", "6", *QUIET, "--out", str(tmp_path / "o")]
    interrupt_after(monkeypatch, 2)
    assert main(argv) == 130
    monkeypatch.undo()
    capsys.readouterr()
    scenario.write_text(SMALL.replace("price = 100.0", "price = 120.0"))
    refused(capsys, [*argv, "--resume"], "another scenario")


def livesim(*args: str) -> list[str]:
    return [sys.executable, "-m", "livesim.cli", *args]


def kill_midway(folder: Path, command: list[str], rng: random.Random) -> int:
    """Start `command`, SIGKILL it at a random moment after its first chunk is in
    `folder` (while it still runs); the number of chunks then."""
    proc = subprocess.Popen(
        command,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if any(folder.glob("*.chunk")):
            break
        time.sleep(0.01)
    time.sleep(rng.uniform(0.0, 1.5))
    assert proc.poll() is None, "the command ended before it was killed"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    return len(list(folder.glob("*.chunk")))


@pytest.mark.slow
def test_run_killed_at_random_points_resumes_to_the_same_tables(tmp_path: Path) -> None:
    scenario = write(tmp_path, SMALL)
    whole = tmp_path / "whole"
    run = [
        "run",
        str(scenario),
        "-n",
        "2000",
        "-w",
        "2",
        "--no-progress",
        "--seed",
        "9",
    ]
    assert main([*run, "--out", str(whole)]) == 0
    rng = random.Random(15)  # fixed: the test is deterministic in what it asks
    for attempt in range(3):
        out = tmp_path / f"killed{attempt}"
        partial = tmp_path / f".killed{attempt}.partial"
        assert kill_midway(partial, livesim(*run, "--out", str(out)), rng) >= 1
        assert not out.exists()
        for chunk in partial.glob("*.chunk"):
            read_chunk(chunk)  # whole: a kill never leaves half a chunk
        assert main([*run, "--out", str(out), "--resume"]) == 0
        assert tables(out) == tables(whole)
        assert not partial.exists()


@pytest.mark.slow
def test_sweep_killed_at_random_points_resumes_to_the_same_tables(
    tmp_path: Path,
) -> None:
    body = "replications = 160\nchunk = 10\nseed = 2\n" + PUSH
    body += "low = 5.0\nhigh = 40.0\nlevels = 6\n"
    path = sweep_file(tmp_path, body)
    whole = tmp_path / "whole"
    sweep = ["sweep", str(path), "-w", "2", "--no-progress"]
    assert main([*sweep, "--out", str(whole)]) == 0
    rng = random.Random(16)
    for attempt in range(2):
        out = tmp_path / f"killed{attempt}"
        kept = kill_midway(out / "points", livesim(*sweep, "--out", str(out)), rng)
        assert 1 <= kept < 96, "the sweep was not killed midway"  # 6 points x 16
        assert main([*sweep, "--out", str(out), "--resume"]) == 0
        for name in ("sweep.csv", "points.csv"):
            assert (out / name).read_bytes() == (whole / name).read_bytes()


# ------------------------------------------------------- interrupts and pipes


def test_ctrl_c_at_any_moment_prints_one_line_and_no_traceback(
    tmp_path: Path,
) -> None:
    scenario = write(tmp_path, SMALL)
    for k, delay in enumerate((0.15, 0.4, 0.8, 1.5)):
        proc = subprocess.Popen(
            livesim(
                "run",
                str(scenario),
                "-n",
                "3000",
                "-w",
                "2",
                "--out",
                str(tmp_path / f"o{k}"),
            ),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        time.sleep(delay)
        os.killpg(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=60)
        text = err.decode()
        assert "Traceback" not in text, (delay, text)
        if proc.returncode != 0:  # it may have finished before the signal
            assert proc.returncode in (130, -signal.SIGINT), (delay, text)


@pytest.mark.parametrize("reader", ["head -1", "true"])
def test_a_closed_pipe_ends_quietly(tmp_path: Path, reader: str) -> None:
    scenario = write(tmp_path, SMALL)
    out = tmp_path / "o"
    command = livesim(
        "run", str(scenario), "-n", "2", "--no-progress", "--out", str(out)
    )
    done = subprocess.run(
        ["bash", "-c", f"{' '.join(command)} | {reader}"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.stderr == "", done.stderr
    assert (out / "summary.csv").is_file()


def test_a_second_run_into_the_same_out_is_refused_while_one_works(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scenario = write(tmp_path, SMALL)
    out = tmp_path / "out"
    # another process holds the store's lock, as a running `livesim run` does
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, pathlib\n"
            "from livesim.checkpoint import RunStore, work_folder\n"
            f"s = RunStore(work_folder(pathlib.Path({str(out)!r})), 'x', False)\n"
            "s.open(); print('locked', flush=True); sys.stdin.read()\n",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "locked\n"
        argv = ["run", str(scenario), "-n", "2", *QUIET, "--out", str(out)]
        refused(capsys, argv, "another livesim run is writing")
        assert not out.exists()
    finally:
        holder.communicate("", timeout=30)
    assert main(argv) == 0  # the lock went with the process


@pytest.mark.parametrize("command", ["sweep", "sensitivity"])
def test_whole_number_fields_are_rounded_where_a_path_is_written(
    tmp_path: Path, command: str
) -> None:
    import pandas as pd

    body = "replications = 2\n" + ("samples = 4\n" if command == "sensitivity" else "")
    body += PUSH.replace("hosts.*.recommendation_rate", "hosts.*.followers")
    body += "low = 10.0\nhigh = 2000.0\n" if command == "sensitivity" else ""
    body += "values = [10.4, 2e3]\n" if command == "sweep" else ""
    body += '[fixed]\n"hosts.*.qa_capacity" = 2.0\n'
    path = sweep_file(tmp_path, body)
    out = tmp_path / "out"
    assert main([command, str(path), *QUIET, "--out", str(out)]) == 0
    followers = pd.read_csv(out / "sweep.csv")["push"]
    assert (followers == followers.round()).all() and followers.min() >= 10


def test_a_write_killed_midway_leaves_no_debris_for_long(tmp_path: Path) -> None:
    scenario = write(tmp_path, SMALL)
    out = tmp_path / "out"
    argv = ["run", str(scenario), "-n", "2", *QUIET, "--out", str(out)]
    assert main(argv) == 0
    before = tables(out)
    # a kill between the two renames of the swap: the output moved aside, and a
    # temporary folder left behind
    out.rename(tmp_path / ".out.old-12345")
    (tmp_path / ".out.tmp-abc").mkdir()
    assert main([*argv, "--seed", "1"]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "scenario.toml"]
    assert tables(out) != before  # the new run's output, the old one put back first


def test_a_part_never_reads_another_parts_chunks(tmp_path: Path) -> None:
    """The main run (part "") and the noise-only run beside it (part "noise-")
    keep their chunks in one folder; each reads only its own, even for a
    strategy whose name starts like the other part."""
    from livesim import load_scenario
    from livesim.checkpoint import RunStore
    from livesim.engines import engine_runner

    path = tmp_path / "scenario.toml"
    path.write_text(SMALL)
    campaign = load_scenario(path).campaigns()["baseline"]
    run = engine_runner("agent")
    store = RunStore(tmp_path / "work", "digest", resume=False)
    store.open()
    store.save("", "baseline", [(0, run(campaign, 1, 0))])
    store.save("noise-", "baseline", [(0, run(campaign, 2, 0))])
    store.save("", "noise-x", [(0, run(campaign, 3, 0))])
    store.flush()
    main, noise = store.load(""), store.load("noise-")
    store.close()
    assert sorted(main) == ["baseline", "noise-x"]
    assert sorted(noise) == ["baseline"]
    assert main["baseline"][0].rows == run(campaign, 1, 0).rows
    assert noise["baseline"][0].rows == run(campaign, 2, 0).rows


PRIORS = """
[[uncertainty]]
name = "push"
paths = ["hosts.*.recommendation_rate"]
dist = "uniform"
low = 0.5
high = 1.5
mode = "scale"
source = "test"
"""


@pytest.mark.parametrize("interrupted_after", [5, 30])
def test_a_run_with_priors_interrupted_resumes_to_the_same_tables(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    interrupted_after: int,
) -> None:
    """Cut in the main run (5 of 24 chunks) or in the noise-only run beside it
    (30): the resumed run's tables, the predictive figure's data included, are
    the uninterrupted run's."""
    scenario = write(tmp_path, SMALL + PRIORS)
    whole, cut = tmp_path / "whole", tmp_path / "cut"
    argv = ["run", str(scenario), "-n", "12", "--seed", "3", "--inner", "2", *QUIET]
    assert main([*argv, "--out", str(whole)]) == 0
    interrupt_after(monkeypatch, interrupted_after)
    assert main([*argv, "--out", str(cut)]) == 130
    monkeypatch.undo()
    assert main([*argv, "--out", str(cut), "--resume"]) == 0
    capsys.readouterr()
    assert tables(cut) == tables(whole)
    assert "param.push" in (cut / "replications.csv").read_text().splitlines()[0]
    assert (cut / "figures" / "predictive.png").is_file()
