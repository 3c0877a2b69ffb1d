"""The rooms import one way, from the floor each stands on to the floors below it:

    data_scripts, modeling_xlnet_crf          the corpora; the model (self-contained: it travels alone)
    mtl_bioner.vocabulary, mtl_bioner.machine  names and files shared by everything above
    mtl_bioner.tagging                         raw text to entities; its window path is also training's
    mtl_bioner.model_card, mtl_bioner.hub      model cards and publishing (training pushes at the end)
    mtl_bioner.training                        STL / MTL-XC / MTL-LS runs
    mtl_bioner.study                           sweeps and tables over many runs
    mtl_bioner.serving                         the tagging service and its page

Nothing imports the entry script `run_ner_mtl.py`; reading corpora or results loads no torch.
"""

import ast
import subprocess
import sys

import pytest
from utils import ROOT


FLOORS = {
    "data_scripts": 0,
    "modeling_xlnet_crf": 0,
    "mtl_bioner.vocabulary": 1,
    "mtl_bioner.machine": 1,
    "mtl_bioner.tagging": 2,
    "mtl_bioner.model_card": 3,
    "mtl_bioner.hub": 3,
    "mtl_bioner.training": 4,
    "mtl_bioner.study": 5,
    "mtl_bioner.serving": 5,
    "mtl_bioner": 6,  # the package's own __init__: public names, imported lazily
}
SOURCES = sorted(
    [*(ROOT / "mtl_bioner").rglob("*.py"), *(ROOT / "data_scripts").glob("*.py"), ROOT / "modeling_xlnet_crf.py"]
)


def module_name(path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def floor(module: str) -> int | None:
    """The floor of the longest room name that `module` is or lies in; None outside the project."""
    rooms = [room for room in FLOORS if module == room or module.startswith(room + ".")]
    return FLOORS[max(rooms, key=len)] if rooms else None


def imports(path):
    """(line, absolute module name) of every import in a file, relative ones resolved."""
    package = module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            yield from ((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            if node.module is None:  # `from . import x`: each name is a module
                yield from ((node.lineno, f"{module}.{alias.name}") for alias in node.names)
            else:
                yield node.lineno, module


def test_every_module_stands_on_a_floor():
    assert [module_name(path) for path in SOURCES if floor(module_name(path)) is None] == []


@pytest.mark.parametrize("path", SOURCES, ids=module_name)
def test_imports_never_run_up(path):
    own = floor(module_name(path))
    upward = [
        f"{path.relative_to(ROOT)}:{line} imports {module}"
        for line, module in imports(path)
        if (target := floor(module)) is not None and target > own and module_name(path) != "mtl_bioner"
    ]
    assert upward == []


def test_nothing_imports_the_entry_script():
    files = [*SOURCES, *(ROOT / "tests").rglob("*.py"), *(ROOT / "benchmarks").glob("*.py")]
    importers = [
        f"{path.relative_to(ROOT)}:{line}"
        for path in files
        if "fixtures" not in path.parts
        for line, module in imports(path)
        if module.split(".")[0] == "run_ner_mtl"
    ]
    assert importers == []


def test_reading_corpora_and_results_does_not_load_torch():
    code = (
        "import sys\n"
        "import data_scripts.crichton, data_scripts.registry, data_scripts.files, data_scripts.corpora\n"
        "import mtl_bioner, mtl_bioner.vocabulary, mtl_bioner.training.results, mtl_bioner.study.tables\n"
        "import mtl_bioner.tagging.entities, mtl_bioner.tagging.precision\n"
        "print(sorted(m for m in ('torch', 'transformers') if m in sys.modules))\n"
        "mtl_bioner.BioNERTagger\n"  # the lazy attribute still resolves
        "print('torch' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == ["[]", "True"]
