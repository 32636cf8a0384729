"""Where the project's folders are (one definition for every wing)."""

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_ROOT = PACKAGE_DIR.parent
DATA_DIR = PACKAGE_DIR / "data"
CONFIG_DIR = REPO_ROOT / "configs"
DOCS_DIR = REPO_ROOT / "docs"
RESULTS_DIR = REPO_ROOT / "results"
POSTERIOR_CSV = DATA_DIR / "posterior.csv"
