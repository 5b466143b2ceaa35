"""Budget optimization: the best way to spend a budget on hosts (`livesim optimize`).

An optimization file (TOML) names a base scenario (products, platform, costs), a
budget, the host types the budget can buy (`[[options]]`: a host kind, its fee,
gift and ad spend per stream, the counts allowed) and, optionally, a flash-sale
template whose depth is a decision too. A **candidate** is one count per option
(at least one host in all; cost within `[min_spend, budget]`; at most `max_hosts`
hosts) and one depth; every bought host streams once as the `[stream]` template
says. Each candidate is a full scenario validated like any other.

The search:

* **Common random numbers.** Every candidate runs the same replication numbers
  with the same seed and on one engine (chosen from the largest candidate), so
  candidates are compared on paired replications: host k of an option keeps its
  stream id (``kos03_live``) and, in the agent engine, its random numbers in every
  candidate that buys it.
* **Screening.** `search = "exhaustive"` evaluates every candidate with
  `replications`. `search = "racing"` runs successive halving: all candidates with
  `replications`, then the best `racing.keep` share get more replications (x
  `racing.growth` in all, up to `racing.max_replications`), and so on until the
  next cut would leave no more than `finalists`. Every survivor of a round has the
  same replication numbers, so each ranking is paired.
* **Final re-evaluation.** The top `finalists` of the screening run again with
  `final_replications` on a fresh seed (`final_seed`, default `seed + 1`: new random
  streams) and the winner is the best on those. The screening maximum is
  optimistically biased (the best of many noisy estimates is, on average, above its
  true value: the winner's curse), so the reported objective and its 95% CI come
  from the fresh replications only, with the paired difference of each finalist to
  the winner (BCa bootstrap, `livesim.stats`).

Objectives (per candidate, over its replications of the campaign's net GMV and
ROI): `mean_net_gmv` (t interval, `livesim.stats`), `mean_roi` (t interval),
`p_target` = P(net GMV >= target) (exact Clopper-Pearson interval), `quantile`,
the `quantile` quantile of net GMV for risk-averse users (distribution-free
interval from order statistics, `scipy.stats.quantile_test`), and `cvar`, the mean
net GMV of the worst `quantile` share of nights (percentile bootstrap interval).
Ties are broken by
mean net GMV, then by the lower cost, then by the candidate's number.

Every evaluation is a job of `livesim.backends` (keys ``cand-00012-r00000`` and
``final-00012-r00000``), written to ``out/points/`` as it finishes, so `resume`
continues a killed run and the Dask backend works unchanged.

The modules, each importing only those above it:

* `config`: the file's pydantic models and its cross-field rules;
* `candidates`: the allocations, each candidate's scenario, the checked plan;
* `objectives`: the objective's estimate, interval, paired difference and rank;
* `tables`: candidates.csv and finalists.csv, and `OptimizeResult`;
* `reporting`: the files written, optimize.md and the terminal's summary;
* `search`: the racing rounds, the fresh re-evaluation, `run_optimization`.
"""

from __future__ import annotations

from livesim.optimize.candidates import (
    MAX_CANDIDATES,
    Candidate,
    OptimizePlan,
    candidate_scenario,
    count_values,
    enumerate_allocations,
    load_optimization,
    plan_optimization,
)
from livesim.optimize.config import (
    OBJECTIVES,
    HostOption,
    OptimizeConfig,
    PromotionTemplate,
    Racing,
    StreamChanges,
    StreamTemplate,
    config_problems,
)
from livesim.optimize.objectives import (
    format_objective,
    objective_difference,
    objective_estimate,
    objective_interval,
    objective_label,
    rank,
    regrets,
)
from livesim.optimize.reporting import report, summary_lines, write_results
from livesim.optimize.search import (
    choose_plan_engine,
    expected_total_work,
    preflight,
    run_optimization,
    schedule,
    screen,
)
from livesim.optimize.tables import OptimizeResult, candidate_table, finalist_table

__all__ = [
    "MAX_CANDIDATES",
    "OBJECTIVES",
    "Candidate",
    "HostOption",
    "OptimizeConfig",
    "OptimizePlan",
    "OptimizeResult",
    "PromotionTemplate",
    "Racing",
    "StreamChanges",
    "StreamTemplate",
    "candidate_scenario",
    "candidate_table",
    "choose_plan_engine",
    "config_problems",
    "count_values",
    "enumerate_allocations",
    "expected_total_work",
    "finalist_table",
    "format_objective",
    "load_optimization",
    "objective_difference",
    "objective_estimate",
    "objective_interval",
    "regrets",
    "objective_label",
    "plan_optimization",
    "preflight",
    "rank",
    "report",
    "run_optimization",
    "schedule",
    "screen",
    "summary_lines",
    "write_results",
]
