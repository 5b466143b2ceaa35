"""The concise scenario language: templates and strategies that state only changes.

A concise file and its spelt-out twin are the same scenario (one digest); every
mistake in a template or an edit is one line naming the field, value and rule.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from livesim import ConfigError, scenario_from_dict
from livesim.cli import main

HEAD = """
name = "t"
[[products]]
id = "p"
price = 100.0
[[products]]
id = "q"
price = 50.0
"""

CONCISE = (
    HEAD
    + """
[[hosts]]
id = "kos"
count = 3
kind = "KOS"
followers = [30_000, 20_000, 10_000]
fee = 500.0

[[streams]]
id = "night"
host = "kos*"
for_each_host = true
duration = 60
start = [0, 10, 20]
products = ["p", "q"]
[[streams.promotions]]
start = 0
duration = 30
discount = 0.2
"""
)

SPELT = (
    HEAD
    + "".join(
        f"""
[[hosts]]
id = "kos0{k}"
kind = "KOS"
followers = {f}
fee = 500.0
"""
        for k, f in ((1, 30_000), (2, 20_000), (3, 10_000))
    )
    + "".join(
        f"""
[[streams]]
id = "kos0{k}_night"
host = "kos0{k}"
duration = 60
start = {s}
products = ["p", "q"]
[[streams.promotions]]
start = 0
duration = 30
discount = 0.2
"""
        for k, s in ((1, 0), (2, 10), (3, 20))
    )
)


def load(text: str) -> Any:
    return scenario_from_dict(tomllib.loads(text))


def refused(text: str) -> list[str]:
    with pytest.raises(ConfigError) as exc:
        load(text)
    return exc.value.errors


def test_templates_expand_to_the_spelt_out_scenario() -> None:
    concise, spelt = load(CONCISE), load(SPELT)
    assert [h.id for h in concise.hosts] == ["kos01", "kos02", "kos03"]
    assert [s.id for s in concise.streams] == [
        "kos01_night",
        "kos02_night",
        "kos03_night",
    ]
    assert [h.followers for h in concise.hosts] == [30_000, 20_000, 10_000]
    assert concise.digest() == spelt.digest()


BIGGER = """
[strategies.bigger]
set = { "hosts.kos*.followers" = 45_000.4, "streams.*.promotions.*.discount" = 0.3 }
"""
FEWER = """
[strategies.fewer]
remove_hosts = ["kos03"]
add_hosts = [{ id = "koc", count = 2, kind = "KOC", followers = 5_000 }]
add_streams = [
  { id = "s", host = "koc*", for_each_host = true, duration = 30, products = ["q"] },
]
"""


def test_a_strategy_states_only_what_changes() -> None:
    scenario = load(CONCISE + BIGGER + FEWER)
    campaigns = scenario.campaigns()
    bigger = campaigns["bigger"]
    assert {h.followers for h in bigger.hosts.values()} == {45_000}  # rounded
    assert {s.promotions[0].discount for s in bigger.streams} == {0.3}
    base = campaigns["baseline"]
    assert {h.followers for h in base.hosts.values()} == {30_000, 20_000, 10_000}
    fewer = campaigns["fewer"]
    assert sorted(fewer.hosts) == ["koc01", "koc02", "kos01", "kos02"]
    # a removed host's streams go with it
    ids = ["kos01_night", "kos02_night", "koc01_s", "koc02_s"]
    assert [s.id for s in fewer.streams] == ids
    # the same strategy spelt out is the same scenario
    hosts = "".join(
        f'[[strategies.bigger.hosts]]\nid = "kos0{k}"\nkind = "KOS"\n'
        "followers = 45000\nfee = 500.0\n"
        for k in (1, 2, 3)
    )
    streams = "".join(
        f'[[strategies.bigger.streams]]\nid = "kos0{k}_night"\nhost = "kos0{k}"\n'
        f'duration = 60\nstart = {s}\nproducts = ["p", "q"]\n'
        "[[strategies.bigger.streams.promotions]]\nstart = 0\nduration = 30\n"
        "discount = 0.3\n"
        for k, s in ((1, 0), (2, 10), (3, 20))
    )
    spelt = load(CONCISE + "[strategies.bigger]\n" + hosts + streams + FEWER)
    assert spelt.digest() == scenario.digest()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("count = 3", "count = 0"), "hosts[0].count: 0 is not a whole number"),
        (
            ("followers = [30_000, 20_000, 10_000]", "followers = [30_000, 20_000]"),
            "hosts[0].followers: 2 values for 3 hosts",
        ),
        (('host = "kos*"', 'host = "kol*"'), "streams[0].host: 'kol*' matches no host"),
        (("start = [0, 10, 20]", "start = [0, 10]"), "streams[0].start: 2 values"),
    ],
)
def test_bad_templates_are_named(change: tuple[str, str], message: str) -> None:
    errors = refused(CONCISE.replace(*change))
    assert any(message in e for e in errors), errors


@pytest.mark.parametrize(
    ("strategy", "message"),
    [
        (
            'set = { "hosts.kox*.followers" = 1 }',
            "strategies.s.set: 'hosts.kox*.followers' matches nothing",
        ),
        ('set = { "fame.x" = 1 }', "strategies.s.set: 'fame' is not a section"),
        ('remove_hosts = ["nobody"]', "remove_hosts: 'nobody' matches no host id"),
        ('set = { "hosts.kos01.followers" = "many" }', "followers"),
        ('set = { "hosts.*.followers" = -5 }', "greater than or equal to 0"),
    ],
)
def test_bad_edits_are_named(strategy: str, message: str) -> None:
    errors = refused(CONCISE + f"[strategies.s]\n{strategy}\n")
    assert any(message in e for e in errors), errors


def test_a_bad_edit_exits_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "s.toml"
    path.write_text(CONCISE + '[strategies.s]\nset = { "hosts.nobody.fee" = 1.0 }\n')
    assert main(["check", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "'hosts.nobody.fee' matches nothing" in err
    assert "Traceback" not in err
