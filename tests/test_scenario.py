"""Scenario validation: every bad input gives a one-line message naming the field."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from helpers import BASE
from livesim import ConfigError, bundled_scenario, load_scenario, scenario_from_dict
from livesim.archetypes import ARCHETYPES, HOST_KINDS
from livesim.scenario import HostParams


def errors_of(data: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as info:
        scenario_from_dict(data)
    return info.value.errors


def changed(path: str, value: Any) -> dict[str, Any]:
    """BASE with one value set at a dotted path like 'hosts.0.initial_trust'."""
    data = copy.deepcopy(BASE)
    *parents, last = path.split(".")
    node: Any = data
    for part in parents:
        node = node[int(part)] if part.isdigit() else node.setdefault(part, {})
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return data


def test_bundled_scenarios_are_valid() -> None:
    for name in ("mac_kos101", "teaching_tiny"):
        scenario = load_scenario(bundled_scenario(name))
        assert scenario.campaigns()


def test_every_archetype_is_complete_and_valid() -> None:
    for kind in HOST_KINDS:
        params = HostParams.model_validate(ARCHETYPES[kind])
        assert params.initial_trust <= params.trust_ceiling
    assert set(ARCHETYPES) == set(HOST_KINDS)


def test_host_overrides_replace_only_what_they_name() -> None:
    scenario = scenario_from_dict(changed("hosts.0.initial_trust", 0.2))
    params = scenario.campaigns()["baseline"].hosts["h"]
    assert params.initial_trust == 0.2
    assert params.trust_rate == ARCHETYPES["KOS"]["trust_rate"]


@pytest.mark.parametrize(
    ("path", "value", "field", "rule"),
    [
        ("hosts.0.initial_trustt", 0.5, "hosts[0].initial_trustt", "unknown key"),
        ("hosts.0.share_prob", 1.5, "hosts[0].share_prob", "less than or equal to 1"),
        ("hosts.0.like_rate", -0.1, "hosts[0].like_rate", "greater than or equal to 0"),
        ("products.0.price", -5.0, "products[0].price", "greater than 0"),
        (
            "products.0.return_rate",
            2.0,
            "products[0].return_rate",
            "less than or equal",
        ),
        ("streams.0.host", "ghost", "streams[0].host", "'ghost' is not a defined host"),
        ("streams.0.products", ["p", "nope"], "streams[0].products", "'nope' is not"),
        ("hosts.0.kind", "KOX", "hosts[0].kind", "KOL"),
        (
            "streams.0.duration",
            5000,
            "streams[0].duration",
            "less than or equal to 1440",
        ),
        (
            "hosts.0.dwell_mean_minutes",
            float("nan"),
            "hosts[0].dwell_mean_minutes",
            "finite",
        ),
        ("platform.scarcity_lift", -1.0, "platform.scarcity_lift", "greater than"),
        (
            "hosts.0.initial_trust",
            0.95,
            "hosts[0].initial_trust",
            "above trust_ceiling",
        ),
    ],
)
def test_bad_values_name_field_value_and_rule(
    path: str, value: Any, field: str, rule: str
) -> None:
    errors = errors_of(changed(path, value))
    assert len(errors) == 1, errors
    assert errors[0].startswith(field), errors
    assert rule in errors[0]


def test_supercritical_word_of_mouth_is_refused() -> None:
    data = changed("hosts.0.share_prob", 0.6)
    data["platform"] = {"wom_viewers_per_share": 2.0}
    (error,) = errors_of(data)
    assert error.startswith("streams[0]: word of mouth")
    assert "branching factor of 1.3" in error and "must be < 1" in error
    assert "word of mouth 1.2" in error and "comment feedback 0.1" in error


def test_size_past_a_documented_limit_is_refused() -> None:
    data = copy.deepcopy(BASE)
    data["streams"][0]["promotions"] = [
        {"start": 0, "duration": 1, "discount": 0.1} for _ in range(101)
    ]
    (error,) = errors_of(data)
    assert error.startswith("streams[0].promotions") and "at most 100" in error


def test_all_errors_are_reported_at_once() -> None:
    data = changed("hosts.0.share_prob", 3.0)
    data["products"][0]["price"] = 0
    data["surprise"] = 1
    errors = errors_of(data)
    assert len(errors) == 3
    assert {e.split(":")[0] for e in errors} == {
        "hosts[0].share_prob",
        "products[0].price",
        "surprise",
    }


def test_references_are_checked_inside_strategies() -> None:
    data = copy.deepcopy(BASE)
    data["strategies"] = {
        "alt": {
            "streams": [
                {"id": "s", "host": "nobody", "duration": 10, "products": ["p"]}
            ]
        }
    }
    (error,) = errors_of(data)
    assert error.startswith("strategies.alt.streams[0].host")


def test_promotion_must_fit_in_its_stream() -> None:
    data = changed(
        "streams.0.promotions", [{"start": 50, "duration": 20, "discount": 0.1}]
    )
    (error,) = errors_of(data)
    assert error.startswith("streams[0].promotions[0]") and "runs past" in error


def test_duplicate_ids_are_refused() -> None:
    data = copy.deepcopy(BASE)
    data["products"].append(dict(data["products"][0]))
    (error,) = errors_of(data)
    assert error.startswith("products[1].id") and "used twice" in error


def test_missing_file_and_bad_toml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such scenario file"):
        load_scenario(tmp_path / "absent.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("name = \n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_scenario(bad)


def test_strategies_resolve_with_their_own_sections(tiny: Any) -> None:
    campaigns = tiny.campaigns()
    assert list(campaigns) == ["baseline", "kos_only"]
    assert [s.id for s in campaigns["kos_only"].streams] == ["kos_close"]
    assert campaigns["kos_only"].products == campaigns["baseline"].products


def test_digest_changes_with_any_value() -> None:
    a = scenario_from_dict(copy.deepcopy(BASE))
    b = scenario_from_dict(changed("products.0.price", 101.0))
    assert a.digest() == scenario_from_dict(copy.deepcopy(BASE)).digest()
    assert a.digest() != b.digest()


def test_campaign_length_is_limited() -> None:
    (error,) = errors_of(changed("streams.0.start", 64_790))
    assert error.startswith("streams[0]") and "campaign limit of 64800" in error


def test_a_promotion_that_never_meets_its_product_is_refused() -> None:
    data = copy.deepcopy(BASE)
    data["products"].append({"id": "q", "price": 50.0})
    data["streams"][0].update(
        products=["p", "q"],
        segment_minutes=10,
        promotions=[{"start": 10, "duration": 10, "discount": 0.2, "products": ["p"]}],
    )
    (error,) = errors_of(data)
    assert error.startswith("streams[0].promotions[0]") and "never apply" in error
    data["streams"][0]["promotions"][0]["start"] = 20  # p's second turn
    assert scenario_from_dict(data)


def test_a_strategy_cannot_empty_a_section() -> None:
    data = copy.deepcopy(BASE)
    data["strategies"] = {"alt": {"streams": []}}
    (error,) = errors_of(data)
    assert error.startswith("strategies.alt.streams") and "at least 1" in error


def test_strategy_errors_name_the_strategy() -> None:
    data = copy.deepcopy(BASE)
    data["strategies"] = {"alt": {"products": [{"id": "q", "price": 5.0}]}}
    (error,) = errors_of(data)
    assert error.startswith("strategies.alt, with the baseline's streams[0].products")


def test_ads_need_a_positive_cpm() -> None:
    data = copy.deepcopy(BASE)
    data["costs"] = {"cpm": 0.0}
    (error,) = errors_of(data)
    assert error.startswith("costs.cpm") and "greater than 0" in error


def test_a_folder_is_not_a_scenario(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is a folder, not a scenario file"):
        load_scenario(tmp_path)


PHASE = {"days": 31, "impressions": 1e6, "turnout": 0.01}


def test_an_awareness_phase_is_checked_against_the_event() -> None:
    data = copy.deepcopy(BASE)
    data["awareness"] = PHASE | {
        "streams": ["s", "nope"],
        "participants": 100,
        "finalists": 200,
        "selected": 2,
    }
    errors = errors_of(data)
    assert errors == [
        "awareness.streams: 'nope' is not a defined stream",
        "awareness.finalists: 200 is more than participants 100: a selection only "
        "narrows",
        "awareness.selected: 2 selected hosts, but the event's streams have 1 host(s); "
        "they must agree (or give this campaign its own awareness, or `awareness = "
        "false` in a strategy)",
    ]
    data["awareness"] = PHASE | {"turnout": 1.5}
    (error,) = errors_of(data)
    assert error.startswith("awareness.turnout") and "(got 1.5)" in error


def test_a_strategy_can_drop_or_replace_the_awareness_phase() -> None:
    data = copy.deepcopy(BASE)
    data["awareness"] = PHASE | {"selected": 1}
    data["strategies"] = {
        "none": {"awareness": False},
        "own": {"awareness": PHASE | {"turnout": 0.5}},
        "kept": {"description": "inherits the phase"},
    }
    campaigns = scenario_from_dict(data).campaigns()
    assert campaigns["none"].awareness is None
    assert campaigns["own"].awareness.turnout == 0.5  # type: ignore[union-attr]
    assert campaigns["kept"].awareness == campaigns["baseline"].awareness
    data["strategies"] = {"bad": {"awareness": PHASE | {"streams": ["x"]}}}
    (error,) = errors_of(data)
    assert error == "strategies.bad.awareness.streams: 'x' is not a defined stream"


def test_a_bad_awareness_value_is_one_line() -> None:
    data = copy.deepcopy(BASE)
    data["strategies"] = {"x": {"awareness": True}}
    assert errors_of(data) == [
        "strategies.x.awareness: must be a table or false (got True)"
    ]
    data["strategies"] = {"x": {"awareness": PHASE | {"turnout": 2}}}
    assert errors_of(data) == [
        "strategies.x.awareness.turnout: Input should be less than or equal to 1 "
        "(got 2)"
    ]
    data = copy.deepcopy(BASE)
    data["awareness"] = False
    assert errors_of(data) == [
        "awareness: must be a table (leave it out for no phase) (got False)"
    ]
    data["awareness"] = PHASE | {"streams": ["s", "s"]}
    assert errors_of(data) == [
        "awareness.streams[1]: 's' is listed twice; list a stream once"
    ]
