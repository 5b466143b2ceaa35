# ruff: noqa: E501  (the TOML text it writes keeps its own line lengths)
"""Write experiments/kos101_strategies.toml from the calibrated mac_kos101.toml.

Usage: python experiments/make_kos101_strategies.py [OUT]  (rewrites the TOML, or
writes OUT; edit the budgets, fees and counts below to build other equal-budget
alternatives).
"""

import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

src = (HERE.parent / "src" / "livesim" / "scenarios" / "mac_kos101.toml").read_text()
# the shared part: everything before the first [[hosts]] (header, platform, costs, products)
shared = src[src.index("[platform]") : src.index("[[hosts]]")]
kos_hosts_streams = src[src.index("[[hosts]]") : src.index("# Calibration.")]
# the priors, shared by every strategy (by name: the same draw in each)
PRIORS_MARK = "# " + "-" * 66 + " uncertainty"
priors = src[src.index(PRIORS_MARK) :]

PROMO = """start = {start}
duration = 20
discount = 0.2             # the same 20% lipstick flash sale as the KOS team's
urgency = 0.3
products = ["lipstick"]
"""
PRODUCTS = 'products = ["lipstick", "foundation", "setting_spray", "eyeshadow"]'


def stream(prefix, sid, host, start, duration, segment, promo_start, ad=None):
    lines = [
        f"[[strategies.{prefix}.streams]]",
        f'id = "{sid}"',
        f'host = "{host}"',
        f"start = {start}",
        f"duration = {duration}",
        PRODUCTS,
        f"segment_minutes = {segment}",
    ]
    if ad:
        lines.append(f"ad_spend = {ad}")
    if promo_start is not None:
        lines += [
            "",
            f"[[strategies.{prefix}.streams.promotions]]",
            PROMO.format(start=promo_start),
        ]
    return "\n".join(lines)


def host(prefix, hid, kind, comment, **kv):
    lines = [f"[[strategies.{prefix}.hosts]]", f'id = "{hid}"', f'kind = "{kind}"']
    lines += [f"{k} = {v}" for k, v in kv.items()]
    return (f"# {comment}\n" if comment else "") + "\n".join(lines) + "\n"


out = [
    """# KOS101 strategies: what the same up-front budget would have earned otherwise.
#
# The baseline is the KOS team as it happened: the calibrated KOS101 finale night of
# mac_kos101.toml (11 KOS counter livestreams, 19:00-23:00 on 27 April 2021; nearly
# 5.88 million RMB GMV, seed 001). The four alternatives spend the same up-front
# budget, 55,000 RMB = the KOS team's 11 x 5,000 RMB stipends (an assumption, see
# mac_kos101.toml), on host fees, gifts and ads; commissions (a share of net GMV, per
# archetype) and the 300,000 RMB production cost come on top and are in cost and ROI.
# Every host takes its kind's archetype defaults (docs/model.md section 6: followers,
# platform recommendation, trust, engagement, purchase, dwell) except the fee and gift
# set here to meet the budget. Products, stock, platform and the lipstick flash sale
# are the baseline's.
#
# Fees (assumptions inside public ranges, shared/SOURCES.md): a KOL for 25,000-55,000
# RMB is inside the agency price list's KOL range (5k-80k+ per piece [C]); a KOC for
# 1,750-2,000 RMB plus 750 RMB of product is near the top of the list's KOC range
# (100-800 AUD, about 470-3,800 RMB [C]); the brand channel pays no host and puts the
# budget into ads at the scenario's CPM (40 RMB, assumption).
#
# Read the results with this in mind: the KOS team has what the month-long audition
# built (seed 001: 500 million reached) and the platform's event push fitted to the
# real night (21.30 viewers/min per stream, mac_kos101.toml): the audition's audience
# (the [awareness] section, about 62,000 arrivals over the 11 streams) and the push.
# Would they follow hosts who are not KOS? Nobody knows, so it is a prior: the
# alternatives' streams share the event (their own archetype recommendation on
# top), and a host who is not a KOS gets the share `event_follows` of its audience
# and push, drawn from 0 (none follows) to 1 (all of it) like every other prior of
# mac_kos101.toml, which this file shares. That share, not the host kinds alone,
# drives most of the gap: `livesim compare` reports the break-even share above
# which an alternative would beat the KOS team.
#
# Written by experiments/make_kos101_strategies.py.
# Run: livesim compare experiments/kos101_strategies.toml
name = "kos101_strategies"
description = "KOS101 finale night: the KOS team against equal-budget KOL, KOC swarm, matrix and brand self-stream alternatives"
target_gmv = 5_880_000.0   # RMB, "nearly 5.88 million" (seed 001)
baseline = "kos_team"

""",
    shared,
    "# ---- kos_team (the baseline): the KOS team as it happened\n",
    kos_hosts_streams,
]

# kol_only
out.append("""# ---- kol_only: one KOL, 19:00-23:00, fee 55,000 RMB (the whole budget)
[strategies.kol_only]
description = "one KOL streams the night for the whole budget"

""")
out.append(host("kol_only", "kol", "KOL", None, fee="55_000.0"))
out.append("\n" + stream("kol_only", "kol_night", "kol", 0, 240, 20, 160) + "\n")

# koc_swarm: 20 KOCs x (2,000 + 750)
out.append("""# ---- koc_swarm: 20 KOCs in parallel, 19:00-23:00, 2,000 RMB fee + 750 RMB of
# product each (20 x 2,750 = 55,000 RMB)
[strategies.koc_swarm]
description = "twenty KOCs stream in parallel"

""")
for i in range(1, 21):
    out.append(
        host("koc_swarm", f"koc{i:02d}", "KOC", None, fee="2_000.0", gift_value="750.0")
    )
out.append("")
for i in range(1, 21):
    out.append(
        stream("koc_swarm", f"koc{i:02d}_night", f"koc{i:02d}", 0, 240, 20, 160) + "\n"
    )

# matrix: 1 KOL warm-up (25,000) + 6 KOC x 2,500 (1,750 + 750) + 3 KOS x 5,000
out.append("""# ---- matrix: a KOL warm-up 19:00-20:00 without the flash sale (25,000 RMB), then 3 KOS (3 x 5,000) and
# 6 KOCs (6 x (1,750 + 750)) 20:00-23:00; 25,000 + 15,000 + 15,000 = 55,000 RMB. The
# KOL's viewers carry over to the later streams (archetype carry-over share).
[strategies.matrix]
description = "KOL warm-up, then KOS and KOC streams"

""")
out.append(host("matrix", "kol", "KOL", None, fee="25_000.0"))
for i in range(1, 4):
    out.append(
        host(
            "matrix", f"kos{i:02d}", "KOS", None, fee="5_000.0", commission_rate="0.05"
        )
    )
for i in range(1, 7):
    out.append(
        host("matrix", f"koc{i:02d}", "KOC", None, fee="1_750.0", gift_value="750.0")
    )
out.append("")
out.append(stream("matrix", "kol_warmup", "kol", 0, 60, 15, None) + "\n")
for i in range(1, 4):
    out.append(
        stream("matrix", f"kos{i:02d}_close", f"kos{i:02d}", 60, 180, 20, 160) + "\n"
    )
for i in range(1, 7):
    out.append(
        stream("matrix", f"koc{i:02d}_close", f"koc{i:02d}", 60, 180, 20, 160) + "\n"
    )

# brand_self
out.append("""# ---- brand_self: the brand's own channel, 19:00-23:00, no host fee; the budget
# buys ads (55,000 RMB at CPM 40 RMB = 1.375 million impressions)
[strategies.brand_self]
description = "the brand's own channel with the budget in ads"

""")
out.append(host("brand_self", "mac_official", "BRAND", None))
out.append(
    "\n"
    + stream(
        "brand_self", "brand_night", "mac_official", 0, 240, 20, 160, ad="55_000.0"
    )
    + "\n"
)

out.append(priors)
text = "\n".join(out)
text = re.sub(r"\n{3,}", "\n\n", text)
out_path = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE / "kos101_strategies.toml"
out_path.write_text(text)
