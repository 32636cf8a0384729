"""``docs/levers.md``: one row per lever, written from the instruments' own declarations.

    python -m sim.model.policy.catalogue > docs/levers.md

A test checks that the committed file is what this writes, so the page cannot drift from the code.
"""

from __future__ import annotations

from dataclasses import fields

from sim.model.policy import INSTRUMENTS, calibrated_effects


def _value(v: float, kind: type) -> str:
    return f"{int(v):,}" if kind is int else f"{v:g}"


def levers_markdown() -> str:
    lines = [
        "# Levers: the plan's instruments, their mechanics, unit costs and uncertain effects",
        "",
        "Written by `python -m sim.model.policy.catalogue` from `sim/model/policy/*.py` (do not edit by hand).",
        "Each lever is a `policy.<name>` override. Build-up levers are the level reached in 2026 (linear",
        "from the 2023 level over 2024-26); the others apply each year from 2024. 2019-2023 follow the",
        "history in every scenario. Every effect is drawn per replicate, uniformly on its range",
        "(`effects=sampled`, the default), or held at its central value (`effects=central`); except those",
        "marked *calibrated*: the 2017-2023 history pins them, so the calibration fits them beside the",
        "behaviour (their range is the prior) and every run takes them from its posterior set",
        "(`BehaviourParams`, named in the table).",
        "",
        "| lever | plan § | unit | plan | 2023 | mechanics | unit cost | module |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for cls in INSTRUMENTS:
        lv = cls.lever
        kind = "build-up" if lv.build_up else "flow"
        lines.append(
            f"| `{lv.name}` ({kind}) | {lv.section} | {lv.unit} | {_value(lv.plan, lv.kind)} | "
            f"{_value(lv.level_2023, lv.kind)} | {cls.summary} | {'; '.join(cls.unit_costs)} | "
            f"`sim/model/policy/{cls.__module__.rsplit('.', 1)[1]}.py` |"
        )
    lines += ["", "## Sources of the plan values and histories", ""]
    for cls in INSTRUMENTS:
        lv = cls.lever
        lines.append(
            f"- `{lv.name}`: plan: {lv.plan_source}. History 2019-2023 "
            f"({', '.join(_value(lv.history[y], lv.kind) for y in sorted(lv.history))}): {lv.history_source}."
        )
    lines += [
        "",
        "## Effect parameters (uncertainties)",
        "",
        "| instrument | effect | range | central | unit | source |",
        "|---|---|---|---|---|---|",
    ]
    calibrated = calibrated_effects()
    for cls in INSTRUMENTS:
        for f in fields(cls.Effects):
            lo, hi = f.metadata["range"]
            name = calibrated.get(f"{cls.name}.{f.name}")
            mark = f" (calibrated: `params.{name}`)" if name else ""
            lines.append(
                f"| `{cls.name}` | `{f.name}`{mark} | {lo:g} – {hi:g} | {f.default:g} | {f.metadata['unit']} | "
                f"{f.metadata['source']} |"
            )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(levers_markdown(), end="")
