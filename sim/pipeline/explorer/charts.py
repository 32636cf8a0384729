"""The page's fan charts: ECharts options, drawn by the browser.

The same content as the run folders' ``fan_T0*.png`` (``sim.pipeline.plots.fan_chart``): the
median and the 50 % and 90 % bands over replicates, the official 2018-2023 values, the target.
Drawing in the browser keeps the server's cores for replicates: an update sends a few numbers.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from sim.model.params import LAST_BASE_YEAR
from sim.pipeline.explorer import adapter
from sim.pipeline.explorer.stats import Fan

BAND = "#1f77b4"  # matplotlib tab:blue, as in the run folders' charts
TARGET = "#d62728"  # tab:red


@lru_cache(maxsize=None)
def _observed(tid: str) -> dict[int, float]:
    obs = adapter.observed(tid)
    return {} if obs is None else {int(y): float(v) for y, v in obs.items()}


def _band(name: str, lo: list, hi: list, stack: str, opacity: float) -> list[dict[str, Any]]:
    """A band as two stacked lines: an invisible lower edge, then the width, filled."""
    width = [None if a is None or b is None else b - a for a, b in zip(lo, hi)]
    edge = {
        "type": "line",
        "name": name,
        "stack": stack,
        "symbol": "none",
        "silent": True,
        "lineStyle": {"opacity": 0},
        "itemStyle": {"color": BAND, "opacity": opacity},  # the legend's swatch
    }
    return [{**edge, "data": lo}, {**edge, "data": width, "areaStyle": {"color": BAND, "opacity": opacity}}]


def fan_option(tid: str, fan: Fan, n: int) -> dict[str, Any]:
    """ECharts option for one headline target's fan chart from ``n`` replicates."""
    t = adapter.target(tid)
    years = [str(y) for y in fan.years]
    q = fan.quantiles
    observed = _observed(tid)
    target_label = f"target {t.target:,g} ({t.target_year})"
    series = [
        *_band("90 % of replicates", q[0.05], q[0.95], "b90", 0.18),
        *_band("50 % of replicates", q[0.25], q[0.75], "b50", 0.35),
        {
            "type": "line",
            "name": "median",
            "data": q[0.5],
            "symbol": "circle",
            "symbolSize": 4,
            "itemStyle": {"color": BAND},
            "lineStyle": {"color": BAND, "width": 2},
            "markArea": {
                "silent": True,
                "itemStyle": {"color": "rgba(128,128,128,0.07)"},
                "label": {"color": "#888", "fontSize": 10, "position": "insideBottom"},
                "data": [[{"xAxis": str(LAST_BASE_YEAR + 1), "name": "projection"}, {"xAxis": years[-1]}]],
            },
        },
        {
            "type": "scatter",
            "name": "observed",
            "data": [observed.get(y) for y in fan.years],
            "symbolSize": 7,
            "itemStyle": {"color": "black"},
        },
        {
            "type": "line",
            "name": target_label,
            "data": [t.target] * len(years),
            "symbol": "none",
            "lineStyle": {"color": TARGET, "type": "dashed", "width": 1.2},
            "itemStyle": {"color": TARGET},
            "markPoint": {
                "symbol": "pin",
                "symbolSize": 22,
                "itemStyle": {"color": TARGET},
                "label": {"show": False},
                "data": [{"coord": [str(t.target_year), t.target]}],
            }
            if str(t.target_year) in years
            else {},
        },
    ]
    return {
        "animation": False,
        "title": {
            "text": f"{tid} {t.name}  ({n} replicates)",
            "textStyle": {"fontSize": 13},
            "left": "center",
        },
        "legend": {
            "top": 24,
            "textStyle": {"fontSize": 10},
            "data": [
                {"name": "90 % of replicates", "icon": "rect"},
                {"name": "50 % of replicates", "icon": "rect"},
                "median",
                "observed",
                target_label,
            ],
        },
        "tooltip": {"trigger": "item"},
        "grid": {"left": 78, "right": 16, "top": 78, "bottom": 36},
        "xAxis": {"type": "category", "data": years, "boundaryGap": False},
        "yAxis": {
            "type": "value",
            "scale": True,
            "name": adapter.unit_label(t.unit),
            "nameLocation": "middle",
            "nameGap": 62,
            "splitLine": {"lineStyle": {"opacity": 0.4}},
        },
        "series": series,
    }
