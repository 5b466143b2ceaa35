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


# ------------------------------------------------------------------------ extends


def test_a_file_extends_another_and_drops_keys(tmp_path: Path) -> None:
    from livesim import load_scenario

    (tmp_path / "base.toml").write_text(
        CONCISE
        + "[calibration]\nreplications = 10\n[[calibration.free]]\nname = 'rate'\n"
        + "paths = ['hosts.*.recommendation_rate']\nlow = 1.0\nhigh = 9.0\n"
    )
    child = tmp_path / "child.toml"
    child.write_text(
        'extends = "base.toml"\ndrop = ["calibration"]\nname = "child"\n' + BIGGER
    )
    base, derived = load_scenario(tmp_path / "base.toml"), load_scenario(child)
    assert base.calibration is not None and derived.calibration is None
    assert derived.name == "child" and derived.hosts == base.hosts
    assert list(derived.strategies) == ["bigger"]
    # a bundled scenario by name
    (tmp_path / "night.toml").write_text('extends = "teaching_tiny"\nname = "mine"\n')
    assert load_scenario(tmp_path / "night.toml").streams[0].id == "kol_warmup"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('extends = "nowhere.toml"\n', "nowhere.toml: no such scenario file"),
        ('extends = "loop.toml"\n', "extends itself"),
        ('extends = "teaching_tiny"\ndrop = ["fame"]\n', "drop: 'fame' is not a key"),
        ("extends = 3\n", "extends: 3 is not a file name"),
    ],
)
def test_bad_extends_are_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, message: str
) -> None:
    path = tmp_path / "loop.toml"
    path.write_text(text)
    assert main(["check", str(path)]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1, err


def test_a_sweep_takes_an_id_pattern(tmp_path: Path) -> None:
    import pandas as pd

    (tmp_path / "t.toml").write_text(CONCISE)
    exp = tmp_path / "exp.toml"
    exp.write_text(
        'scenario = "t.toml"\nreplications = 2\noutputs = ["unique_viewers"]\n'
        '[[parameters]]\nname = "followers"\npaths = ["hosts.kos0[12].followers"]\n'
        "values = [1000.0, 50000.0]\n"
    )
    out = tmp_path / "out"
    assert main(["sweep", str(exp), "-w", "1", "--no-progress", "--out", str(out)]) == 0
    means = pd.read_csv(out / "sweep.csv").groupby("followers")["unique_viewers"].mean()
    assert means.loc[1000] < means.loc[50000]


# --------------------------------------------------------------------------- init


@pytest.mark.parametrize("kinds", [[], ["KOL", "KOC"], ["KOS", "KOS", "KOF", "BRAND"]])
def test_init_writes_a_starter_that_checks_and_runs(
    tmp_path: Path, kinds: list[str]
) -> None:
    from livesim import load_scenario

    path = tmp_path / "my campaign.toml"
    flags = [a for k in kinds for a in ("--kind", k)]
    assert main(["init", str(path), *flags]) == 0
    text = path.read_text()
    assert text.count("#") > 20  # commented
    assert main(["check", str(path)]) == 0
    scenario = load_scenario(path)
    assert [h.kind for h in scenario.hosts] == (kinds or ["KOS"])
    assert list(scenario.strategies) == ["more_followers"]
    doubled = scenario.campaigns()["more_followers"].hosts
    for host in scenario.hosts:
        assert doubled[host.id].followers == 2 * host.followers
    out = tmp_path / "out"
    argv = ["run", str(path), "-n", "2", "-w", "1", "--no-progress", "--out", str(out)]
    assert main(argv) == 0


def test_init_keeps_an_existing_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "mine.toml"
    path.write_text("keep me")
    assert main(["init", str(path)]) == 2
    assert "exists; --force replaces it" in capsys.readouterr().err
    assert path.read_text() == "keep me"
    assert main(["init", str(path), "--force"]) == 0
    assert main(["init", str(tmp_path / "mine.txt")]) == 2


# ----------------------------------------------------- edits on their own, edges


def test_remove_hosts_alone_takes_their_streams() -> None:
    scenario = load(CONCISE + '[strategies.fewer]\nremove_hosts = ["kos03"]\n')
    fewer = scenario.campaigns()["fewer"]
    assert sorted(fewer.hosts) == ["kos01", "kos02"]
    assert [s.id for s in fewer.streams] == ["kos01_night", "kos02_night"]


def test_an_empty_list_is_shared_by_every_entry() -> None:
    text = CONCISE.replace("[[streams.promotions]]\nstart = 0\nduration = 30\n", "")
    text = text.replace("discount = 0.2\n", "promotions = []\n", 1)
    assert all(s.promotions == [] for s in load(text).streams)


def test_add_streams_sees_the_strategys_own_hosts() -> None:
    scenario = load(
        CONCISE
        + "[strategies.own]\n"
        + 'hosts = [{ id = "new1", kind = "KOC" }, { id = "new2", kind = "KOC" }]\n'
        + 'add_streams = [{ id = "s", host = "new*", for_each_host = true, '
        + 'duration = 30, products = ["p"] }]\n'
        + 'remove_streams = ["kos*"]\n'
    )
    assert [s.id for s in scenario.campaigns()["own"].streams] == ["new1_s", "new2_s"]


def test_platform_and_costs_can_be_set_from_their_defaults() -> None:
    scenario = load(
        CONCISE
        + '[strategies.p]\nset = { "platform.gpm_boost" = 0.5, "costs.fixed" = 7.0 }\n'
    )
    campaign = scenario.campaigns()["p"]
    assert campaign.platform.gpm_boost == 0.5 and campaign.costs.fixed == 7.0


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('extends = "nodir/base.toml"\n', "no such scenario file"),
        ("[strategies.s.set]\nhosts.kos01.followers = 1\n", "quote each dotted path"),
    ],
)
def test_more_bad_input_is_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, message: str
) -> None:
    path = tmp_path / "s.toml"
    path.write_text(text if text.startswith("extends") else CONCISE + text)
    assert main(["check", str(path)]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err, err


def test_a_deep_extends_chain_is_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "e0.toml").write_text(CONCISE)
    for k in range(1, 11):
        (tmp_path / f"e{k}.toml").write_text(f'extends = "e{k - 1}.toml"\n')
    assert main(["check", str(tmp_path / "e10.toml")]) == 2
    assert "more than 8 files extend each other" in capsys.readouterr().err
