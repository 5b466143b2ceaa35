"""A commented starter scenario (`livesim init NAME.toml`).

`starter(name, kinds)` writes the text of a small, valid scenario: two products,
one host of each kind asked for (with its archetype's reach shown, so that the
numbers to change are in view), one evening stream per host, a flash sale on the
last one, and a strategy stating one change. Every value is marked as the
assumption it is; docs/model.md explains each key.
"""

from __future__ import annotations

from collections.abc import Sequence

from livesim.archetypes import ARCHETYPES, HOST_KINDS

#: What each kind is, in the words of docs/model.md section 6.
ABOUT = {
    "KOL": "a celebrity or expert: huge reach, paid endorsement, weaker trust",
    "KOC": "an ordinary consumer: small, authentic, slow conversion, cheap",
    "KOS": "brand sales staff streaming: sales skill, quick trust, a Q&A desk",
    "KOF": "a loyal fan: a tiny circle, very high trust, word of mouth",
    "BRAND": "the brand's own channel",
}
#: Up-front fee per stream (RMB), an assumption per kind for the starter only.
FEES = {"KOL": 25_000.0, "KOC": 2_000.0, "KOS": 5_000.0, "KOF": 500.0, "BRAND": 0.0}


def starter(name: str, kinds: Sequence[str] = ("KOS",)) -> str:
    """The TOML text of a starter scenario called `name` with a host per kind."""
    unknown = [k for k in kinds if k not in HOST_KINDS]
    if unknown:
        raise ValueError(f"kind: {unknown[0]!r} is not one of {', '.join(HOST_KINDS)}")
    ids = _host_ids(kinds)
    parts = [_head(name), _products()]
    parts += [_host(i, kind) for i, kind in zip(ids, kinds, strict=True)]
    parts += [_stream(i, last=(i == ids[-1])) for i in ids]
    parts.append(_strategy(ids, kinds))
    return "\n".join(parts)


def _host_ids(kinds: Sequence[str]) -> list[str]:
    ids = []
    for k, kind in enumerate(kinds):
        same = [x for x in kinds if x == kind]
        n = sum(1 for x in kinds[: k + 1] if x == kind)
        ids.append(kind.lower() if len(same) == 1 else f"{kind.lower()}{n}")
    return ids


def _head(name: str) -> str:
    return f'''# {name}: a starter scenario written by `livesim init`. Every number
# below is an ASSUMPTION to replace with your own; docs/model.md gives each key's
# unit, default and source, and `livesim check {name}.toml` validates the file.
#   livesim run {name}.toml           # 20 replications: tables, report, figures
#   livesim compare {name}.toml       # the baseline against [strategies.*]
name = "{name}"
description = "A starter scenario: replace the assumptions with your own"
target_gmv = 200_000.0     # RMB: the report says how often a night reaches it
'''


def _products() -> str:
    return """[[products]]
id = "lipstick"
price = 170.0              # RMB list price (assumption)
stock = 2_000              # units; leave out for unlimited stock
margin = 0.6               # gross margin at list price (or unit_cost = RMB)
category = "beauty"        # beauty, apparel, food, electronics or other
return_rate = 0.05         # share of orders returned (default: the category's)
return_cost = 10.0         # RMB per returned order: shipping and handling

[[products]]
id = "foundation"
price = 410.0              # RMB (assumption)
margin = 0.6
category = "beauty"
return_rate = 0.08
"""


def _host(ident: str, kind: str) -> str:
    a = ARCHETYPES[kind]
    return f'''[[hosts]]
id = "{ident}"
kind = "{kind}"                 # {ABOUT[kind]}
followers = {a["followers"]:_}    # the {kind} archetype's (docs/model.md, section 6)
recommendation_rate = {a["recommendation_rate"]}  # viewers/min, platform (archetype)
fee = {FEES[kind]:_}               # RMB per stream (assumption)
'''


def _stream(host: str, last: bool) -> str:
    text = f'''[[streams]]
id = "{host}_evening"
host = "{host}"
start = 0                  # minute of the campaign (0 = the first stream's start)
duration = 120             # minutes
products = ["lipstick", "foundation"]
segment_minutes = 20       # products take turns of 20 minutes
'''
    if last:
        text += """
[[streams.promotions]]
start = 80                 # minutes into the stream: the lipstick's third turn
duration = 20
discount = 0.2             # a 20% flash sale
urgency = 0.3              # a countdown: purchase hazard x 1.3 (assumption)
products = ["lipstick"]
"""
    return text


def _strategy(ids: list[str], kinds: Sequence[str]) -> str:
    doubled = ", ".join(
        f'"hosts.{i}.followers" = {2 * ARCHETYPES[k]["followers"]:_}'
        for i, k in zip(ids, kinds, strict=True)
    )
    return f"""# A strategy states what it changes (docs/model.md, section 1.1): here,
# twice the followers; `remove_hosts`, `add_hosts` and `add_streams` change the
# line-up, and whole sections may still be replaced.
[strategies.more_followers]
description = "the same evening with twice the followers"
set = {{ {doubled} }}
"""
