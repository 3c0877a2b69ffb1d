"""Fixtures of the study tests: the training command replaced by `study_helpers.fake_run`."""

import pytest
from study_helpers import fake_run

from mtl_bioner.study import launch


@pytest.fixture
def fake_runner(monkeypatch):
    calls = []

    def main(argv):
        calls.append(list(argv))
        return fake_run(argv)

    monkeypatch.setattr(launch, "train", main)
    return calls


@pytest.fixture
def corpora_runner(fake_runner, monkeypatch):
    """fake_runner for runs over a corpora file: a --group of the file trains its members, as the training command reads it."""
    from data_scripts.corpora import read_corpora_file

    def main(argv):
        fake_runner.append(list(argv))
        argv = list(argv)
        if "--group" in argv:
            at = argv.index("--group")
            corpora_file = read_corpora_file(argv[argv.index("--corpora") + 1])
            argv[at : at + 2] = ["--datasets", ",".join(corpora_file.group_members(argv[at + 1]))]
        return fake_run(argv)

    monkeypatch.setattr(launch, "train", main)
    return fake_runner
