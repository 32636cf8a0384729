"""Mutation score of a module group from a random sample of its mutants (``make mutate-sample``).

    python tests/mutate_sample.py --n 300 --jobs 2 "sim.model.policy.*" --exclude "sim.model.policy.catalogue.*"

A full ``mutmut run`` over the instruments (``sim/model/policy/``, ~2,300 mutants) takes most of a day on
2 cores: every mutant of a function a model run passes through reruns the model tests. A simple random sample
of ``--n`` of them, drawn with ``--seed``, estimates the score (killed / total, mutmut's own definition) with a
95 % Wilson interval, the sampling error of that estimate. It prints the score per module and every survivor
with its one-line diff, so a reviewer can tell a gap in the tests from an equivalent mutant.

Run it from the project root after ``make install-dev`` (it installs mutmut as ``make mutate`` does). The
mutants and results live in ``mutants/`` (not committed); mutmut reuses results it already has, so a rerun
with the same sample only checks what changed.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import math
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

MUTMUT = Path(sys.executable).parent / "mutmut"
#: mutmut's exit codes (mutmut/stats.py, 3.8): 1 and 3 are kills, 0 a survivor, 5 and 33 "no tests" (no
#: selected test ran the function), 36 and the SIGXCPU codes timeouts; anything else mutmut calls suspicious.
KILLED = {1, 3}
SURVIVED = {0}
NO_TESTS = {5, 33}
TIMEOUT = {36, 24, -24, 152, 255}
Z95 = 1.959963984540054  # standard normal 97.5 % quantile


def status(code: int | None) -> str:
    if code is None:
        return "not checked"
    for name, codes in (
        ("killed", KILLED),
        ("survived", SURVIVED),
        ("no tests", NO_TESTS),
        ("timeout", TIMEOUT),
    ):
        if code in codes:
            return name
    return "suspicious"


def wilson(k: int, n: int) -> tuple[float, float]:
    """95 % Wilson score interval of a proportion k / n."""
    if n == 0:
        return (0.0, 1.0)
    p = k / n
    centre = (p + Z95**2 / (2 * n)) / (1 + Z95**2 / n)
    half = Z95 * math.sqrt(p * (1 - p) / n + Z95**2 / (4 * n * n)) / (1 + Z95**2 / n)
    return (max(0.0, centre - half), min(1.0, centre + half))


def all_mutants(root: Path) -> dict[str, int | None]:
    """Every generated mutant's name and its last exit code (None: not checked yet)."""
    codes: dict[str, int | None] = {}
    for meta in sorted((root / "mutants").rglob("*.meta")):
        codes.update(json.loads(meta.read_text())["exit_code_by_key"])
    return codes


def draw(names: list[str], n: int, seed: int) -> list[str]:
    """A simple random sample of ``n`` names (all of them when there are fewer), in a fixed order."""
    names = sorted(names)
    if n >= len(names):
        return names
    picked = np.random.default_rng(seed).choice(len(names), size=n, replace=False)
    return [names[i] for i in sorted(picked)]


def module_of(name: str) -> str:
    """``sim.model.policy.vouchers.xǁVouchersǁact__mutmut_4`` -> ``sim.model.policy.vouchers``."""
    return name.rsplit(".", 1)[0]


def diff_line(name: str) -> str:
    """The mutant's changed line, ``- old`` / ``+ new``, from ``mutmut show``."""
    out = subprocess.run([str(MUTMUT), "show", name], capture_output=True, text=True).stdout
    lines = [ln for ln in out.splitlines() if ln[:1] in "-+" and ln[:3] not in ("---", "+++")]
    return " | ".join(" ".join(ln.split()) for ln in lines)


def report(sample: list[str], codes: dict[str, int | None], population: int, seed: int) -> str:
    by_status = Counter(status(codes[m]) for m in sample)
    checked = len(sample) - by_status["not checked"]
    killed = by_status["killed"]
    lo, hi = wilson(killed, checked)
    lines = [
        f"# Mutation score from a random sample of {len(sample)} of {population} mutants (seed {seed})",
        "",
        f"Score (killed / checked): **{killed / max(checked, 1):.2f}** (95 % Wilson interval {lo:.2f}-{hi:.2f}); "
        + ", ".join(f"{k} {v}" for k, v in sorted(by_status.items())),
        "",
        "| module | sampled | killed | survived | no tests | other | score |",
        "|---|---|---|---|---|---|---|",
    ]
    per_module: dict[str, Counter] = defaultdict(Counter)
    for m in sample:
        per_module[module_of(m)][status(codes[m])] += 1
    for module, c in sorted(per_module.items()):
        total = sum(c.values()) - c["not checked"]
        other = total - c["killed"] - c["survived"] - c["no tests"]
        score = f"{c['killed'] / total:.2f}" if total else "-"
        lines.append(
            f"| `{module}` | {sum(c.values())} | {c['killed']} | {c['survived']} | {c['no tests']} | {other} | {score} |"
        )
    survivors = [m for m in sample if status(codes[m]) in ("survived", "no tests", "timeout", "suspicious")]
    if survivors:
        lines += ["", "## Survivors", ""]
        lines += [f"- `{m}` ({status(codes[m])}): {diff_line(m)}" for m in survivors]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("patterns", nargs="+", help="mutant name patterns, e.g. 'sim.model.policy.*'")
    ap.add_argument("--exclude", action="append", default=[], help="leave out names matching this pattern")
    ap.add_argument("--n", type=int, default=300, help="mutants to sample (default 300)")
    ap.add_argument("--seed", type=int, default=0, help="seed of the sample (default 0)")
    ap.add_argument("--jobs", type=int, default=2, help="mutmut's --max-children (default 2)")
    ap.add_argument("--out", type=Path, help="also write the report to this file")
    ap.add_argument(
        "--recheck",
        action="store_true",
        help="run only the sample's mutants not killed last time (after adding tests: kills stand, since tests "
        "that were added cannot revive a killed mutant)",
    )
    args = ap.parse_args(argv)
    if args.n < 1:
        ap.error(f"--n = {args.n}: allowed range is 1 or more")
    if args.jobs < 1:
        ap.error(f"--jobs = {args.jobs}: allowed range is 1 or more")
    if not MUTMUT.exists():
        ap.error(f"{MUTMUT} not found: run `make mutate` once or `pip install 'mutmut>=3.8'` in the venv")
    root = Path.cwd()
    if not (root / "pyproject.toml").exists():
        ap.error("run it from the project root (no pyproject.toml here)")
    codes = all_mutants(root)
    if not codes:
        # Generates the mutants and the test statistics and checks none: the name matches no mutant, so mutmut
        # ends with "nothing matches" and exit 1, which is not an error here.
        subprocess.run([str(MUTMUT), "run", "__no_mutant__"])
        codes = all_mutants(root)
        if not codes:
            ap.error("mutmut generated no mutants: see its output above")
    population = [
        m
        for m in codes
        if any(fnmatch.fnmatchcase(m, p) for p in args.patterns)
        and not any(fnmatch.fnmatchcase(m, p) for p in args.exclude)
    ]
    if not population:
        ap.error(
            f"no mutant matches {args.patterns}: the [tool.mutmut] source_paths in pyproject.toml decide which exist"
        )
    sample = draw(population, args.n, args.seed)
    to_run = [m for m in sample if status(codes[m]) != "killed"] if args.recheck else sample
    print(
        f"checking {len(to_run)} of a sample of {len(sample)} of {len(population)} mutants with {args.jobs} children",
        flush=True,
    )
    if to_run:
        subprocess.run([str(MUTMUT), "run", "--max-children", str(args.jobs), *to_run], check=True)
    text = report(sample, all_mutants(root), len(population), args.seed)
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
