"""The model of an earlier commit is today's model when it computes the same numbers: the record of its behaviour
(``tests/baseline/``) decides, not the text of ``sim/model``. Checked on repositories built here, so the history
is known."""

import subprocess

import pytest

from sim.pipeline import credibility
from sim.pipeline.study import index
from sim.runtime import model_version


class Repo:
    """A git repository with the project's layout: a rule, a posterior, data and the behaviour record."""

    def __init__(self, root):
        self.root = root
        for d in ("sim/model", "sim/data", "tests/baseline"):
            (root / d).mkdir(parents=True)
        self.git("init", "-q")

    def git(self, *args: str) -> str:
        out = subprocess.run(["git", *args], cwd=self.root, capture_output=True, text=True)
        assert out.returncode == 0, out.stderr
        return out.stdout.strip()

    def write(self, files: dict[str, str]) -> None:
        for name, text in files.items():
            (self.root / name).write_text(text)

    def commit(self, files: dict[str, str], message: str) -> str:
        self.write(files)
        self.git("add", "-A")
        self.git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", message)
        return self.git("rev-parse", "HEAD")


RULE, POSTERIOR, DATA = "sim/model/rule.py", "sim/data/posterior.csv", "sim/data/history.csv"
GOLDEN, RUNS = model_version.BEHAVIOUR_RECORD


@pytest.fixture
def repo(tmp_path, monkeypatch):
    r = Repo(tmp_path / "repo")
    monkeypatch.setattr(model_version, "REPO_ROOT", r.root)
    return r


def test_a_fit_made_before_the_record_existed_is_vouched_for_by_a_later_commit_with_its_code(repo):
    """The fit ran at a commit without a record and its posterior was committed after; the first commit that
    recorded the fit's code with that posterior speaks for it. A speed-up that leaves the record is the same
    model; a rule change that rewrites it is not, and neither is code that no record speaks for."""
    fit = repo.commit({RULE: "x = 1\n", POSTERIOR: "p1\n", DATA: "d1\n"}, "the model, calibrated here")
    repo.commit({POSTERIOR: "p2\n"}, "the fit's posterior, committed after")
    assert model_version.vouching_commit(fit) is None  # no commit holds a record yet
    assert model_version.behaviour_changed_since(fit) is False  # the same code needs none
    unrecorded = repo.commit({RULE: "x = 0\n"}, "code whose numbers were never recorded")

    recorded = repo.commit({RULE: "x = 1\n", GOLDEN: "{'T01': 1}\n", RUNS: "[1]\n"}, "the record")
    sped_up = repo.commit({RULE: "x = 1  # faster\n"}, "a speed-up: no number moves")
    assert model_version.vouching_commit(fit) == recorded
    assert model_version.behaviour_changed_since(fit) is False
    assert model_version.behaviour_changed_since(sped_up) is False
    assert credibility.model_changed_since(fit, repo.root) is False
    source = {"message": "The fit."}
    credibility._version_note(source, {"commit": fit}, "calibration", "rerun it")
    assert "computes the same numbers" in source["message"] and "may not" not in source["message"]

    repo.write({RULE: "x = 2\n", RUNS: "[2]\n"})  # a rule change, its record rewritten (uncommitted)
    for made in (fit, recorded, sped_up):
        assert model_version.behaviour_changed_since(made) is True
        assert credibility.model_changed_since(made, repo.root) is True
    assert model_version.record_moved(recorded) == [RUNS]
    assert model_version.behaviour_changed_since(repo.git("rev-parse", "HEAD")) is True

    repo.write({RULE: "x = 1  # faster\n", RUNS: "[1]\n"})  # back to the recorded model
    assert model_version.vouching_commit(unrecorded) is None
    assert model_version.behaviour_changed_since(unrecorded) is True  # code changed; no record speaks for it

    # git cannot tell: a commit this clone does not hold, or none recorded
    assert model_version.behaviour_changed_since("0" * 40) is None
    assert model_version.behaviour_changed_since(None) is None


def test_a_record_of_another_posterior_does_not_speak_for_the_code(repo):
    """Records compare code only under the same posterior: a record made at another posterior's mean cannot
    vouch for a speed-up, so the file is flagged (conservative: rerun the record)."""
    first = repo.commit(
        {RULE: "x = 1\n", POSTERIOR: "p1\n", GOLDEN: "{'T01': 1}\n", RUNS: "[1]\n"}, "recorded model"
    )
    repo.commit({RULE: "x = 1  # faster\n"}, "a speed-up")
    assert model_version.behaviour_changed_since(first) is False
    repo.commit({POSTERIOR: "p2\n", RUNS: "[5]\n"}, "a refit: the record runs at the new posterior's mean")
    assert model_version.vouching_commit(first) is None
    assert model_version.behaviour_changed_since(first) is True


def test_credibility_compares_the_data_by_content(repo):
    """The data a fit is judged against changed: the fit may not describe the model, whatever the record."""
    fit = repo.commit(
        {RULE: "x = 1\n", POSTERIOR: "p\n", DATA: "d1\n", GOLDEN: "{}\n", RUNS: "[1]\n"}, "fitted"
    )
    repo.write({POSTERIOR: "q\n"})  # a new posterior is not a new model
    assert credibility.model_changed_since(fit, repo.root) is False
    repo.write({DATA: "d2\n"})
    assert credibility.model_changed_since(fit, repo.root) is True


def test_the_study_index_says_which_change_flags_a_study(repo):
    """The index's reason names the record's file that moved, or the code no record speaks for (every commit
    since the record exists holds one for its code: ``tests/test_baseline.py`` fails otherwise)."""
    study = lambda c: {"provenance": {"git": {"commit": c}}}  # noqa: E731
    unrecorded = repo.commit({RULE: "x = 3\n", POSTERIOR: "p\n"}, "before the record existed")
    made = repo.commit({RULE: "x = 1\n", POSTERIOR: "p\n", GOLDEN: "{}\n", RUNS: "[1]\n"}, "study made")
    repo.commit({RULE: "x = 1  # faster\n"}, "a speed-up")
    assert index.model_vintage(study(made)) is None
    repo.commit({RULE: "x = 2\n", RUNS: "[2]\n"}, "a rule change")
    why = index.model_vintage(study(made))
    assert "behaviour changed" in why and RUNS in why and made[:10] in why, why
    assert "code changed" in index.model_vintage(study(unrecorded))
    assert index.model_vintage(study("0" * 40)) is None and index.model_vintage(study(None)) is None
