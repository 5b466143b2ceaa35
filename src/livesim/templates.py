"""The concise scenario language: templates, and strategies that state only changes.

A scenario file may say in a line what would otherwise be copied section by
section. `expand` turns such a file (its TOML dict) into the plain form the schema
validates, before validation, so a concise file and its spelt-out twin are the
same scenario (the same `Scenario.digest()`):

- **Host templates.** ``count = N`` on a host makes N hosts with ids ``<id>01`` ..
  ``<id>NN``; a field given as a list gives one value per host
  (``followers = [180_000, 150_000, ...]``), any other value is shared.
- **Stream templates.** ``for_each_host = true`` with a host pattern
  (``host = "kos*"``) makes one stream per matching host, with id
  ``<host>_<id>``; ``count = N`` makes N streams with ids ``<id>01`` ..; lists give
  per-stream values as for hosts (``products`` and ``promotions`` take a list of
  lists for that). Promotions are copied to every stream.
- **Strategies that state changes.** Beside whole sections (as before), a strategy
  may ``remove_products``, ``remove_hosts`` (a host's streams go with it),
  ``remove_streams`` (ids or patterns), ``add_products``, ``add_hosts``,
  ``add_streams`` (tables, templates allowed) and ``set`` values at dotted paths
  (`livesim.dotted`: ``"hosts.kos*.followers" = 200_000``), applied in that order
  to the baseline's sections (or the strategy's own). Whole-number fields are
  rounded.

- **Extending a file.** ``extends = "other.toml"`` (beside this file, or a
  bundled scenario's name) starts from every top-level key of that file; each key
  given here replaces the one there (whole sections), and ``drop = ["calibration"]``
  leaves keys of it out (`inherit`, at loading).

Every problem is reported at once, as one line naming the field, the value and the
rule (a `ConfigError`).
"""

from __future__ import annotations

import contextlib
import copy
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any, get_args, get_origin

from livesim.dotted import set_path
from livesim.errors import ConfigError

#: The sections a strategy's `set`, `add_*` and `remove_*` edit.
SECTIONS = ("products", "hosts", "streams", "platform", "costs", "awareness")
LISTS = ("products", "hosts", "streams")
EDITS = (
    *(f"remove_{s}" for s in LISTS),
    *(f"add_{s}" for s in LISTS),
    "set",
)
MAX_COUNT = 1000


@dataclass(frozen=True)
class Fields:
    """What the schema says of fields (from `livesim.scenario`'s models): per kind
    (products, hosts, streams, promotions, platform, costs, awareness), the fields
    that hold lists and those that take whole numbers."""

    lists: dict[str, frozenset[str]] = field(default_factory=dict)
    integers: dict[str, frozenset[str]] = field(default_factory=dict)

    def is_list(self, kind: str, name: str) -> bool:
        return name in self.lists.get(kind, frozenset())

    def is_integer(self, kind: str, name: str) -> bool:
        return name in self.integers.get(kind, frozenset())


#: How deep `extends` may chain (a file that extends one that extends ...).
MAX_EXTENDS = 8


def inherit(
    data: dict[str, Any],
    path: Path,
    read: Callable[[Path], dict[str, Any]],
    seen: tuple[Path, ...] = (),
) -> dict[str, Any]:
    """`data` (the file at `path`) on top of the file it `extends`, if any (`read`
    reads a TOML file)."""
    from livesim.scenarios import bundled_scenario

    if "extends" not in data:
        return data
    parent = data.get("extends")
    drop = data.get("drop", [])
    if not isinstance(parent, str) or not parent:
        raise ConfigError(f"extends: {parent!r} is not a file name")
    if not isinstance(drop, list) or not all(isinstance(k, str) for k in drop):
        raise ConfigError(f"drop: {drop!r} is not a list of top-level keys")
    found = (path.parent / parent).resolve()
    if not found.is_file() and "/" not in parent and "\\" not in parent:
        with contextlib.suppress(FileNotFoundError, ValueError):
            found = bundled_scenario(parent.removesuffix(".toml"))
    if found in seen:
        raise ConfigError(f"extends: {parent!r} extends itself, through {seen[-1]}")
    if len(seen) >= MAX_EXTENDS:
        raise ConfigError(f"extends: more than {MAX_EXTENDS} files extend each other")
    base = inherit(read(found), found, read, (*seen, path.resolve()))
    missing = [k for k in drop if k not in base]
    if missing:
        raise ConfigError(f"drop: {missing[0]!r} is not a key of {parent!r}")
    own = {k: v for k, v in data.items() if k not in ("extends", "drop")}
    return {k: v for k, v in base.items() if k not in drop} | own


def expand(data: dict[str, Any], fields: Fields) -> dict[str, Any]:
    """The scenario dict with its templates expanded and its strategies' edits
    applied (a new dict; `data` is left as it was)."""
    if not isinstance(data, dict):
        return data
    out = copy.deepcopy(data)
    problems: list[str] = []
    expand_sections(out, "", fields, problems, out)
    strategies = out.get("strategies")
    if isinstance(strategies, dict):
        for name, strategy in strategies.items():
            if isinstance(strategy, dict):
                where = f"strategies.{name}."
                expand_sections(strategy, where, fields, problems, out)
                apply_edits(out, strategy, where, fields, problems)
    if problems:
        raise ConfigError(list(dict.fromkeys(problems)))
    return out


def expand_sections(
    holder: dict[str, Any],
    where: str,
    fields: Fields,
    problems: list[str],
    base: dict[str, Any],
) -> None:
    """Expand the host and stream templates of one campaign's sections (the
    scenario's, or a strategy's own)."""
    if isinstance(holder.get("hosts"), list):
        holder["hosts"] = expand_hosts(
            holder["hosts"], f"{where}hosts", fields, problems
        )
    if isinstance(holder.get("streams"), list):
        hosts = holder.get("hosts", base.get("hosts"))
        holder["streams"] = expand_streams(
            holder["streams"], hosts, f"{where}streams", fields, problems
        )


def expand_hosts(
    entries: list[Any], where: str, fields: Fields, problems: list[str]
) -> list[Any]:
    """Host entries with each `count` template replaced by its hosts."""
    out: list[Any] = []
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict) or "count" not in entry:
            out.append(entry)
            continue
        spec = dict(entry)
        count = _count(spec.pop("count"), f"{where}[{i}].count", problems)
        if count is None or not _ident(spec, f"{where}[{i}]", problems):
            continue
        ids = numbered(spec.get("id"), count)
        out += instances(spec, ids, "hosts", f"{where}[{i}]", fields, problems)
    return out


def expand_streams(
    entries: list[Any],
    hosts: Any,
    where: str,
    fields: Fields,
    problems: list[str],
) -> list[Any]:
    """Stream entries with each template (`for_each_host` or `count`) replaced by
    its streams."""
    host_ids = [
        h["id"]
        for h in (hosts if isinstance(hosts, list) else [])
        if isinstance(h, dict) and isinstance(h.get("id"), str)
    ]
    out: list[Any] = []
    for i, entry in enumerate(entries):
        here = f"{where}[{i}]"
        if not isinstance(entry, dict) or not ({"count", "for_each_host"} & set(entry)):
            out.append(entry)
            continue
        spec = dict(entry)
        if not _ident(spec, here, problems):
            continue
        each = spec.pop("for_each_host", False)
        count = spec.pop("count", None)
        if each is not True and each is not False:
            problems.append(f"{here}.for_each_host: {each!r} is not true or false")
            continue
        if each and count is not None:
            problems.append(f"{here}: give count or for_each_host, not both")
            continue
        if each:
            pattern = spec.get("host")
            chosen = [
                h
                for h in host_ids
                if isinstance(pattern, str) and fnmatchcase(h, pattern)
            ]
            if not chosen:
                problems.append(
                    f"{here}.host: {pattern!r} matches no host (hosts: "
                    f"{', '.join(host_ids) or 'none'})"
                )
                continue
            spec["host"] = chosen
            ids = [f"{h}_{spec.get('id')}" for h in chosen]
        else:
            n = _count(count, f"{here}.count", problems)
            if n is None:
                continue
            ids = numbered(spec.get("id"), n)
        out += instances(spec, ids, "streams", here, fields, problems)
    return out


def numbered(ident: Any, count: int) -> list[str]:
    """`count` ids: the template's id with 01, 02, ... (wider past 99)."""
    width = max(2, len(str(count)))
    return [f"{ident}{k:0{width}d}" for k in range(1, count + 1)]


def instances(
    spec: dict[str, Any],
    ids: list[str],
    kind: str,
    where: str,
    fields: Fields,
    problems: list[str],
) -> list[dict[str, Any]]:
    """The entries of a template: `spec` with each id, a list value taken one per
    entry (for a field that holds a list: a list of lists), others shared."""
    n = len(ids)
    per: dict[str, list[Any]] = {}
    for key, value in spec.items():
        if key == "id" or not isinstance(value, list):
            continue
        if fields.is_list(kind, key) and not (
            value and all(isinstance(v, list) for v in value)
        ):
            continue  # one list for every entry
        if len(value) != n:
            problems.append(
                f"{where}.{key}: {len(value)} values for {n} {kind}; give one per "
                f"entry ({', '.join(ids[:3])}{', ...' if n > 3 else ''}) or a "
                "single value"
            )
            return []
        per[key] = value
    return [
        {
            **copy.deepcopy({k: v for k, v in spec.items() if k not in per}),
            **{k: copy.deepcopy(v[j]) for k, v in per.items()},
            "id": ident,
        }
        for j, ident in enumerate(ids)
    ]


def apply_edits(
    scenario: dict[str, Any],
    strategy: dict[str, Any],
    where: str,
    fields: Fields,
    problems: list[str],
) -> None:
    """A strategy's remove_*, add_* and set, applied in that order to copies of the
    sections they touch, which become the strategy's own sections."""
    edits = {k: strategy.pop(k) for k in EDITS if k in strategy}
    if not edits:
        return
    setting = edits.get("set", {})
    if not isinstance(setting, dict):
        problems.append(f"{where}set: must be a table of dotted paths and values")
        return
    touched = {k.split("_", 1)[1] for k in edits if k != "set"}
    touched |= {str(path).split(".", 1)[0] for path in setting}
    if "remove_hosts" in edits:
        touched.add("streams")  # a removed host's streams go with it
    unknown = sorted(touched - set(SECTIONS))
    for head in unknown:
        problems.append(
            f"{where}set: {head!r} is not a section a strategy changes "
            f"({', '.join(SECTIONS)})"
        )
    sections: dict[str, Any] = {}
    for name in [s for s in SECTIONS if s in touched]:
        own = strategy.get(name)
        if own is None:  # the baseline's (platform and costs: their defaults)
            own = scenario.get(name, {} if name in ("platform", "costs") else None)
        if own is None or own is False:
            problems.append(f"{where}{name}: the strategy has none to change")
            continue
        sections[name] = copy.deepcopy(own)
    _remove(sections, edits, where, problems)
    _add(sections, edits, where, fields, problems, {**scenario, **strategy})
    for path, value in setting.items():
        if "." not in str(path) and isinstance(value, dict):
            problems.append(
                f"{where}set: {path!r} holds a table: quote each dotted path, e.g. "
                '"hosts.kos01.followers" = 200_000'
            )
            continue
        _set(sections, str(path), value, where, fields, problems)
    strategy.update(sections)


def _remove(
    sections: dict[str, Any], edits: dict[str, Any], where: str, problems: list[str]
) -> None:
    for name in LISTS:
        key = f"remove_{name}"
        if key not in edits or not isinstance(sections.get(name), list):
            continue
        patterns = edits[key]
        if not isinstance(patterns, list) or not all(
            isinstance(p, str) for p in patterns
        ):
            problems.append(f"{where}{key}: must be a list of ids or id patterns")
            continue
        ids = [
            e["id"]
            for e in sections[name]
            if isinstance(e, dict) and isinstance(e.get("id"), str)
        ]
        gone = {i for i in ids if any(fnmatchcase(str(i), p) for p in patterns)}
        for p in patterns:
            if not any(fnmatchcase(str(i), p) for i in ids):
                problems.append(f"{where}{key}: {p!r} matches no {name[:-1]} id")
        sections[name] = [e for e in sections[name] if not _named(e, "id", gone)]
        if name == "hosts" and isinstance(sections.get("streams"), list):
            sections["streams"] = [
                s for s in sections["streams"] if not _named(s, "host", gone)
            ]


def _add(
    sections: dict[str, Any],
    edits: dict[str, Any],
    where: str,
    fields: Fields,
    problems: list[str],
    scenario: dict[str, Any],
) -> None:
    for name in LISTS:
        key = f"add_{name}"
        if key not in edits or not isinstance(sections.get(name), list):
            continue
        added = edits[key]
        if not isinstance(added, list):
            problems.append(f"{where}{key}: must be a list of tables")
            continue
        if name == "hosts":
            added = expand_hosts(added, f"{where}{key}", fields, problems)
        if name == "streams":
            hosts = sections.get("hosts", scenario.get("hosts"))
            added = expand_streams(added, hosts, f"{where}{key}", fields, problems)
        sections[name] = sections[name] + added


def _set(
    sections: dict[str, Any],
    path: str,
    value: Any,
    where: str,
    fields: Fields,
    problems: list[str],
) -> None:
    head = path.split(".", 1)[0]
    if head not in sections:
        return  # reported when the sections were gathered
    kind, name = _field_of(path)
    whole = fields.is_integer(kind, name) and isinstance(value, float)
    if whole and math.isfinite(value):  # (the schema refuses NaN and inf)
        value = round(value)  # whole-number fields take whole numbers
    if set_path(sections, path, copy.deepcopy(value)) == 0:
        problems.append(
            f"{where}set: {path!r} matches nothing in the strategy's {head}"
        )


def _field_of(path: str) -> tuple[str, str]:
    """(kind, field) a dotted path ends at: e.g. ("promotions", "discount")."""
    parts = path.split(".")
    kind = parts[0]
    if kind == "streams" and "promotions" in parts[1:-1]:
        kind = "promotions"
    return kind, parts[-1]


def _named(entry: Any, key: str, names: set[Any]) -> bool:
    """Whether a table's `key` is one of `names` (anything else: no)."""
    value = entry.get(key) if isinstance(entry, dict) else None
    return isinstance(value, str) and value in names


def _ident(spec: dict[str, Any], where: str, problems: list[str]) -> bool:
    """A template's id is a name the entries' ids are made from."""
    ident = spec.get("id")
    if isinstance(ident, str) and ident:
        return True
    problems.append(f"{where}.id: {ident!r} is not an id to number from")
    return False


def _count(value: Any, where: str, problems: list[str]) -> int | None:
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or not 1 <= value <= MAX_COUNT
    ):
        problems.append(f"{where}: {value!r} is not a whole number in 1..{MAX_COUNT}")
        return None
    return value


def fields_of(models: dict[str, Any]) -> Fields:
    """`Fields` of pydantic models, per kind (e.g. {"hosts": Host, ...})."""
    lists, integers = {}, {}
    for kind, model in models.items():
        found = {n: type_of(f.annotation) for n, f in model.model_fields.items()}
        lists[kind] = frozenset(n for n, t in found.items() if t == "list")
        integers[kind] = frozenset(n for n, t in found.items() if t == "int")
    return Fields(lists, integers)


def type_of(annotation: Any) -> str:
    """ "list" for a field that holds a list, "int" for one that takes only whole
    numbers, "" else (through Annotated and Optional)."""
    found: set[Any] = set()
    todo = [annotation]
    while todo:
        t = todo.pop()
        origin = get_origin(t)
        if origin is list or t is list:
            return "list"
        if origin is None:
            found.add(t)
        else:
            todo += [a for a in get_args(t) if not isinstance(a, str | int | float)]
    return "int" if int in found and not found & {float, bool} else ""


__all__ = ["EDITS", "Fields", "expand", "fields_of", "inherit", "numbered", "type_of"]
