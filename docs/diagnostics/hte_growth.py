"""What carries the model's HNTE growth after 2019: the trials behind docs/model.md's "Known limitation".

    .venv/bin/python docs/diagnostics/hte_growth.py            # every trial, ~3 min on one core
    .venv/bin/python docs/diagnostics/hte_growth.py --only frozen anchored

A diagnostic, not part of the model: each trial runs the model at the committed posterior's mean, at
scale 0.5, 2017-2023 (the Bass trial to 2026), with one rule replaced for the run. The replacements:

- ``frozen``: the provincial push (``certification.hte_push``) held at its 2019 level; with it, December's
  pool of eligible uncertified firms (``hte_eligible`` on the gates and scores, the push's points added);
- ``rd_drift``: the push frozen and ``rd_drift`` 0;
- ``effort``: the push frozen; firms up to ``gap`` points under the 70 buy ``points`` with ``rate`` a year;
- ``anchored``: firm revenue drifting at nominal GDP growth less sigma^2/2, ``rd_drift`` 0;
- ``bass``: the push = 1 - exp(-b x last December's certified share of live firms);
- ``entry``: the push frozen and faster entry (``entry_growth``);
- ``gates``: no replacement; each December, the live firms that fail each HNTE gate, that fail only it,
  that pass every gate, and that pass every gate and the score (without and with the push's points);
- ``registered``: the push frozen; firms in the tech-SME registry get ``points`` more on the score (the
  registry as the HNTE cultivation pool);
- ``class2``: the push frozen; every firm's yearly Class-II IP flow scaled by Shaanxi's utility models
  granted that year over 2017's (the panel's ``utility_models_granted``, held at its 2023 level after).

Numbers are means over seeds (``--seeds``, default 3) and in real units.
"""

from __future__ import annotations

import argparse
import dataclasses
from contextlib import contextmanager

import numpy as np
import pandas as pd

from sim.data.panel import series
from sim.data.posterior import load_posterior
from sim.model import InnovationModel
from sim.model.agents import certification as C
from sim.model.agents import firms as F
from sim.model.drivers import NOMINAL_GDP_GROWTH
from sim.model.evaluate import release

SCALE = 0.5
FROZEN_AT = 2019
COLUMNS = ["T03", "hte_recognised", "T02", "firms_alive", "rd_enterprise", "T05"]


@contextmanager
def replaced(module, name, value):
    old = getattr(module, name)
    setattr(module, name, value)
    try:
        yield
    finally:
        setattr(module, name, old)


def frozen_push():
    push = C.hte_push
    return lambda year, p: push(min(year, FROZEN_AT), p)


def run(params, seed: int, end_year: int = 2023, pool: dict | None = None, gates: dict | None = None):
    m = InnovationModel(seed=seed, scale=SCALE, params=params, end_year=end_year)
    m.run()
    out = m.annual_indicators()[COLUMNS].loc[2018:end_year].copy()
    if pool is not None:
        out["eligible_uncertified"] = pd.Series(pool)
        out["pass_gates"] = pd.Series(gates)
    release(m)
    return out


def counting_pool(pool: dict, gate_passers: dict):
    """``certify_hte`` that also counts December's eligible firms without a valid certificate, and the live
    firms that pass every gate but the score (real units)."""
    certify = C.certify_hte

    def certify_and_count(firms, year, month, rng, *args, **kwargs):
        t = firms.table
        live = t.alive[: t.n]
        # the gates' inputs and every firm's score, as certify_hte reads them
        state = C.hte_state(firms, year, month)
        eligible = C.hte_eligible(state["capability"] + C.push_score(year, firms.p), **state["gates"])
        uncertified = live & (t.hte_valid_until[: t.n] < year - 1)
        pool[year] = (eligible & uncertified).sum() / SCALE
        gate_passers[year] = (live & C.hte_gates(**state["gates"])).sum() / SCALE
        return certify(firms, year, month, rng, *args, **kwargs)

    return certify_and_count


def mean(frames: list[pd.DataFrame]) -> pd.DataFrame:
    out = sum(frames) / len(frames)
    out["T03 growth"] = out["T03"].pct_change()
    return out


def trial_frozen(params, seeds):
    yield "push as fitted", mean([run(params, s) for s in seeds])
    frames = []
    for s in seeds:
        pool: dict = {}
        gates: dict = {}
        with replaced(C, "hte_push", frozen_push()), replaced(C, "certify_hte", counting_pool(pool, gates)):
            frames.append(run(params, s, pool=pool, gates=gates))
    yield f"push frozen at its {FROZEN_AT} level", mean(frames)


def trial_rd_drift(params, seeds):
    p = dataclasses.replace(params, rd_drift=0.0)
    with replaced(C, "hte_push", frozen_push()):
        yield "push frozen, rd_drift 0", mean([run(p, s) for s in seeds])


def trial_effort(params, seeds):
    scores = C.hte_scores
    for rate, points, gap in ((0.3, 10.0, 15.0), (0.5, 15.0, 20.0)):
        frames = []
        for s in seeds:
            prepared = {"points": np.zeros(0)}

            def with_effort(
                firms, year, rows=None, rate=rate, points=points, gap=gap, s=s, prepared=prepared
            ):
                out = scores(firms, year, rows)
                t = firms.table
                if prepared["points"].size < t.n:
                    prepared["points"] = np.r_[prepared["points"], np.zeros(t.n - prepared["points"].size)]
                idx = np.arange(t.n) if rows is None else rows
                capability = out["capability"] + prepared["points"][idx]
                near = (capability <= 70) & (capability > 70 - gap) & (t.hte_valid_until[idx] < year)
                draw = np.random.default_rng([s, year]).random(idx.size) < rate
                prepared["points"][idx[near & draw]] += points  # counts from next year
                return {**out, "capability": capability}

            with replaced(C, "hte_push", frozen_push()), replaced(C, "hte_scores", with_effort):
                frames.append(run(params, s))
        yield f"push frozen, effort rate {rate} points {points:g} gap {gap:g}", mean(frames)


def trial_anchored(params, seeds):
    gdp = NOMINAL_GDP_GROWTH - params.revenue_volatility**2 / 2
    p = dataclasses.replace(params, revenue_growth=gdp, rd_drift=0.0)
    with replaced(C, "hte_push", frozen_push()):
        yield (
            f"revenue drift {gdp:.3f} (nominal GDP), rd_drift 0, push frozen",
            mean([run(p, s) for s in seeds]),
        )


def trial_bass(params, seeds):
    certify = C.certify_hte
    for b in (4.0, 8.0, 12.0):
        frames = []
        for s in seeds:
            state = {"share": 0.0}

            def record_share(firms, year, month, rng, *args, state=state, **kwargs):
                out = certify(firms, year, month, rng, *args, **kwargs)
                t = firms.table
                live = t.alive[: t.n]
                state["share"] = float((live & (t.hte_valid_until[: t.n] >= year)).sum() / max(live.sum(), 1))
                return out

            push = lambda year, p, b=b, state=state: 1.0 - np.exp(-b * state["share"])  # noqa: E731
            with replaced(C, "hte_push", push), replaced(C, "certify_hte", record_share):
                frames.append(run(params, s, end_year=2026))
        yield f"push = 1 - exp(-{b:g} x certified share)", mean(frames)


def trial_entry(params, seeds):
    for g in (0.25, 0.35):
        p = dataclasses.replace(params, entry_growth=g)
        with replaced(C, "hte_push", frozen_push()):
            yield (
                f"push frozen, entry_growth {g} (fitted {params.entry_growth:.2f})",
                mean([run(p, s) for s in seeds]),
            )


def gate_counts(rows: dict):
    """``certify_hte`` that also records, each December, how the live firms fare at each HNTE gate (real
    units); the gates as ``hte_gates`` reads them, before the application's R&D audit."""
    certify = C.certify_hte

    def certify_and_count(firms, year, month, rng, *args, **kwargs):
        t = firms.table
        n = t.n
        live = t.alive[:n]
        tests = C.hte_gate_tests(**C.hte_gate_inputs(firms, month))
        every = live & np.logical_and.reduce(list(tests.values()))
        score = np.full(n, -np.inf)
        scored = np.flatnonzero(every)
        score[scored] = C.hte_scores(firms, year, scored)["capability"]
        out = {"live firms": live.sum(), "valid certificate": (live & (t.hte_valid_until[:n] >= year - 1)).sum()}
        for name, ok in tests.items():
            others = np.logical_and.reduce([v for k, v in tests.items() if k != name])
            out[f"fail {name}"] = (live & ~ok).sum()
            out[f"fail only {name}"] = (live & ~ok & others).sum()
        out["pass every gate"] = every.sum()
        out["every gate, score > 70"] = (every & (score > C.HTE_PASS_MARK)).sum()
        out["every gate, score + push > 70"] = (
            every & (score + C.push_score(year, firms.p) > C.HTE_PASS_MARK)
        ).sum()
        rows[year] = {k: v / SCALE for k, v in out.items()}
        return certify(firms, year, month, rng, *args, **kwargs)

    return certify_and_count


def trial_gates(params, seeds):
    frames = []
    for s in seeds:
        rows: dict = {}
        with replaced(C, "certify_hte", gate_counts(rows)):
            run(params, s)
        frames.append(pd.DataFrame(rows).T)
    yield "push as fitted: live firms at each HNTE gate (December)", sum(frames) / len(frames)


def trial_registered(params, seeds):
    scores = C.hte_scores
    for points in (5.0, 10.0, 20.0):

        def registered_lift(firms, year, rows=None, points=points):
            out = scores(firms, year, rows)
            t = firms.table
            idx = np.arange(t.n) if rows is None else rows
            return {**out, "capability": out["capability"] + points * (t.techsme_year[idx] >= year - 1)}

        with replaced(C, "hte_push", frozen_push()), replaced(C, "hte_scores", registered_lift):
            yield f"push frozen, registry members +{points:g} points", mean([run(params, s) for s in seeds])


def trial_class2(params, seeds):
    granted = series("utility_models_granted")
    index = {int(y): float(v / granted[2017]) for y, v in granted.items()}
    close_year, base = F.FirmPopulation.close_year, F.CLASS2_RATE

    def scaled_close_year(self, year, rng):
        F.CLASS2_RATE = base * index.get(year, index[max(index)])
        try:
            return close_year(self, year, rng)
        finally:
            F.CLASS2_RATE = base

    with replaced(C, "hte_push", frozen_push()), replaced(F.FirmPopulation, "close_year", scaled_close_year):
        yield (
            "push frozen, Class-II IP flow x utility models granted / 2017's "
            + ", ".join(f"{y} {index[y]:.2f}" for y in range(2018, 2024)),
            mean([run(params, s) for s in seeds]),
        )


TRIALS = {
    "frozen": trial_frozen,
    "rd_drift": trial_rd_drift,
    "effort": trial_effort,
    "anchored": trial_anchored,
    "bass": trial_bass,
    "entry": trial_entry,
    "gates": trial_gates,
    "registered": trial_registered,
    "class2": trial_class2,
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", nargs="*", choices=list(TRIALS), default=list(TRIALS))
    ap.add_argument("--seeds", type=int, default=3)
    args = ap.parse_args()
    if args.seeds < 1:
        ap.error("--seeds: at least 1")
    params = load_posterior().mean()
    seeds = range(args.seeds)
    print(f"posterior mean; scale {SCALE}; mean of {args.seeds} seeds; real units")
    print(
        f"push midpoint {params.hte_push_midyear:.1f}, speed {params.hte_push_speed:.2f}, score "
        f"{params.hte_push_score:.1f}; rd_drift {params.rd_drift:.3f}; revenue_growth {params.revenue_growth:.3f}"
    )
    print(
        "push, application share by year: "
        + ", ".join(
            f"{y} {C.hte_push(y, params):.2f} {C.hte_apply_share(y, params):.2f}" for y in range(2019, 2027)
        )
    )
    for name in args.only:
        for label, table in TRIALS[name](params, seeds):
            print(f"\n== {name}: {label}\n{table.round(2).to_string()}")


if __name__ == "__main__":
    main()
