"""The code every exported checkpoint carries, so that plain transformers tags with it:

    pipeline("token-classification", model=folder_or_hub_id, trust_remote_code=True)

in a process that never imported this package. `REMOTE_CODE_MODULES` lists the modules of this package that go,
`SHARED_MODULES` those of the corpus layer they need; all are copied flat beside the weights and their imports of
`data_scripts` are rewritten to relative ones (`IMPORT_REWRITES`). `remote_code_sources` refuses a module that would
import anything else of the project, so a new import cannot break the shipped code unnoticed.
"""

from __future__ import annotations

import ast
import json
import os
from pathlib import Path

import data_scripts.schemes

from .pipeline import PIPELINE_TASK, XLNetCRFTokenClassificationPipeline


HERE = Path(__file__).resolve().parent
REMOTE_CODE_MODULES = (
    "pipeline",
    "tagger",
    "onnx_backend",
    "windows",
    "precision",
    "entities",
    "alignment",
    "collator",
    "text",
)
SHARED_MODULES = {"schemes": Path(data_scripts.schemes.__file__)}
IMPORT_REWRITES = {"from data_scripts.schemes import": "from .schemes import"}
PROJECT_PACKAGES = ("mtl_bioner", "data_scripts", "modeling_xlnet_crf", "run_ner_mtl")


def _project_imports(name: str, source: str) -> list[str]:
    """Absolute imports of the project's own packages left in a module's source, or relative imports of modules
    that are not shipped."""
    shipped = {*REMOTE_CODE_MODULES, *SHARED_MODULES}
    problems = []
    for node in ast.walk(ast.parse(source, filename=f"{name}.py")):
        if isinstance(node, ast.ImportFrom) and node.level:
            if node.module and node.module.split(".")[0] not in shipped:
                problems.append(f"{name}.py:{node.lineno}: from .{node.module} (not shipped)")
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            modules = [alias.name for alias in node.names] if isinstance(node, ast.Import) else [node.module]
            problems += [
                f"{name}.py:{node.lineno}: import of {module}"
                for module in modules
                if module.split(".")[0] in PROJECT_PACKAGES
            ]
    return problems


def remote_code_sources() -> dict[str, str]:
    """File name -> source of every module a checkpoint carries, imports rewritten."""
    sources = {f"{name}.py": (HERE / f"{name}.py").read_text(encoding="utf-8") for name in REMOTE_CODE_MODULES}
    sources.update({f"{name}.py": path.read_text(encoding="utf-8") for name, path in SHARED_MODULES.items()})
    problems = []
    for file_name, source in sources.items():
        for old, new in IMPORT_REWRITES.items():
            source = source.replace(old, new)
        sources[file_name] = source
        problems += _project_imports(file_name.removesuffix(".py"), source)
    if problems:
        raise RuntimeError("the checkpoint's remote code would import the project: " + "; ".join(problems))
    return sources


def add_pipeline_code(folder: str | os.PathLike) -> list[Path]:
    """Write the pipeline's code into a checkpoint folder and declare it in its `config.json`; returns the files."""
    folder = Path(folder)
    config_path = folder / "config.json"
    if not config_path.is_file():
        raise FileNotFoundError(f"{folder} is not a checkpoint folder: config.json is missing")
    files = []
    for file_name, source in remote_code_sources().items():
        files.append(folder / file_name)
        files[-1].write_text(source, encoding="utf-8")
    config = json.loads(config_path.read_text(encoding="utf-8"))
    module = XLNetCRFTokenClassificationPipeline.__module__.rsplit(".", 1)[-1]
    config["custom_pipelines"] = {
        PIPELINE_TASK: {
            "impl": f"{module}.{XLNetCRFTokenClassificationPipeline.__name__}",
            "pt": ["AutoModelForTokenClassification"],
        }
    }
    config_path.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return files


__all__ = ["IMPORT_REWRITES", "REMOTE_CODE_MODULES", "SHARED_MODULES", "add_pipeline_code", "remote_code_sources"]
