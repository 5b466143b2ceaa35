"""Write experiments/mac_kos101_uncertain.toml: the calibrated KOS101 night with
priors on the assumptions that matter (docs/model.md, section 16).

Usage: python experiments/make_kos101_uncertain.py [OUT] (rewrites the TOML, or
writes OUT; the priors are below, each with its source or the word assumption and
why its range).
"""

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

PRIORS = """
# ------------------------------------------------------------------ uncertainty
# What is not known (docs/model.md section 16). Every range is an assumption: no
# public source gives the finale's viewers or conversion (shared/SOURCES.md).

[[uncertainty]]
name = "turnout"
paths = ["awareness.turnout"]
dist = "beta"
mean = 0.002
sd = 0.0008
source = "assumption: 0.2% of those who remember come (the calibrated value); 0.05-0.4% is as plausible for an audition's audience"

[[uncertainty]]
name = "frequency"
paths = ["awareness.frequency"]
dist = "triangular"
low = 3.0
peak = 5.0
high = 8.0
source = "assumption: 500 million cumulative impressions (seed 001) from 60-170 million people"

[[uncertainty]]
name = "memory"
paths = ["awareness.memory_half_life_days"]
dist = "lognormal"
median = 7.0
log_sd = 0.4
source = "assumption: half the people reached forget within about a week (3-15 days)"

[[uncertainty]]
name = "push"
paths = ["hosts.*.recommendation_rate"]
dist = "lognormal"
median = 1.0
log_sd = 0.25
mode = "scale"
source = "assumption: the platform's event push is the one fitted parameter; +-25% on a log scale is what one fit to one reported total leaves open"

[[uncertainty]]
name = "purchase"
paths = ["hosts.*.purchase_rate"]
dist = "lognormal"
median = 1.0
log_sd = 0.2
mode = "scale"
scope = "host"
source = "assumption: sales staff differ; each KOS's conversion within about +-20% of the archetype's"

[[uncertainty]]
name = "followers"
paths = ["hosts.*.followers"]
dist = "triangular"
low = 0.7
peak = 1.0
high = 1.3
mode = "scale"
scope = "host"
source = "assumption: each KOS's followers within +-30% of the value set (KOS 50k-500k, seed 000)"

[[uncertainty]]
name = "returns"
paths = ["products.*.return_rate"]
dist = "uniform"
low = 0.75
high = 1.25
mode = "scale"
source = "assumption: return rates of prestige cosmetics within +-25% of the values set"

[[uncertainty]]
name = "form"
paths = ["hosts.*.trust_rate"]
dist = "lognormal"
median = 1.0
log_sd = 0.15
mode = "scale"
scope = "stream"
source = "assumption: the night's form of each counter stream: how fast its host wins trust, +-15%"
"""


def main() -> None:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE / "mac_kos101_uncertain.toml"
    base = (HERE / "mac_kos101.toml").read_text()
    head = base.replace(
        'name = "mac_kos101"', 'name = "mac_kos101_uncertain"', 1
    ).replace(
        "# MAC KOS101 on Douyin:",
        "# Written by experiments/make_kos101_uncertain.py: mac_kos101.toml with priors.\n"
        "# MAC KOS101 on Douyin:",
        1,
    )
    out.write_text(head.rstrip("\n") + "\n" + PRIORS)


if __name__ == "__main__":
    main()
