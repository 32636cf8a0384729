"""The lever explorer in a real browser: ``python -m sim.app`` driven by headless Chromium.

The app runs on a free loopback port with a small ensemble (``REPLICATES`` a setting). The test
checks the results stay in view while the lever list scrolls, moves the voucher-budget and
fund-size sliders, checks that the numbers change, and compares them with ``python -m sim`` at
the same levers, seed, scale and posterior: replicate i of the explorer is replicate i of that
run, so the medians, P(reach) and the cost's median and 5 %-95 % range must agree to the
precision shown, and the direct run's values must lie inside the Monte Carlo intervals the page
states. It types bad values (refused with the field's message), then moves the voucher budget's
start year to 2025 and compares the page with ``python -m sim policy.voucher_budget=[1.0,<value>]``
(the path the page shows). It saves a screenshot and the measured times in a temporary folder (the
suite writes nothing into the tree), or in the folder ``EXPLORER_TEST_OUT`` names (e.g.
``EXPLORER_TEST_OUT=results/explorer make test`` to keep them).

Chromium is Debian's package (``make test`` installs it when missing); Playwright drives it via
``executable_path`` (Playwright's own browser download is not used). Without Chromium the test
is skipped, or fails when ``CI`` is set.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pandas as pd
import pytest

from sim.model.outcomes import HEADLINE
from sim.model.policy import LEVERS as LEVER_DECLARATIONS
from sim.pipeline.explorer.engine import DEFAULT_SCALE, DEFAULT_SEED, MIN_ANSWER

ROOT = Path(__file__).resolve().parent.parent
REPLICATES = 30  # a setting's ensemble in this test: P(reach) to about +-0.18, quick to complete
CHROMIUM = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LEVERS = list(LEVER_DECLARATIONS)  # the page's lever controls, in order
READ_CELLS = "() => Object.fromEntries([...document.querySelectorAll('[data-testid]')].map(e => [e.dataset.testid, e.innerText]))"

pytestmark = pytest.mark.slow


def _browser_or_skip() -> str:
    if os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK):
        return CHROMIUM
    why = f"no Chromium at {CHROMIUM}: `make test` installs it as root (apt-get install chromium)"
    if os.environ.get("CI"):
        pytest.fail(why)
    pytest.skip(why)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    """``python -m sim.app`` on a free loopback port; stopped (SIGTERM, then kill) afterwards."""
    _browser_or_skip()
    port = _free_port()
    log = tmp_path_factory.mktemp("app") / "app.log"
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    with open(log, "w") as fh:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "sim.app",
                "--port",
                str(port),
                "--replicates",
                str(REPLICATES),
                "--jobs",
                "2",
            ],
            cwd=ROOT,
            env=env,
            stdout=fh,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                pytest.fail(f"the app exited ({proc.returncode}): {log.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(url, timeout=2) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"the app did not answer on {url} within 90 s: {log.read_text()[-2000:]}")
            time.sleep(0.3)
        yield url
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def page(app_url, tmp_path_factory):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        ctx = pw.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")),  # a fresh --user-data-dir
            executable_path=_browser_or_skip(),
            headless=True,
            args=CHROMIUM_FLAGS,
            viewport={"width": 1600, "height": 1250},
        )
        try:
            pg = ctx.new_page()
            pg.set_default_timeout(90_000)
            pg.goto(app_url)
            yield pg
        finally:
            ctx.close()


# --------------------------------------------------------------------------- reading the page
def number(text: str) -> float:
    """'8,614' -> 8614.0, '+27.8' -> 27.8, '92.5 %' -> 0.925."""
    text = text.strip()
    value = float(text.replace(",", "").replace("%", "").strip())
    return value / 100 if text.endswith("%") else value


def interval(text: str) -> tuple[float, float]:
    """'[8,164, 8,980]' -> (8164.0, 8980.0) (thousands separators have no space after them)."""
    lo, hi = text.strip().strip("[]").split(", ")
    return number(lo), number(hi)


def half_unit(text: str) -> float:
    """Half a unit of the last digit shown (the display's rounding)."""
    digits = re.sub(r"[^0-9.]", "", text)
    decimals = len(digits.split(".")[1]) if "." in digits else 0
    scale = 0.01 if text.strip().endswith("%") else 1.0
    return 0.5 * 10**-decimals * scale + 1e-9


def cells(pg) -> dict[str, str]:
    """Every data-testid cell's text, read in one script run (one consistent render)."""
    return pg.evaluate(READ_CELLS)


def shown(cell: str) -> str:
    return cell.splitlines()[0]


def wait_complete(pg, must_include: list[str]) -> dict[str, str]:
    """Wait until the page shows every replicate of the setting whose text includes ``must_include``.

    The setting line, the replicates counter and the results table are separate widgets, which the browser
    updates one after another: for a moment the new setting's line can stand above the previous setting's
    finished numbers. So the wait also reads the snapshot each numbers element says it shows
    (``data-snapshot``): all the same, the one of every lever the setting line lists as changed, complete.
    """
    pg.wait_for_function(
        """([n, parts]) => {
            const s = document.querySelector('[data-testid=setting]');
            const r = document.querySelector('[data-testid=replicates]');
            const tags = [...document.querySelectorAll('[data-snapshot]')].map(e => e.dataset.snapshot);
            if (!s || !r || tags.length < 2 || !parts.every(p => s.innerText.includes(p))) return false;
            const changed = s.innerText.split('levers changed: ')[1].trim();
            const levers = changed === 'none' ? [] : changed.split(', ');
            const shows = new Set(tags[0].split('; ')[0].split(', '));  // 'lever=setting' of the numbers
            return tags.every(t => t === tags[0]) && tags[0].endsWith(`; n=${n}`)
                && levers.every(l => shows.has(l)) && r.innerText.trim() === `${n} / ${n}`;
        }""",
        arg=[REPLICATES, must_include],
        polling=100,
    )
    return cells(pg)


def move_slider(pg, lever: str, key: str) -> None:
    thumb = pg.locator(f".qx-slider-{lever} [role=slider]")
    thumb.focus()
    pg.keyboard.press(key)


def direct_run(levers: dict[str, object], tmp: Path, name: str = "direct") -> tuple[dict, pd.DataFrame]:
    """``python -m sim`` with ``policy.<lever>=<value>`` (a number or a path as the page writes it)."""
    out = tmp / name
    args = [f"policy.{k}={v}" for k, v in levers.items()] + [
        f"replicates={REPLICATES}",
        f"seed={DEFAULT_SEED}",
        f"scale={DEFAULT_SCALE}",
        "posterior=default",
        "jobs=2",
        "progress=false",
        "plots=false",
        f"hydra.run.dir={out}",
    ]
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    proc = subprocess.run(
        [sys.executable, "-m", "sim", *args], cwd=tmp, env=env, capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads((out / "summary.json").read_text())
    return summary, pd.read_csv(out / "timeseries.csv")


def assert_agrees(page: dict[str, str], summary: dict) -> None:
    """The page's numbers are those of ``python -m sim`` at the same setting (the same replicates)."""
    assert summary["replicates"] == REPLICATES
    for tid in HEADLINE:
        ind = summary["indicators"][tid]
        p50 = ind["by_year"]["2026"]["p50"]
        med = shown(page[f"{tid}-median"])
        lo, hi = interval(page[f"{tid}-median-ci"])
        assert lo - half_unit(med) <= p50 <= hi + half_unit(med), (tid, p50, lo, hi)  # inside the MC error
        assert abs(number(med) - p50) <= half_unit(med), (
            tid,
            med,
            p50,
        )  # the same replicates: the same median
        p = shown(page[f"{tid}-p-reach"])
        plo, phi = interval(page[f"{tid}-p-reach-ci"])
        assert plo - half_unit(p) <= ind["p_reach"] <= phi + half_unit(p), (tid, ind["p_reach"], plo, phi)
        assert abs(number(p) - ind["p_reach"]) <= half_unit(p), (tid, p, ind["p_reach"])
    # the public cost: the median and the 5 %-95 % range, as summary.json and targets.md give them
    total = summary["spending"]["total"]["total_2024_2026"]
    cost = shown(page["cost"])
    assert abs(number(cost) - total["p50"]) <= half_unit(cost), (cost, total)
    lo, hi = shown(page["cost-range"]).split(" - ")
    assert abs(number(lo) - total["p05"]) <= half_unit(lo) and abs(number(hi) - total["p95"]) <= half_unit(hi)


def in_view(pg, selector: str) -> bool:
    """Whether the element is wholly inside the browser window."""
    box = pg.locator(selector).bounding_box()
    size = pg.viewport_size
    return box is not None and box["y"] >= 0 and box["y"] + box["height"] <= size["height"]


def pick_start(pg, lever: str, year: int) -> None:
    """Choose the year ``lever`` starts from in its "from" menu."""
    pg.locator(f".qx-start-{lever}").click()
    pg.locator("[role=listbox] .v-list-item").filter(has_text=str(year)).click()


# --------------------------------------------------------------------------- the test
def test_explorer_moves_levers_and_agrees_with_python_m_sim(page, tmp_path):
    from playwright.sync_api import expect

    out = Path(os.environ.get("EXPLORER_TEST_OUT") or tmp_path / "explorer")  # screenshot and times
    pg = page
    timings: dict[str, float] = {}
    start = time.monotonic()
    before = wait_complete(pg, ["levers changed: none"])
    timings["page_to_plan_complete_s"] = time.monotonic() - start
    for tid in HEADLINE:
        assert re.match(r"^[0-9,.]+$", shown(before[f"{tid}-median"])), before[f"{tid}-median"]

    # the results stay in view while the lever list scrolls to its last lever
    last = f".qx-input-{LEVERS[-1]} input"
    pg.locator(last).scroll_into_view_if_needed()
    assert in_view(pg, last) and in_view(pg, "[data-testid=cost]") and in_view(pg, "[data-testid=T01-median]")

    # move two levers with the keyboard (PageUp: a tenth of the slider's span around the plan)
    move_slider(pg, "voucher_budget", "PageUp")
    move_slider(pg, "fund_size", "PageUp")
    moved = time.monotonic()
    pg.wait_for_function(
        """() => document.querySelector('[data-testid=setting]').innerText.includes('fund_size=')""",
        polling=50,
    )
    pg.wait_for_function(
        """(k) => {
            const s = document.querySelector('[data-testid=setting]');
            const r = document.querySelector('[data-testid=replicates]');
            return s.innerText.includes('voucher_budget=') && s.innerText.includes('fund_size=')
                && r && parseInt(r.innerText) >= k;
        }""",
        arg=MIN_ANSWER,
        polling=50,
    )
    timings["move_to_first_answer_s"] = time.monotonic() - moved
    levers = {
        name: float(pg.input_value(f".qx-input-{name} input")) for name in ("voucher_budget", "fund_size")
    }
    # a step of the slider is a useful move around the plan (2 and 500), not a tenth of the whole range
    assert 2.0 < levers["voucher_budget"] <= 3.0 and 500.0 < levers["fund_size"] <= 750.0, levers
    after = wait_complete(pg, [f"{k}={v}" for k, v in levers.items()])
    timings["move_to_complete_s"] = time.monotonic() - moved
    out.mkdir(parents=True, exist_ok=True)
    pg.screenshot(path=str(out / "explorer.png"))

    # the numbers shown changed
    assert shown(after["cost"]) != shown(before["cost"])
    assert any(shown(after[f"{t}-median"]) != shown(before[f"{t}-median"]) for t in HEADLINE)
    assert number(shown(after["cost-diff"])) > 0  # more vouchers cost more

    # ... and agree with python -m sim at the same settings
    started = time.monotonic()
    summary, _ = direct_run(levers, tmp_path)
    timings["direct_run_s"] = time.monotonic() - started
    assert_agrees(after, summary)

    # bad input is refused with the field's message, and nothing changes
    for typed, message in [("-5", "allowed range is [0, 10000]"), ("lots", "must be a number")]:
        pg.fill(".qx-input-fund_size input", typed)
        pg.press(".qx-input-fund_size input", "Enter")
        error = pg.locator("[data-testid=error-fund_size]")
        expect(error).to_contain_text(message)
        assert error.inner_text().startswith("policy.fund_size = ") and typed in error.inner_text()
        assert f"fund_size={levers['fund_size']}" in cells(pg)["setting"]
        assert cells(pg)["replicates"] == f"{REPLICATES} / {REPLICATES}"

    # vouchers from 2025: the 2023 level (1.0) in 2024, the moved value after; the path python -m sim takes
    pick_start(pg, "voucher_budget", 2025)
    path = f"[1.0,{levers['voucher_budget']}]"
    late = wait_complete(pg, [f"voucher_budget={path}", f"fund_size={levers['fund_size']}"])
    assert number(shown(late["cost"])) < number(shown(after["cost"]))  # a year at the lower 2023 level
    assert number(shown(late["cost-diff"])) < number(shown(after["cost-diff"]))
    started = time.monotonic()
    summary, _ = direct_run({"voucher_budget": path, "fund_size": levers["fund_size"]}, tmp_path, "late")
    timings["direct_run_path_s"] = time.monotonic() - started
    assert summary["policy"]["voucher_budget"] == [1.0, levers["voucher_budget"]]  # recorded as given
    assert_agrees(late, summary)

    timings["test_total_s"] = time.monotonic() - start
    (out / "browser_test.json").write_text(
        json.dumps({"replicates": REPLICATES, "levers": levers, "voucher_path": path, **timings}, indent=2)
    )
    print(f"explorer browser test ({out}):", json.dumps(timings))
