"""Fixtures of the end-to-end training tests."""

import pytest
from utils import run_training, tiny_run_arguments


@pytest.fixture(scope="session")
def mtl_xc_run(tmp_path_factory, fixture_corpora, fixture_tokenizer_dir):
    """A finished tiny MTL-XC run: the model MTL-LS runs start from."""
    output = tmp_path_factory.mktemp("runs") / "mtl-xc"
    run_training(tiny_run_arguments(output, fixture_corpora, fixture_tokenizer_dir, "mtl-xc"))
    return output
