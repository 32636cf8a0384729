"""The explorer's page (Solara): lever controls on the left, the growing ensemble on the right.

Served by ``python -m sim.app`` (``make app``); ``solara run sim.pipeline.explorer.page`` works too.
Rendering only formats what the engine computed: the statistics are made in the page's follower
thread (``solara.use_thread``) and the fan charts are drawn by the browser (ECharts), so moving a
control never waits for them.
"""

from __future__ import annotations

import html
import threading
from typing import Any, Callable

import reacton.ipyvuetify as rv
import solara

from sim.pipeline import credibility
from sim.pipeline.explorer import adapter, charts
from sim.pipeline.explorer.engine import Setting, Snapshot, get_engine

SLIDER_SETTLE_S = 0.3  # a slider commits its value after resting this long

CSS = """
.qx-table { border-collapse: collapse; font-size: 14px; width: 100%; }
.qx-table th, .qx-table td { border-bottom: 1px solid #ddd; padding: 4px 8px; text-align: right; }
.qx-table th:first-child, .qx-table td:first-child { text-align: left; }
.qx-table .ci { color: #666; font-size: 12px; }
.qx-muted { color: #666; font-size: 13px; }
.qx-lever { margin-bottom: 10px; }
.qx-name { font-weight: 500; font-size: 13px; }
.qx-changed { color: #1f77b4; font-weight: 700; }
.qx-error { color: #d62728; font-size: 12px; }
.qx-stale { opacity: 0.45; }
.qx-page { height: 100vh; flex-wrap: nowrap; padding: 8px 24px 0 16px; max-width: 100%; }
.qx-page > div { height: 100%; overflow-y: auto; padding-bottom: 16px; }
.qx-start .v-select__selection { font-size: 13px; }
"""


# --------------------------------------------------------------------------- formatting
def fmt(value: float | None, unit: str = "", signed: bool = False) -> str:
    """A number as the page shows it: no decimals from 100, one below (percent: always one)."""
    if value is None:
        return "n/a"
    sign = "+" if signed else ""
    if abs(value) >= 100 and unit != "percent":
        return f"{value:{sign},.0f}"
    if abs(value) >= 1 or unit == "percent" or value == 0:
        return f"{value:{sign}.1f}"
    return f"{value:{sign}.2g}"


def fmt_ci(ci: tuple[float, float] | None, unit: str = "", signed: bool = False) -> str:
    if ci is None:
        return "[n/a]"
    return f"[{fmt(ci[0], unit, signed)}, {fmt(ci[1], unit, signed)}]"


def pct(p: float | None, signed: bool = False) -> str:
    return "n/a" if p is None else f"{100 * p:{'+' if signed else ''}.1f} %"


def pct_ci(ci: tuple[float, float] | None, signed: bool = False) -> str:
    return "[n/a]" if ci is None else f"[{pct(ci[0], signed)}, {pct(ci[1], signed)}]"


def _cell(testid: str, text: str, ci: str | None = None) -> str:
    inner = html.escape(text) + (
        f'<br><span class="ci" data-testid="{testid}-ci">{html.escape(ci)}</span>' if ci else ""
    )
    return f'<td data-testid="{testid}">{inner}</td>'


def snapshot_tag(snap: Snapshot) -> str:
    """Which snapshot an element shows: every lever's setting, the effects and the replicates in.

    Written as ``data-snapshot`` on each element that shows a snapshot's numbers. They are separate
    widgets, which the browser updates one after another; a reader (the browser test) that sees the same
    tag on all of them knows they show one snapshot, and which.
    """
    levers = ", ".join(f"{k}={adapter.describe_setting(v)}" for k, v in snap.setting.values().items())
    return f"{levers}; effects {snap.setting.effects}; n={snap.n}"


def results_table(snap: Snapshot) -> str:
    """HTML table of the headline targets and the public cost (every cell has a data-testid)."""
    s = snap.summary
    head = (
        "<tr><th>target (2026)</th><th>median<br><span class='ci'>95 % MC interval</span></th>"
        "<th>5 % - 95 % of replicates</th><th>P(reach)<br><span class='ci'>95 % Wilson</span></th>"
        "<th>difference from plan<br><span class='ci'>paired mean, 95 % t</span></th>"
        "<th>P(reach) difference<br><span class='ci'>paired, 95 % t</span></th></tr>"
    )
    body = []
    for r in s.rows:
        unit = adapter.unit_label(r.unit)
        goal = f"{r.tid} {r.name}: > {fmt(r.target, r.unit)} {unit}"
        body.append(
            "<tr>"
            + f"<td>{html.escape(goal)}</td>"
            + _cell(f"{r.tid}-median", fmt(r.median, r.unit), fmt_ci(r.median_ci, r.unit))
            + _cell(f"{r.tid}-range", f"{fmt(r.p05, r.unit)} - {fmt(r.p95, r.unit)}")
            + _cell(f"{r.tid}-p-reach", pct(r.p_reach), pct_ci(r.p_reach_ci))
            + _cell(f"{r.tid}-diff", *r.diff_text())
            + _cell(f"{r.tid}-dp-reach", *r.dp_reach_text())
            + "</tr>"
        )
    c = s.cost
    body.append(
        "<tr>"
        + f"<td>public cost {c.first_year}-{c.last_year}, all instruments (100 million yuan; plan: "
        + f"{fmt(c.plan_median)})</td>"
        + _cell("cost", fmt(c.median), fmt_ci(c.median_ci))
        + _cell("cost-range", f"{fmt(c.p05)} - {fmt(c.p95)}")
        + "<td></td>"
        + _cell("cost-diff", *c.diff_text())
        + "<td></td></tr>"
    )
    tag = html.escape(snapshot_tag(snap), quote=True)
    return f'<table class="qx-table" data-snapshot="{tag}">{head}{"".join(body)}</table>'


def trust_html(cred: dict) -> str:
    """How far to trust the numbers: the Monte Carlo note and a line per target (``sim.pipeline.credibility``)."""
    lines = [cred["note"], *credibility.target_lines(cred).values()]
    return (
        '<div class="qx-muted" data-testid="credibility">' + "<br>".join(map(html.escape, lines)) + "</div>"
    )


# --------------------------------------------------------------------------- controls
def parse_number(text: str) -> float | str:
    """A typed number, or the text itself (which the field's validation then refuses by name)."""
    try:
        value = float(text.replace(",", "").strip())
    except ValueError:
        return text
    return int(value) if value.is_integer() else value


@solara.component
def LeverControl(
    lever: adapter.Lever,
    setting: Any,
    changed: bool,
    on_commit: Callable[[Any], None],
    years: list[int],
):
    """A lever's value and the year it starts (``adapter.Lever.path``; its 2023 level before).

    The slider spans a range around the plan (``Lever.slider_hi``); the text field takes the field's
    whole range and is validated (bad input is refused by name); the "from" menu picks the start year.
    """
    value, start = lever.split(setting)
    shown, set_shown = solara.use_state(value)
    text, set_text = solara.use_state(str(value))
    error, set_error = solara.use_state(None)

    def sync():
        set_shown(value)
        set_text(str(value))
        set_error(None)

    solara.use_effect(sync, [value])

    def commit_text(new: str):
        set_text(new)
        parsed = parse_number(new)
        message = adapter.check_lever(lever.name, parsed)
        if message is not None:
            set_error(message)
            return
        set_error(None)
        on_commit(lever.path(parsed, start))

    def settle():
        """Commit the slider's value once it has rested for SLIDER_SETTLE_S (drags and key repeats)."""
        if shown == value:
            return None
        timer = threading.Timer(SLIDER_SETTLE_S, lambda: on_commit(lever.path(shown, start)))
        timer.daemon = True
        timer.start()
        return timer.cancel

    solara.use_effect(settle, [shown])

    whole = ", whole" if lever.integer else ""
    with solara.Div(classes=["qx-lever"]):
        solara.HTML(
            tag="div",
            unsafe_innerHTML=(
                f'<span class="qx-name{" qx-changed" if changed else ""}">{html.escape(lever.name)}</span> '
                f'<span class="qx-muted" title="{html.escape(lever.source)}">{html.escape(lever.unit)} '
                f"({lever.lo:g} to {lever.hi:g}{whole}; plan {lever.plan:g}, 2023 {lever.level_2023:g})</span>"
            ),
        )
        with solara.Row(style={"align-items": "center", "gap": "8px"}):
            rv.Slider(
                v_model=shown,
                on_v_model=set_shown,
                min=lever.lo,
                max=max(lever.slider_hi, value),  # a typed value beyond the slider's span widens it
                step=lever.step,
                hide_details=True,
                dense=True,
                class_=f"qx-slider qx-slider-{lever.name}",
                style_="flex: 1 1 auto;",
            )
            solara.InputText(
                "value",
                value=text,
                on_value=commit_text,
                error=error is not None,
                continuous_update=False,
                dense=True,
                hide_details=True,
                classes=[f"qx-input-{lever.name}"],
                style={"max-width": "95px"},
            )
            rv.Select(
                label="from",
                v_model=start,
                items=years,
                on_v_model=lambda year: on_commit(lever.path(value, int(year))),
                dense=True,
                hide_details=True,
                class_=f"qx-start qx-start-{lever.name}",
                style_="max-width: 92px; min-width: 92px;",
            )
        if error:
            solara.HTML(
                tag="div",
                unsafe_innerHTML=f'<div class="qx-error" data-testid="error-{lever.name}">{html.escape(error)}</div>',
            )


# --------------------------------------------------------------------------- page
@solara.component
def Page():
    engine = get_engine()
    info = engine.describe()
    levers = adapter.levers()
    years = adapter.start_years(engine.end_year)
    scen, set_scen = solara.use_state(adapter.BASELINE)
    values, set_values = solara.use_state(adapter.scenario_values(adapter.BASELINE))
    effects, set_effects = solara.use_state(adapter.EFFECTS[0])
    setting = Setting.of(values, effects)  # controls only ever commit valid values
    named = adapter.scenario_values(scen)
    trust = solara.use_memo(lambda: credibility.assess(engine.sets.info), [])

    def pick(name: str):
        set_scen(name)
        set_values(adapter.scenario_values(name))

    def commit(name: str):
        return lambda v: set_values(lambda old: {**old, name: v})

    # the follower thread: snapshots as replicates arrive; ends (cancel) when the setting changes
    result = solara.use_thread(
        lambda cancel: engine.follow(setting, cancel), dependencies=[setting], intrusive_cancel=False
    )

    solara.Title("Qinchuangyuan lever explorer")
    solara.Style(CSS)
    with solara.Columns([2, 5], classes=["qx-page"]):
        with solara.Column(classes=["qx-levers"]):  # scrolls on its own: the results stay in view
            solara.Text("Levers", style={"font-size": "18px", "font-weight": "bold"})
            solara.Select("scenario", values=adapter.scenario_names(), value=scen, on_value=pick)
            with solara.Row(style={"align-items": "center"}):
                solara.Text("effects")
                solara.ToggleButtonsSingle(value=effects, values=list(adapter.EFFECTS), on_value=set_effects)
            solara.HTML(
                tag="div",
                unsafe_innerHTML=(
                    f'<div class="qx-muted">Each lever: its value and the year it starts ("from"), its 2023 '
                    f"level before. From {years[0]}: the plan's rule (a build-up lever reaches the value in "
                    f"{adapter.PLAN_YEAR}). The slider covers about {adapter.SLIDER_SPAN:g}x the plan; type "
                    "any value of the allowed range in the box.</div>"
                ),
            )
            for lever in levers:
                LeverControl(
                    lever,
                    values[lever.name],
                    values[lever.name] != named[lever.name],
                    commit(lever.name),
                    years,
                )
        with solara.Column(classes=["qx-results"]):
            solara.Text(
                f"Qinchuangyuan lever explorer: {adapter.PLAN_YEAR} targets under the chosen levers",
                style={"font-size": "20px", "font-weight": "bold"},
            )
            changed = [f"{k}={adapter.describe_setting(v)}" for k, v in values.items() if v != named[k]]
            solara.HTML(
                tag="div",
                unsafe_innerHTML=(
                    f'<div data-testid="setting">Scenario <b>{html.escape(scen)}</b>, effects {html.escape(effects)}; '
                    f"levers changed: {html.escape(', '.join(changed) or 'none')}</div>"
                ),
            )
            Status(result, info, setting, trust)


@solara.component
def Status(result: solara.Result, info: dict, setting: Setting, trust: dict):
    snap: Snapshot | None = result.value
    stale = snap is not None and snap.setting != setting  # the previous setting's, until the first answer
    solara.Text(
        f"Monte Carlo ensemble growing in the background (no emulator): replicate i of every setting is replicate "
        f"i of `python -m sim seed={info['seed']} scale={info['scale']}`, the same seed and posterior parameter "
        f"set, so differences from the plan are paired. Scale {info['scale']}: one agent per "
        f"{1 / info['scale']:g} real firms, indicators in real units. Parameters: {info['posterior']}. "
        "Brackets: 95 % Monte Carlo intervals.",
        classes=["qx-muted"],
    )
    if snap is None:
        solara.HTML(
            tag="div", unsafe_innerHTML='<div class="qx-muted">computing the first replicates ...</div>'
        )
        solara.ProgressLinear(True)
        return
    if stale:
        solara.HTML(
            tag="div",
            unsafe_innerHTML=(
                '<div class="qx-muted" data-testid="updating">computing the changed setting; dimmed below, '
                "the previous setting's numbers until its first replicates arrive ...</div>"
            ),
        )
        solara.ProgressLinear(True)
    else:
        if snap.error:
            solara.Error(f"The model failed for this setting: {snap.error}")
        timing = []
        if snap.first_answer_s is not None:
            timing.append(f"first answer {snap.first_answer_s:.1f} s after the change")
        if snap.complete_s is not None:
            timing.append(f"all {snap.target_n} after {snap.complete_s:.1f} s")
        solara.HTML(
            tag="div",
            unsafe_innerHTML=(
                f'<b data-testid="replicates" data-snapshot="{html.escape(snapshot_tag(snap), quote=True)}">'
                f"{snap.n} / {snap.target_n}</b> paired replicates "
                f'<span data-testid="timing" class="qx-muted">{"; ".join(timing)}</span>'
            ),
        )
        solara.ProgressLinear(100 * snap.n / snap.target_n)
    if snap.summary is None:
        return
    with solara.Div(classes=["qx-stale"] if stale else []):
        solara.HTML(tag="div", unsafe_innerHTML=results_table(snap))
        solara.HTML(tag="div", unsafe_innerHTML=trust_html(trust))
        with solara.GridFixed(columns=2):
            for tid in adapter.INDICATORS:
                solara.FigureEcharts(
                    option=charts.fan_option(tid, snap.summary.fans[tid], snap.n),
                    attributes={"style": "height: 340px;", "data-testid": f"fan-{tid}"},
                )
