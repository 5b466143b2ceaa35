"""ABC-SMC calibration with pyabc: a posterior of some priors given observations.

The method (docs/model.md, section 11): the free parameters are campaign-scope
`[[uncertainty]]` entries; their distributions are the priors. pyabc works on each
one's prior CDF scale (a uniform prior on (0, 1), mapped to values through the
prior's inverse CDF), so every distribution livesim offers, truncation included, is
a prior as it stands. Every other prior of the scenario is drawn in every
simulation as usual (a nuisance parameter, integrated out). One simulation is one
replication of the baseline, its seed derived from the particle's values, so a
particle always gives the same summaries.

The acceptance is exact under the observation errors: a simulation's summaries s
are accepted with probability exp(-(1/2T) sum(((s - y) / sd)^2)) (a normal kernel
on the summaries standardised by their errors, pyabc's `IndependentNormalKernel`
with its `StochasticAcceptor`), and the temperature T falls over the generations
to `tolerance` (1: the posterior given that each observed summary is the model's
plus a normal error of its sd).
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from livesim.errors import ConfigError
from livesim.model.posterior import Posterior

if TYPE_CHECKING:
    from livesim.bayes.observations import Observations
    from livesim.calibration_schema import Calibration
    from livesim.model.uncertainty import Prior
    from livesim.scenario import Campaign, Scenario

DB_NAME = "abc.db"
REQUEST_NAME = "abc_request.json"
#: Simulations of the posterior predictive check (at most one per particle).
PREDICTIVE = 200


@dataclass(frozen=True)
class AbcRequest:
    """A checked ABC calibration: the baseline campaign, the free priors, the
    observations and the options (the section's, or the caller's)."""

    scenario: Scenario
    campaign: Campaign
    free: tuple[Prior, ...]
    observations: Observations
    spec: Calibration
    engine: str
    seed: int


@dataclass
class AbcResult:
    """The posterior (values of the free priors, `weight`), the generations, the
    predictive check, and what the run was."""

    posterior: pd.DataFrame
    generations: pd.DataFrame
    predictive: pd.DataFrame
    prior_draws: pd.DataFrame
    request: AbcRequest
    simulations: int
    seconds: float
    reached: bool  # the final temperature was reached

    @property
    def names(self) -> list[str]:
        return [p.name for p in self.request.free]


def prepare_abc(
    scenario: Scenario,
    folder: Path,
    free: list[str] | None = None,
    options: dict[str, Any] | None = None,
    engine: str = "auto",
    workers: int = 1,
) -> AbcRequest:
    """Check an ABC calibration before anything runs (every problem at once)."""
    from livesim.bayes.observations import observations
    from livesim.calibration_schema import Calibration
    from livesim.runner import preflight

    spec = scenario.calibration
    if spec is None:
        raise ConfigError(
            "calibration: the scenario has no [calibration] section; add one with "
            "free = [names of [[uncertainty]] entries] and [calibration.targets]"
        )
    update = {k: v for k, v in (options or {}).items() if v is not None}
    if free:
        update["free"] = free
    spec = Calibration.model_validate({**spec.model_dump(exclude_none=True), **update})
    priors = {p.name: p for p in scenario.uncertainty}
    problems = []
    chosen = []
    for i, name in enumerate(spec.free_names()):
        prior = priors.get(name)
        where = f"calibration.free[{i}]"
        if prior is None:
            known = ", ".join(priors) or "none"
            problems.append(
                f"{where}: {name!r} is not an [[uncertainty]] entry of the scenario "
                f"(entries: {known})"
            )
        elif prior.scope != "campaign":
            problems.append(
                f"{where}: {name!r} has scope {prior.scope!r}; only campaign-scope "
                "priors (one value per replication) can be calibrated"
            )
        else:
            chosen.append(prior)
    if len(set(spec.free_names())) != len(spec.free_names()):
        problems.append("calibration.free: a name is given twice")
    if problems:
        raise ConfigError(problems)
    posterior_free = scenario.model_copy(update={"posterior": None})
    campaign = posterior_free.campaigns()[scenario.baseline]
    obs = observations(spec, campaign, folder)
    run = preflight(
        posterior_free,
        replications=1,
        seed=spec.seed,
        workers=workers,
        # thousands of single replications: the cohort engine unless asked
        engine="cohort" if engine == "auto" else engine,
        strategies=[scenario.baseline],
    )
    _need_pyabc()
    return AbcRequest(
        posterior_free, campaign, tuple(chosen), obs, spec, run.engine, spec.seed
    )


def _need_pyabc() -> None:
    try:
        import pyabc  # noqa: F401
    except ImportError:
        raise ConfigError(
            "--method abc needs pyabc, in the [bayes] extra: "
            "pip install 'livesim[bayes]'"
        ) from None


# ------------------------------------------------------------------ the model


def particle_seed(seed: int, u: np.ndarray) -> int:
    """The simulation seed of a particle: a hash of the seed and its values."""
    digest = hashlib.blake2b(
        np.asarray(u, dtype=np.float64).tobytes(),
        key=seed.to_bytes(8, "little"),
        digest_size=8,
    ).digest()
    return int.from_bytes(digest, "little") >> 1


@dataclass(frozen=True)
class Simulator:
    """One replication of the baseline at a particle (pyabc's model): the free
    priors at the particle's values, the other priors drawn."""

    campaign: Campaign
    names: tuple[str, ...]
    priors: tuple[Prior, ...]
    observations: Observations
    engine: str
    seed: int

    def values(self, u: np.ndarray) -> dict[str, float]:
        """The free priors' values at CDF positions `u`."""
        return {
            p.name: float(p.ppf(np.array([x]))[0])
            for p, x in zip(self.priors, u, strict=True)
        }

    def summaries(self, u: np.ndarray, seed: int) -> np.ndarray:
        """The summaries of one replication at CDF positions `u`."""
        from livesim.engines import engine_runner
        from livesim.runner import replicate

        row = self.values(u)
        one = Posterior(
            source="particle",
            sha256="",
            names=list(row),
            rows=[list(row.values())],
            weights=[1.0],
        )
        campaign = replace(self.campaign, posterior=one)
        output = replicate(engine_runner(self.engine), campaign, seed, 0, False)
        return self.observations.summarize(output)

    def __call__(self, parameters: Any) -> dict[str, float]:
        u = np.array([float(parameters[n]) for n in self.names])
        s = self.summaries(u, particle_seed(self.seed, u))
        return {f"s{i}": float(v) for i, v in enumerate(s)}


def simulator(request: AbcRequest) -> Simulator:
    return Simulator(
        campaign=request.campaign,
        names=tuple(p.name for p in request.free),
        priors=request.free,
        observations=request.observations,
        engine=request.engine,
        seed=request.seed,
    )


# ------------------------------------------------------------------ the run


def run_abc(
    request: AbcRequest,
    out: Path,
    backend: Any,
    resume: bool = False,
    progress: Callable[[str], None] | None = print,
) -> AbcResult:
    """Run (or continue, `resume`) the ABC-SMC in `out` (its database there)."""
    from livesim.engines import ensure_compiled

    check_resume(request, out, resume)
    if request.engine == "cohort":  # before the clock starts: said, and apart
        ensure_compiled(progress is not None)
    with _generation_lines(progress, time.perf_counter()) as started:
        history = _smc(request, out, backend, resume)
    return collect(request, history, time.perf_counter() - started, backend)


def identity(request: AbcRequest) -> dict[str, Any]:
    """What a resumed calibration must share with the one it continues."""
    obs = request.observations
    return {
        "scenario_sha256": request.scenario.digest(),
        "free": [p.name for p in request.free],
        "observed": dict(zip(obs.names, obs.values.tolist(), strict=True)),
        "observation_sd": dict(zip(obs.names, obs.sd.tolist(), strict=True)),
        "population": request.spec.population,
        "engine": request.engine,
        "seed": request.seed,
    }


def check_resume(request: AbcRequest, out: Path, resume: bool) -> None:
    """Refuse to continue a calibration made with something else; record what
    this one is (abc_request.json) when it starts."""
    import json

    from livesim.atomic import write_text_atomic

    path = out / REQUEST_NAME
    mine = identity(request)
    if resume and (out / DB_NAME).is_file():
        try:
            theirs = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            theirs = None
        if theirs != mine:
            differ = sorted(k for k in mine if not theirs or theirs.get(k) != mine[k])
            raise ConfigError(
                f"--resume: the calibration in {out} was made with another "
                f"{', '.join(differ) or 'request'}; use a new --out or drop --resume"
            )
        return
    write_text_atomic(path, json.dumps(mine, indent=2) + "\n")


def _smc(request: AbcRequest, out: Path, backend: Any, resume: bool) -> Any:
    """pyabc's ABCSMC run (or continued) to the end; its history."""
    import pyabc

    spec = request.spec
    sim = simulator(request)
    obs = request.observations
    keys = [f"s{i}" for i in range(len(obs.names))]
    abc = pyabc.ABCSMC(
        models=sim,
        parameter_priors=pyabc.Distribution(
            **{n: pyabc.RV("uniform", 0.0, 1.0) for n in sim.names}
        ),
        distance_function=pyabc.IndependentNormalKernel(
            var=np.asarray(obs.sd, dtype=float) ** 2, keys=keys
        ),
        population_size=spec.population,
        eps=pyabc.Temperature(),
        acceptor=pyabc.StochasticAcceptor(),
        sampler=_sampler(backend),
    )
    db = f"sqlite:///{(out / DB_NAME).resolve()}"
    done = 0
    if resume and (out / DB_NAME).is_file():
        done = abc.load(db, 1).max_t + 1
    else:
        (out / DB_NAME).unlink(missing_ok=True)
        abc.new(db, dict(zip(keys, (float(v) for v in obs.values), strict=True)))
    # pyabc draws its particles from numpy's global generator
    np.random.seed(request.seed % 2**32)  # noqa: NPY002
    if spec.generations - done > 0:
        abc.run(
            minimum_epsilon=spec.tolerance,
            max_nr_populations=spec.generations - done,
            max_walltime=(
                timedelta(seconds=spec.max_seconds) if spec.max_seconds else None
            ),
        )
    return abc.history


def _sampler(backend: Any) -> Any:
    """pyabc's sampler on the project's backend: a Dask client's cluster, or
    local processes (one process: in this one)."""
    from pyabc import sampler

    client = getattr(backend, "client", None)
    if client is not None:
        return sampler.DaskDistributedSampler(dask_client=client, batch_size=4)
    if backend.workers <= 1:
        return sampler.SingleCoreSampler()
    return sampler.MulticoreEvalParallelSampler(n_procs=backend.workers)


@contextmanager
def _generation_lines(
    progress: Callable[[str], None] | None, started: float
) -> Iterator[float]:
    """A line per generation from pyabc's log ("ABC" and its children), in place
    of pyabc's own handler; its warnings are passed on."""
    root = logging.getLogger("ABC")
    saved = (root.level, list(root.handlers), root.propagate)
    handler = _Lines(progress, started)
    for h in saved[1]:
        root.removeHandler(h)
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    root.propagate = False
    try:
        yield started
    finally:
        root.removeHandler(handler)
        for h in saved[1]:
            root.addHandler(h)
        root.setLevel(saved[0])
        root.propagate = saved[2]


class _Lines(logging.Handler):
    def __init__(self, progress: Callable[[str], None] | None, started: float):
        super().__init__()
        self.progress = progress
        self.started = started
        self.eps = math.nan
        self.t = 0

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if record.name != "ABC":
            if record.levelno >= logging.WARNING and self.progress is not None:
                self.progress(f"pyabc: {text}")
        elif text.startswith("t: "):
            head, _, eps = text.partition(", eps: ")
            self.t = int(head[3:])
            self.eps = float(eps.rstrip("."))
        elif text.startswith("Accepted: ") and self.progress is not None:
            counts, _, ess = text[len("Accepted: ") :].partition(", ESS: ")
            accepted, _, rest = counts.partition(" / ")
            total, _, rate = rest.partition(" = ")
            self.progress(
                f"generation {self.t + 1}: temperature {self.eps:.4g}, accepted "
                f"{accepted} of {total} ({float(rate):.1%}), ESS "
                f"{float(ess.rstrip('.')):.0f}, "
                f"{time.perf_counter() - self.started:.0f} s"
            )
        elif record.levelno >= logging.WARNING and self.progress is not None:
            self.progress(f"pyabc: {text}")


# ------------------------------------------------------------------ results


def collect(
    request: AbcRequest, history: Any, seconds: float, backend: Any
) -> AbcResult:
    """The posterior, the generations and the predictive check from a history."""
    sim = simulator(request)
    frame, w = history.get_distribution(m=0, t=history.max_t)
    u = frame[list(sim.names)].to_numpy(dtype=float)
    values = np.array([list(sim.values(row).values()) for row in u])
    posterior = pd.DataFrame(values, columns=list(sim.names))
    posterior["weight"] = np.asarray(w, dtype=float) / float(np.sum(w))
    generations = _generations(history)
    reached = bool(
        len(generations)
        and generations["temperature"].iloc[-1] <= request.spec.tolerance * (1 + 1e-9)
    )
    rng = np.random.default_rng(request.seed)
    prior_draws = pd.DataFrame(
        {p.name: p.ppf(rng.uniform(size=4000)) for p in request.free}
    )
    predictive = predictive_check(request, u, posterior["weight"].to_numpy(), backend)
    return AbcResult(
        posterior=posterior,
        generations=generations,
        predictive=predictive,
        prior_draws=prior_draws,
        request=request,
        simulations=int(history.total_nr_simulations),
        seconds=seconds,
        reached=reached,
    )


def _generations(history: Any) -> pd.DataFrame:
    """Per generation: temperature, simulations, accepted, acceptance rate, ESS."""
    pops = history.get_all_populations()
    rows = []
    for _, pop in pops[pops["t"] >= 0].iterrows():
        t = int(pop["t"])
        _, w = history.get_distribution(m=0, t=t)
        w = np.asarray(w, dtype=float) / float(np.sum(w))
        rows.append(
            {
                "generation": t + 1,
                "temperature": float(pop["epsilon"]),
                "simulations": int(pop["samples"]),
                "accepted": int(pop["particles"]),
                "acceptance_rate": float(pop["particles"])
                / max(1, int(pop["samples"])),
                "ess": float(1.0 / np.sum(w**2)),
            }
        )
    return pd.DataFrame(rows)


def predictive_check(
    request: AbcRequest, u: np.ndarray, weights: np.ndarray, backend: Any
) -> pd.DataFrame:
    """Each observed summary against its posterior predictive distribution: a
    replication at a particle resampled by weight, plus the observation error; the
    two-sided tail probability 2 min(P(Y <= y), P(Y >= y))."""
    obs = request.observations
    rng = np.random.default_rng([request.seed, 1])
    n = min(PREDICTIVE, max(len(weights), 50))
    picks = rng.choice(len(weights), size=n, p=weights / weights.sum())
    # the k-th predictive simulation's seed: its particle and -1 - k hashed (no
    # particle of the run has a negative value, so no seed of the run recurs)
    sim = simulator(request)
    items = [
        (sim, u[i], particle_seed(request.seed, np.append(u[i], -1.0 - k)))
        for k, i in enumerate(picks)
    ]
    sims = np.empty((n, len(obs.names)))
    for index, s in backend.map_unordered(_predict, items):
        sims[index] = s
    noisy = sims + rng.normal(size=sims.shape) * obs.sd
    rows = []
    for j, name in enumerate(obs.names):
        y = float(obs.values[j])
        column = noisy[:, j]
        tail = 2.0 * min(np.mean(column <= y), np.mean(column >= y))
        rows.append(
            {
                "summary": name,
                "observed": y,
                "sd": float(obs.sd[j]),
                "predictive_p5": float(np.percentile(column, 5)),
                "predictive_median": float(np.median(column)),
                "predictive_p95": float(np.percentile(column, 95)),
                "tail_probability": min(1.0, float(tail)),
            }
        )
    return pd.DataFrame(rows)


def _predict(item: tuple[Simulator, np.ndarray, int]) -> np.ndarray:
    sim, u, seed = item
    return sim.summaries(u, seed)
