"""Corpus loaders: the Crichton corpora (`crichton`, `registry`), any tagged files (`files.load_files`), tagging
schemes (`schemes`). Imports are lazy so that `data_scripts.schemes` stays importable without `datasets`."""

from __future__ import annotations

from typing import TYPE_CHECKING


if TYPE_CHECKING:
    from .files import load_files


def __getattr__(name: str):
    if name == "load_files":
        from .files import load_files

        return load_files
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["load_files"]
