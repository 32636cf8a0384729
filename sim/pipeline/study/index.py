"""The cross-study table: ``python -m sim.study index FOLDER...`` (``make experiments`` writes
``experiments/README.md`` with it).

Reads each finished study's ``study.json`` and answers, per target: which lever matters most
(``contrast``: the plan's lever with the largest paired median gain; ``sensitivity``: the lever with
the largest total-order index), the dominant uncertainty (``sensitivity``), where the plan fails
(``discovery``'s first box), the figure most worth monitoring (``monitoring``) and what it would take
(``portfolio``).

A study made with another behaviour posterior than the committed one (``sim/data/posterior.csv``, by
sha256), or by a model that computed other numbers than today's, is flagged in the table and in a note
above it: its numbers are of an earlier model. Which model computes what is the record of its behaviour
(``tests/baseline/``, ``sim.runtime.model_version``): a study whose model's record is today's was made by a
model that computes the same numbers, whatever was refactored or sped up since.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from sim.model.outcomes import HEADLINE
from sim.pipeline.study import STUDIES
from sim.pipeline.study.design import ALL_FIVE, fmt_value, index_text
from sim.runtime import atomic, model_version

STUDY_JSON = "study.json"


def load(folders: list[Path]) -> dict[str, dict]:
    docs = {}
    for f in folders:
        path = Path(f) / STUDY_JSON
        if path.is_file():
            doc = json.loads(path.read_text(encoding="utf-8"))
            docs[doc["study"]] = {**doc, "_folder": Path(f)}
    return docs


def _mix(m: dict | None) -> str:
    if not m:
        return "not run"
    if "p_reach_ci95" not in m:  # a study.json of before the best attainable was reported
        return "none found within the levers' ranges" if m.get("none") else "not run"
    lo, hi = m["p_reach_ci95"]
    text = f"{m['cost_100m']:,.1f} 亿元 (P {m['p_reach']:.2f}, {lo:.2f}–{hi:.2f})"
    if m.get("none"):
        text = f"none; best attainable: {text}"
    b = m.get("binding") or {}
    if b.get("group"):
        on = "" if b["target"] == b.get("goal") else f", on {b['target']}"
        text += f"; capped by {b['group']} (`{b['uncertainty']}`{on})"
    return text


def _reach(pr: dict, g: str) -> str:
    """P(reach) of the plan and of frozen_2023 with their 95 % Wilson intervals (contrast's replicates)."""
    if not pr:
        return "not run"

    def one(arm: str) -> str:
        r = pr[arm][g]
        lo, hi = r.get("ci95") or (None, None)
        return f"{r['p']:.2f}" if lo is None else f"{r['p']:.2f} ({lo:.2f}–{hi:.2f})"

    return f"{one('plan')}; frozen {one('frozen_2023')}"


def _most(mi: dict | None, g: str) -> str:
    """contrast's most important lever with its paired gain and that gain's 95 % interval."""
    if not mi:
        return "–"
    if g == ALL_FIVE:
        lo, hi = mi.get("delta_p_ci") or (None, None)
        ci = "" if lo is None else f", {lo:+.3f} – {hi:+.3f}"
        return f"`{mi['lever']}` (ΔP {mi['delta_p']:+.3f}{ci})"
    lo, hi = mi.get("delta_median_ci") or (None, None)
    ci = "" if lo is None else f", {fmt_value(g, lo, True)} – {fmt_value(g, hi, True)}"
    return f"`{mi['lever']}` ({fmt_value(g, mi['delta_median'], True)}{ci})"


def _pm(s: dict, key: str) -> str:
    """An index with its 95 % half-width when the study recorded one."""
    return index_text(s[key], s.get(f"{key}_conf"))


def _watch(s: dict | None) -> str:
    if not s:
        return "not run"
    if "undefined" in s:
        return s["undefined"]
    lo, hi = s["reduction_ci95"]
    share = "" if s.get("share") is None else f"{s['share']:.2f}; "
    tie = "" if s.get("resolved", True) else f", not resolved from {s['runner_up']}"
    return f"{s['best']} ({share}reduction {s['reduction']:.3f}, {lo:.3f}–{hi:.3f}{tie})"


def _box(t: dict | None) -> str:
    if not t:
        return "not run"
    if not t["boxes"]:
        rate = t["failure_rate"]
        return "never fails" if rate == 0 else "fails in every future" if rate == 1 else "no box"
    b = t["boxes"][0]
    names = ", ".join(next(iter(r)).split(":", 1)[1] for r in b["restrictions"])
    return f"{names} (coverage {b['coverage']:.2f}, density {b['density']:.2f})"


def run_time_text(doc: dict) -> str:
    """The wall time of the runs that made a study's numbers, where they ran (recorded when they ran: a
    page republished from saved runs keeps it); a study.json of before that gives its invocation's time."""
    secs = doc.get("runs_wall_time_s")
    if secs is None:
        reused = (
            " (runs reused from an earlier invocation: their time was not recorded)"
            if doc.get("model_runs_reused")
            else ""
        )
        return f"{doc['wall_time_s'] / 60:.1f} min{reused}"
    where = "; ".join(doc.get("runs_machines") or []) or "machine not recorded"
    return f"{secs / 60:.1f} min ({where})"


def posterior_vintage(doc: dict, current_sha256: str | None) -> str | None:
    """Why a study's numbers are not of the committed posterior, or None when they are (or cannot be told:
    no current posterior given, or a study run on a posterior file of its own)."""
    post = doc.get("provenance", {}).get("posterior") or {}
    if not current_sha256 or post.get("source") != "default":
        return None
    made = post.get("sha256")
    if made == current_sha256:
        return None
    sets = f", {post['sets']} sets" if post.get("sets") else ""
    return f"posterior sha256 {(made or 'not recorded')[:12]}{sets}, not the committed {current_sha256[:12]}"


def model_vintage(doc: dict) -> str | None:
    """Why a study's numbers are not of the current model (``model_version.compare`` with its commit:
    the record of the model's behaviour moved, or the code changed and no record speaks for the study's). None
    when the model is the same, or when git cannot tell (no history, a commit this clone does not hold)."""
    commit = ((doc.get("provenance") or {}).get("git") or {}).get("commit")
    found = model_version.compare(commit)
    if not found.changed:
        return None
    if found.moved:
        return (
            f"made before the model's behaviour changed (its model's record, at commit {found.vouch[:10]}, "
            f"holds another {', '.join(found.moved)})"
        )
    return (
        f"made before the model's code changed (its commit {commit[:10]}'s code has no record of its numbers)"
    )


def index_markdown(
    docs: dict[str, dict],
    link=lambda name: f"{name}/README.md",
    current_posterior: str | None = None,
    model_check: bool = False,
) -> str:
    """The cross-study page; ``current_posterior`` (the committed posterior's sha256) flags studies made
    with another fit, ``model_check`` (git) studies made by a model that computed other numbers."""
    c = docs.get("contrast", {}).get("findings", {})
    s = docs.get("sensitivity", {}).get("findings", {})
    d = docs.get("discovery", {}).get("findings", {}).get("targets", {})
    p = docs.get("portfolio", {}).get("findings", {})
    m = docs.get("monitoring", {}).get("findings", {}).get("goals", {})
    goal = p.get("goal", 0.8)
    lines = [
        "# Lever studies: findings",
        "",
        "What moves P(reach) of the 2026 targets, by how much per 亿元, and under which futures the targets "
        "fail. Each study's folder holds its question, command, findings with their numbers, the commit and "
        "date that produced them, its tables and figures. Rerun them all: `make experiments` (full size) or "
        "`make experiments SMOKE=1` (a seconds-long check, not a result).",
        "",
    ]
    stale = {}
    for n in STUDIES:
        if n in docs:
            why = [
                posterior_vintage(docs[n], current_posterior),
                model_vintage(docs[n]) if model_check else None,
            ]
            if any(why):
                stale[n] = "; ".join(w for w in why if w)
    if stale:
        names = ", ".join(f"`{n}`" for n in stale)
        lines += [
            f"> **Earlier model.** {names} {'was' if len(stale) == 1 else 'were'} made with another behaviour "
            f"posterior than the committed `sim/data/posterior.csv`, or before the last change of the model's "
            f"behaviour (see *made by* below): {'its' if len(stale) == 1 else 'their'} columns are of an earlier "
            "model, not findings of this one. `make experiments` remakes them.",
            "",
        ]
    lines += [
        f"| target | P(reach) (95 % interval): plan; frozen_2023 | lever that matters most: contrast (median gain, 95 % interval) | lever with the largest total Sobol index | dominant uncertainty (total Sobol index) | where the plan fails (PRIM box 1) | figure most worth monitoring (share of the variance of reach it removes) | what it would take: cheapest mix with P >= {goal:g}, or the best attainable (validated) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for g in [*HEADLINE, ALL_FIVE]:
        reach = _reach(c.get("p_reach", {}), g)
        most = _most(c.get("most_important_lever", {}).get(g), g)
        sv = s.get(g if g != ALL_FIVE else f"reach_{ALL_FIVE}", {})
        if "undefined" in sv:
            top_lever = dom = sv["undefined"]
        elif sv:
            top_lever = f"`{sv['top_lever']}` ({_pm(sv, 'top_lever_ST')})"
            dom = f"{sv['dominant_uncertainty']} ({_pm(sv, 'dominant_uncertainty_ST')})"
            full = (
                (s.get("full_scale") or {})
                .get("outputs", {})
                .get(g if g != ALL_FIVE else f"reach_{ALL_FIVE}")
            )
            if full and "undefined" not in full:
                dom = (
                    f"{full['dominant_uncertainty']} ({_pm(full, 'dominant_uncertainty_ST')}) at scale 1; "
                    f"at the study's scale {dom}"
                )
        else:
            top_lever = dom = "not run"
        box = _box(d.get(g)) if d else "not run"
        watch = _watch(m.get(g)) if m else "not run"
        mix = _mix(p.get("mixes", {}).get(g)) if p else "not run"
        label = "all five" if g == ALL_FIVE else g
        lines.append(f"| {label} | {reach} | {most} | {top_lever} | {dom} | {box} | {watch} | {mix} |")
    lines += [
        "",
        "How to read it:",
        "",
        "- *P(reach)*: P(2026 value > target) over the replicates of `contrast` (posterior parameter sets drawn "
        "by weight, lever effects drawn on their ranges, the model's randomness); the interval is the 95 % "
        "Wilson interval of that share, Monte Carlo error only (the spread of the parameters and effects is "
        "inside P).",
        "- *Lever that matters most (contrast)*: the plan's lever whose change from its 2023 level adds most to "
        "the 2026 median, replicate by replicate (plan minus the plan with that lever at 2023), with the 95 % "
        "bootstrap interval of the paired median difference; for all five, the one that adds most to "
        "P(all five), with the 95 % interval of the paired ΔP. ΔP(reach) per target and cost per unit of "
        "effect: `contrast/`.",
        "- *Largest total Sobol index (sensitivity)*: the lever that explains most of the variance of the 2026 "
        "value when every lever moves between its 2023 level and twice the plan together with every uncertainty.",
        "- *Dominant uncertainty*: the uncertainty (a behaviour mechanism of `sim.model.mechanisms`, one "
        "instrument's lever effects, or the model's randomness) with the largest total Sobol index ± its 95 % "
        "half-width; `sensitivity/` says what data would narrow it. The study's runs model a share of the "
        "firms, whose randomness is larger than the real population's: where the study measured the model's "
        "randomness at scale 1 too, the dominant uncertainty there comes first.",
        "- *PRIM box 1*: the uncertainties bounding the futures where the plan misses the target (coverage: share "
        "of the misses inside; density: share of those futures that miss).",
        "- *Figure most worth monitoring*: the figure of 2024-25 whose observation (with its measurement error) "
        "would most reduce the variance of the reach indicator, expected over what it could show (preposterior "
        "analysis on the plan's runs); `monitoring/` values every candidate.",
        "- *Cheapest mix*: the cheapest lever mix NSGA-II found, over each lever's full validated range, with "
        "P(reach) >= the goal, checked on fresh replicates (95 % Wilson interval; 2024-26 public cost of all "
        "instruments); when none gets there, the best attainable P(reach) and its cost; and the mechanism that "
        "caps it (the uncertainty group most rank-correlated with the target's 2026 value in that mix's runs).",
        "",
        "Sobol indices for T01–T05 are those of the 2026 value; for all five, of reaching all five (0/1).",
        "",
        "## The studies",
        "",
        "| study | question | design | made by | wall time of its runs (machine, executor) |",
        "|---|---|---|---|---|",
    ]
    for name in STUDIES:
        doc = docs.get(name)
        if doc is None:
            lines.append(f"| {name} | – | not run | – | – |")
            continue
        git = doc["provenance"].get("git") or {}
        commit = (git.get("commit") or "unknown")[:10] + (" (dirty)" if git.get("dirty") else "")
        vintage = f"; **earlier model**: {stale[name]}" if name in stale else ""
        lines.append(
            f"| [{name}]({link(name)}) | {doc['question']} | {doc['design']} | `{commit}`, "
            f"{doc['provenance']['started'][:10]}, size {doc['size']}{vintage} | {run_time_text(doc)} |"
        )
    return "\n".join(lines) + "\n"


def write_index(folders: list[Path], out: Path) -> Path:
    """Write the index of the studies in ``folders`` to ``out`` (links relative to it)."""
    import os

    docs = load(folders)
    out = Path(out)

    def link(name: str) -> str:
        folder = Path(docs[name]["_folder"])
        page = folder / "README.md" if (folder / "README.md").is_file() else folder / "findings.md"
        return os.path.relpath(page.resolve(), out.resolve().parent)

    from sim.data.posterior import default_posterior_sha256

    return atomic.write_text(out, index_markdown(docs, link, default_posterior_sha256(), model_check=True))


def main(argv: list[str]) -> int:
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m sim.study index", description="The cross-study table of finished study folders."
    )
    parser.add_argument("folders", nargs="+", type=Path, help="study folders (each with a study.json)")
    parser.add_argument("--out", type=Path, help="where to write it (default: README.md beside the folders)")
    args = parser.parse_args(argv)
    missing = [str(f) for f in args.folders if not (f / STUDY_JSON).is_file()]
    if missing:
        print(f"error: no finished study (study.json) in: {', '.join(missing)}", file=sys.stderr)
        return 2
    out = args.out or args.folders[0].resolve().parent / "README.md"
    path = write_index(args.folders, out)
    print(path.read_text(encoding="utf-8"))
    print(f"index: {path}")
    return 0
