"""What moves the model's technology-contract turnover (T01): the national market and Shaanxi's relative capacity.

    .venv/bin/python docs/diagnostics/t01_growth.py              # ~20 s on one core
    .venv/bin/python docs/diagnostics/t01_growth.py --seeds 5

A diagnostic, not part of the model. The firms' contract count each month is
``contract_rate x demand / value x capacity_start x relative ** supply_elasticity`` (``sim.model.market``),
with ``relative`` = (the sellers' summed capacity / its first month's) / the national capacity index
(``TechMarket.relative_capacity``). So
the firms' turnover grows with the national market's value times ``relative ** supply_elasticity``. This
script reads both terms in December of each year at the committed posterior's mean (scale 0.5), beside
T01 and the data, and the model's enterprise R&D against its data (the sellers' capacity is R&D-weighted).
Shaanxi's share of the national market stayed at 6.2-7.0 % over 2016-2023
(``sim.model.market``'s docstring): a ``relative`` term that grows makes T01 outgrow the national market.
"""

from __future__ import annotations

import argparse

import pandas as pd

from sim.data.history import observed
from sim.data.posterior import load_posterior
from sim.model import InnovationModel
from sim.model.evaluate import release
from sim.model.params import FIRST_YEAR, MONTHS

SCALE = 0.5


def one_run(params, seed: int) -> pd.DataFrame:
    m = InnovationModel(seed=seed, scale=SCALE, params=params, end_year=2023)
    rows = {}
    while m.running:
        m.step()
        if m.month % MONTHS == 0:  # a December just closed
            year = FIRST_YEAR + m.month // MONTHS - 1
            mk = m.market
            relative = mk.relative_capacity(year)
            rows[year] = {
                "national demand index": mk.demand_index(year),
                "sellers' capacity index": relative * mk.national.capacity(year),
                "national capacity index": mk.national.capacity(year),
                "relative ** elasticity": relative**params.supply_elasticity,
            }
    out = pd.DataFrame(rows).T
    annual = m.annual_indicators()
    out["T01"] = annual["T01"]
    out["enterprise R&D"] = annual["rd_enterprise"]
    release(m)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, default=3)
    args = ap.parse_args()
    if args.seeds < 1:
        ap.error("--seeds: at least 1")
    params = load_posterior().mean()
    runs = [one_run(params, s) for s in range(args.seeds)]
    table = sum(runs) / len(runs)
    table["T01 data"] = observed("T01").reindex(table.index)
    table["T01 / data"] = table["T01"] / table["T01 data"]
    # enterprise R&D (亿元) beside its data (fit_targets.csv: performer figures, the funds proxy between)
    table["enterprise R&D / data"] = table["enterprise R&D"] / observed("rd_enterprise").reindex(table.index)
    print(
        f"posterior mean (supply_elasticity {params.supply_elasticity:.2f}); scale {SCALE}; "
        f"mean of {args.seeds} seeds; indices relative to {FIRST_YEAR}"
    )
    print(table.round(3).to_string())


if __name__ == "__main__":
    main()
