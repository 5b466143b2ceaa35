"""The docs tell the truth: docs/model.md lists every parameter with its value."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from livesim.archetypes import ARCHETYPES, HOST_KINDS
from livesim.scenario import Costs, HostParams, Platform, Product, Promotion, Stream

ROOT = Path(__file__).resolve().parents[1]
MODEL = (ROOT / "docs" / "model.md").read_text(encoding="utf-8")


def table_rows(heading: str) -> dict[str, list[str]]:
    """The rows of the first table after `heading`, keyed by their first cell."""
    section = MODEL.split(heading, 1)[1]
    rows: dict[str, list[str]] = {}
    for line in section.splitlines()[1:]:
        if line.startswith("#"):
            break
        if line.startswith("|") and not line.startswith("|---"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            rows[cells[0]] = cells[1:]
    return rows


def as_value(cell: str) -> Any:
    cell = cell.replace(",", "")
    if cell in ("true", "false"):
        return cell == "true"
    try:
        return float(cell)
    except ValueError:
        return cell


def test_host_table_matches_the_archetypes() -> None:
    rows = table_rows("### Host parameters")
    defaults = HostParams.model_fields
    assert set(rows) - {"parameter"} == set(defaults)
    for name, cells in rows.items():
        if name == "parameter":
            continue
        for kind, cell in zip(HOST_KINDS, cells[1:6], strict=True):
            code = ARCHETYPES[kind].get(name, defaults[name].default)
            assert as_value(cell) == (
                float(code)
                if isinstance(code, int | float) and not isinstance(code, bool)
                else code
            ), f"{name} for {kind}: docs say {cell}, code says {code}"


@pytest.mark.parametrize("model", [Product, Promotion, Stream, Platform, Costs])
def test_every_other_parameter_is_documented(model: Any) -> None:
    documented = set(re.findall(r"^\| ([a-z_.,\s]+?) \|", MODEL, flags=re.M))
    names: set[str] = set()
    for entry in documented:
        for part in entry.split(","):
            names.add(part.strip().split(".")[-1])
    missing = set(model.model_fields) - names
    assert not missing, f"{model.__name__} fields missing from docs/model.md: {missing}"


def test_platform_defaults_in_docs_match_code() -> None:
    rows = table_rows("### Platform")
    for name, info in Platform.model_fields.items():
        assert as_value(rows[name][1]) == float(info.default), name


def test_readme_quick_start_is_the_two_commands() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    quick = readme.split("## Quick start", 1)[1].split("##", 1)[0]
    assert "make run" in quick and "make test" in quick
    assert "make test" in (ROOT / ".ci" / "run").read_text()


@pytest.mark.parametrize(
    ("heading", "model", "prefix"),
    [("### Products", Product, ""), ("### Costs and scenario", Costs, "costs.")],
)
def test_product_and_cost_defaults_in_docs_match_code(
    heading: str, model: Any, prefix: str
) -> None:
    rows = table_rows(heading)
    checked = 0
    for name, info in model.model_fields.items():
        default = info.default
        if isinstance(default, int | float) and not isinstance(default, bool):
            assert as_value(rows[prefix + name][1]) == float(default), name
            checked += 1
    assert checked >= 3


def test_package_docstring_example_runs() -> None:
    import doctest

    import livesim

    failures, tried = doctest.testmod(livesim)
    assert tried >= 3 and failures == 0


def _section(heading: str) -> str:
    return MODEL.split(heading, 1)[1].split("\n## ", 1)[0]


@pytest.mark.parametrize(
    ("heading", "module", "model"),
    [
        ("## 12. Sweeps", "livesim.sweep", "Experiment"),
        ("## 13. Global sensitivity", "livesim.sensitivity", "SensitivityExperiment"),
        ("## 15. Budget optimization", "livesim.optimize", "OptimizeConfig"),
        ("## 15. Budget optimization", "livesim.optimize", "HostOption"),
        ("## 15. Budget optimization", "livesim.optimize", "Racing"),
        ("## 15. Budget optimization", "livesim.optimize", "PromotionTemplate"),
        ("## 16. Parameter uncertainty", "livesim.model.uncertainty", "Prior"),
    ],
)
def test_every_experiment_key_is_documented(
    heading: str, module: str, model: str
) -> None:
    import importlib

    cls = getattr(importlib.import_module(module), model)
    section = _section(heading)
    own = set(cls.model_fields)
    if model == "SensitivityExperiment":  # the sweep's keys are listed by name
        own -= {"design"}
    missing = {k for k in own if not re.search(rf"[`.]{k}[`.\[]", section)}
    assert not missing, f"{model} keys missing from docs/model.md {heading}: {missing}"


def test_every_test_named_in_the_guarantees_exists() -> None:
    text = (ROOT / "docs" / "guarantees.md").read_text(encoding="utf-8")
    sources = "".join(p.read_text() for p in (ROOT / "tests").glob("test_*.py"))
    named = set(re.findall(r"\b(test_\w+?)(?:\.py|\b)", text))
    files = {n for n in named if (ROOT / "tests" / f"{n}.py").is_file()}
    functions = named - files
    assert len(functions) >= 20  # the page names the tests, not just the files
    missing = sorted(n for n in functions if f"def {n}(" not in sources)
    assert missing == []


def test_the_python_page_runs_as_written(monkeypatch: pytest.MonkeyPatch) -> None:
    """docs/python.md is a doctest: every example runs from the repository root
    and prints what the page says."""
    import doctest

    monkeypatch.chdir(ROOT)
    failures, tried = doctest.testfile(
        str(ROOT / "docs" / "python.md"),
        module_relative=False,
        optionflags=doctest.NORMALIZE_WHITESPACE,
    )
    assert tried >= 20 and failures == 0


def test_the_api_covers_every_command() -> None:
    """A documented function in livesim.api for every command that computes."""
    import doctest

    import livesim.api as api
    from livesim.cli import COMMANDS

    page = (ROOT / "docs" / "python.md").read_text(encoding="utf-8")
    for command in set(COMMANDS) - {"check", "init"}:  # (they compute nothing)
        function = getattr(api, command)
        assert function.__doc__ and f"`livesim {command}`" in function.__doc__
        assert f"`{command}(" in page, command
    failures, tried = doctest.testmod(api)
    assert tried >= 2 and failures == 0


def _blocks(text: str, language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", text, flags=re.M | re.S)


@pytest.mark.slow
def test_the_readme_commands_run_as_written(tmp_path: Path) -> None:
    """The README's tour (its first block of livesim commands, and its Python
    block) runs as written, in a folder with the repository's experiments."""
    import os
    import subprocess
    import sys

    (tmp_path / "experiments").symlink_to(ROOT / "experiments")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    shell = next(b for b in _blocks(readme, "sh") if ".venv/bin/livesim" in b)
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    for line in shell.splitlines():
        command = line.split("#", 1)[0].split()
        assert command[0] == ".venv/bin/livesim", line
        done = subprocess.run(
            [sys.executable, "-m", "livesim.cli", *command[1:], "-w", "1"]
            if command[1] == "run"
            else [sys.executable, "-m", "livesim.cli", *command[1:]],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert done.returncode == 0, (line, done.stderr)
    assert (tmp_path / "results" / "mac_kos101" / "report.html").is_file()
    assert (tmp_path / "results" / "teaching_tiny" / "events.parquet").is_file()
    code = _blocks(readme, "python")[0]
    done = subprocess.run(
        [sys.executable, "-c", code.replace("replications=50", "replications=6")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "results" / "tiny" / "replications.parquet").is_file()
