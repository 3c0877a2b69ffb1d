"""Layers import one way: the corpus loaders never import `mtl_bioner`, and reading corpora or results does not load
torch (checked in a fresh interpreter, where nothing else has imported it)."""

import ast
import subprocess
import sys

from utils import ROOT


def test_data_scripts_never_import_mtl_bioner():
    offenders = []
    for path in sorted((ROOT / "data_scripts").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            names = [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [f"{path.name}:{node.lineno}" for name in names if name.split(".")[0] == "mtl_bioner"]
    assert offenders == []


def test_reading_corpora_and_results_does_not_load_torch():
    code = (
        "import sys\n"
        "import data_scripts.crichton, data_scripts.registry, data_scripts.files, data_scripts.corpora\n"
        "import mtl_bioner, mtl_bioner.results, mtl_bioner.paper_tables, mtl_bioner.predictions\n"
        "print(sorted(m for m in ('torch', 'transformers') if m in sys.modules))\n"
        "mtl_bioner.BioNERTagger\n"  # the lazy attribute still resolves
        "print('torch' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == ["[]", "True"]
