"""The wheel works outside the checkout: built from a copy of the sources, installed into a fresh environment, it
imports every top-level module, tags text with `bioner-tag` and writes a model card from its packaged template.

The fresh environment gets the test environment's third-party packages through a path file (their `.pth` hooks, the
editable install of this checkout among them, are not run), so nothing is downloaded and nothing of the checkout is
importable in it."""

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest
from utils import ROOT, TOY_TEXT


SOURCES = ("setup.cfg", "pyproject.toml", "README.md", "LICENSE", "modeling_xlnet_crf.py", "run_ner_mtl.py")
PACKAGES = ("mtl_bioner", "data_scripts")


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """(python of a fresh environment holding only the wheel, a folder outside the checkout)."""
    work = tmp_path_factory.mktemp("wheel")
    source = work / "source"
    source.mkdir()
    for name in SOURCES:
        shutil.copy(ROOT / name, source / name)
    for package in PACKAGES:
        shutil.copytree(ROOT / package, source / package, ignore=shutil.ignore_patterns("__pycache__"))
    wheels = work / "wheels"
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "wheel", str(source), "--no-deps", "--no-build-isolation", "-w", str(wheels)], check=True)
    (wheel,) = wheels.glob("xlnet_crf_mtl-*.whl")
    environment = work / "env"
    venv.create(environment, with_pip=False)
    python = environment / "bin" / "python"
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    Path(site, "test-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run([*pip, "--python", str(python), "install", "--no-deps", str(wheel)], check=True)
    outside = work / "elsewhere"
    outside.mkdir()
    return python, outside


def run_in(installed, *command, **options):
    python, outside = installed
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH",)}
    env["PATH"] = f"{python.parent}{os.pathsep}{env['PATH']}"
    completed = subprocess.run(
        list(command), cwd=outside, env=env, capture_output=True, text=True, timeout=300, **options
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    return completed.stdout


def test_the_wheel_imports_from_its_own_environment(installed):
    python, _ = installed
    code = (
        "import json, modeling_xlnet_crf, run_ner_mtl, mtl_bioner, data_scripts, mtl_bioner.model_card as card\n"
        "print(json.dumps([m.__file__ for m in (modeling_xlnet_crf, run_ner_mtl, mtl_bioner, data_scripts)]))\n"
        "from mtl_bioner.training.metrics import ENTITY_F1_METRIC\n"
        "print(card.TEMPLATE_PATH.is_file() and (ENTITY_F1_METRIC / 'entity_f1.py').is_file())\n"
    )
    files, package_data = run_in(installed, str(python), "-c", code).splitlines()
    environment = str(python.parent.parent)
    assert all(path.startswith(environment) for path in json.loads(files)), files
    assert package_data == "True"  # the card template and the evaluate metric module travel with the package


def test_bioner_tag_runs_from_the_wheel(installed, tiny_model_dir):
    from mtl_bioner import BioNERTagger

    output = run_in(installed, "bioner-tag", "--model", str(tiny_model_dir), "--no_progress", input=TOY_TEXT)
    expected = BioNERTagger.from_pretrained(tiny_model_dir, device="cpu")(TOY_TEXT)
    assert json.loads(output)["entities"] == json.loads(json.dumps(expected))


def test_a_model_card_from_the_packaged_template(installed, tiny_model_dir, tmp_path):
    python, _ = installed
    run = tmp_path / "run"
    shutil.copytree(tiny_model_dir, run / "export" / "NCBI-disease")
    config = {"mode": "stl", "datasets": ["NCBI-disease"], "train_sets": {"NCBI-disease": ["NCBI-disease"]}}
    (run / "run_config.json").write_text(json.dumps(config))
    code = (
        "import sys\n"
        "from mtl_bioner.model_card import build_model_card\n"
        "print(build_model_card(sys.argv[1] + '/export/NCBI-disease', sys.argv[1], 'NCBI-disease'))\n"
    )
    card = run_in(installed, str(python), "-c", code, str(run))
    assert "license: cc-by-4.0" in card and "NCBI-disease" in card and "trained from scratch" in card
