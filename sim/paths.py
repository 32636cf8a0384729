"""Where the project's folders are (one definition for every wing)."""

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_ROOT = PACKAGE_DIR.parent
DATA_DIR = PACKAGE_DIR / "data"
CONFIG_DIR = REPO_ROOT / "configs"
DOCS_DIR = REPO_ROOT / "docs"
RESULTS_DIR = REPO_ROOT / "results"
POSTERIOR_CSV = DATA_DIR / "posterior.csv"
#: The backtest's machine-readable result (``python -m sim.backtest docs=true``).
BACKTEST_JSON = DOCS_DIR / "backtest.json"


def posterior_fit_path(posterior_csv: Path) -> Path:
    """The fit of a posterior to the data, written by ``python -m sim.calibrate`` beside its csv:
    ``posterior.csv`` -> ``posterior_fit.json`` (its name keeps it out of the calibration's input hash)."""
    posterior_csv = Path(posterior_csv)
    return posterior_csv.with_name(f"{posterior_csv.stem}_fit.json")
