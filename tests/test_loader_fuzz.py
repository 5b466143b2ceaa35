"""The loader under random damage (Hypothesis): mutations of the bundled scenarios
(deleted keys, wrong types, out-of-range numbers, swapped references) give either a
valid scenario or exit 2 with every line naming the file and a field, never a
traceback, and never a partial output folder.
"""

from __future__ import annotations

import copy
import json
import math
import re
import tempfile
import tomllib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from livesim import bundled_scenario
from livesim.cli import main

NAMES = ("teaching_tiny", "mac_kos101")
BASES = {n: tomllib.loads(bundled_scenario(n).read_text()) for n in NAMES}
#: Valid mutants are also run when one replication is about this small.
RUN_LIMIT = 30_000
BARE = re.compile(r"^[A-Za-z0-9_-]+$")


def toml(data: dict[str, Any]) -> str:
    """A dict as TOML (every table inline: enough for any scenario dict)."""
    return "".join(f"{_key(k)} = {_value(v)}\n" for k, v in data.items())


def _key(key: str) -> str:
    return key if BARE.match(key) else json.dumps(key)


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    return "{" + ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items()) + "}"


def places(node: Any, at: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a value below `node`."""
    if isinstance(node, dict):
        items = list(node.items())
    elif isinstance(node, list):
        items = list(enumerate(node))
    else:
        return []
    out = []
    for key, child in items:
        out.append((*at, key))
        out += places(child, (*at, key))
    return out


def ids(data: dict[str, Any]) -> list[str]:
    return [x["id"] for k in ("hosts", "products", "streams") for x in data.get(k, [])]


WRONG = st.one_of(
    st.booleans(),
    st.text(max_size=5),
    st.just([]),
    st.just({}),
    st.integers(-(10**12), 10**12),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([-1, -0.5, 0, 0.5, 1.5, 2, 1e9, 3e9]),
)


@st.composite
def mutants(draw: st.DrawFn) -> tuple[str, dict[str, Any], list[str]]:
    name = draw(st.sampled_from(NAMES))
    data = copy.deepcopy(BASES[name])
    done = []
    for _ in range(draw(st.integers(1, 3))):
        spots = places(data)
        if not spots:
            break
        path = draw(st.sampled_from(spots))
        parent: Any = data
        for key in path[:-1]:
            parent = parent[key]
        last = path[-1]
        kind = draw(st.sampled_from(["delete", "wrong", "reference"]))
        if kind == "delete":
            del parent[last]
        elif kind == "reference":
            parent[last] = draw(st.sampled_from([*ids(BASES[name]), "ghost", ""]))
        else:
            parent[last] = draw(WRONG)
        done.append(f"{kind} {'.'.join(map(str, path))}")
    return name, data, done


@pytest.mark.slow
@settings(
    max_examples=100,
    deadline=None,
    derandomize=True,  # the same examples every run: CI is deterministic
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=mutants())
def test_a_damaged_scenario_is_valid_or_refused_with_its_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], case: Any
) -> None:
    from livesim.runner import expected_work
    from livesim.scenario import load_scenario

    name, data, done = case
    folder = Path(tempfile.mkdtemp(dir=tmp_path))  # one per example
    path = folder / "scenario.toml"
    path.write_text(toml(data), encoding="utf-8")
    out = folder / "out"
    code = main(["check", str(path)])
    captured = capsys.readouterr()
    event("valid" if code == 0 else "refused")
    assert code in (0, 2), (done, captured.err)
    assert "Traceback" not in captured.err and "failed:" not in captured.err, done
    if code == 2:
        lines = captured.err.splitlines()
        field = re.compile(rf"^livesim: error: {re.escape(str(path))}: [A-Za-z_]")
        assert lines and all(field.match(line) for line in lines), (done, lines)
        # the run is refused the same way and leaves nothing behind
        run = ["run", str(path), "-n", "1", "-w", "1", "--no-progress"]
        assert main([*run, "--out", str(out)]) == 2, done
        capsys.readouterr()
        assert sorted(p.name for p in folder.iterdir()) == ["scenario.toml"], done
        return
    if expected_work(load_scenario(path)) > RUN_LIMIT:
        return
    event("valid and run")
    run = ["run", str(path), "-n", "1", "-w", "1", "--no-progress"]
    code = main([*run, "--engine", "agent", "--out", str(out)])
    captured = capsys.readouterr()
    assert code in (0, 2), (done, captured.err)
    assert "Traceback" not in captured.err and "failed:" not in captured.err, done
    if code == 2:
        assert not out.exists(), done
    assert sorted(p.name for p in folder.iterdir() if p.name != "out") == [
        "scenario.toml"
    ], done
