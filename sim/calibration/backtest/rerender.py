"""Re-render a backtest's report from its scores (the figures stay as they are):

    python -m sim.calibration.backtest.rerender                  # docs/backtest.json -> docs/backtest.md
    python -m sim.calibration.backtest.rerender RUN/backtest.json --out RUN/backtest.md --figures figures

so that a change to the report's code (``sim.calibration.backtest.report``) reaches the committed page
without recomputing the backtest (23 min or more)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from sim.calibration.backtest.report import render_markdown
from sim.paths import DOCS_DIR
from sim.runtime import atomic
from sim.runtime.config import BAD_INPUT_EXIT


def main(argv: list[str] | None = None) -> int:
    """Re-render a backtest report from its ``backtest.json``."""
    ap = argparse.ArgumentParser(prog="python -m sim.calibration.backtest.rerender", description=main.__doc__)
    ap.add_argument("json", nargs="?", default=str(DOCS_DIR / "backtest.json"), help="the scores")
    ap.add_argument("--out", help="the page (default: backtest.md beside the json)")
    ap.add_argument("--figures", default="backtest_figures", help="the figures' folder, relative to the page")
    args = ap.parse_args(argv)
    src = Path(args.json)
    try:
        result = json.loads(src.read_text(encoding="utf-8"))
        page = render_markdown(result, args.figures)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        print(f"error: {src}: not a backtest's backtest.json ({exc})", file=sys.stderr)
        return BAD_INPUT_EXIT
    out = Path(args.out) if args.out else src.with_name("backtest.md")
    atomic.write_text(out, page)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
