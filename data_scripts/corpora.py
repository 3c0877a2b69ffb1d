"""A corpora file: the user's own corpora next to the paper's rows, and groups of them to train together.

    output_scheme: IOB2            # optional: the tags every corpus is written in (BIOES for crf_constraints BIOES)
    corpora:
      my-notes:                    # a folder of tagged files (paths are relative to this file)
        files: {train: notes/train.iobes, validation: notes/dev.iobes, test: notes/test.iobes}
        scheme: IOBES              # optional, detected per file by default
        type_map: {SpecificDisease: Disease, Modifier: Disease}
        licence: CC BY 4.0
        citation: "Me et al. My notes. 2026."
      conll-like:                  # a Hub dataset (or a local folder load_dataset reads), conll2003-style
        hub: org/my-ner
        config: default
        splits: {validation: dev}
      saved:                       # a folder written by save_to_disk
        saved: data/my-saved
        tag_column: tags
      ncbi:                        # a paper row, e.g. with its own type map
        row: NCBI-disease
    groups:
      my-group: [NCBI-disease, my-notes]   # paper rows and corpora of this file

`read_corpora_file` checks the whole file before anything is loaded (`corpora_schema`, with pydantic) and reports
every problem with its key path (`corpora.my-notes.files.test[0]: file not found: ...`). Loading goes through `registry.load_group`, so paper rows and
user corpora are read, converted to `output_scheme` and unified the same way.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import datasets
import yaml

from .corpora_schema import check_document
from .crichton import CorpusFormatError, CorpusUnavailableError
from .files import load_files, load_tagged_dataset
from .registry import GROUPS, ROWS, UserCorpus, get_row, load_group, load_row


DEFAULT_GROUP = "other"


class CorporaFileError(ValueError):
    """Every problem of a corpora file, each as `<key path>: <problem>`."""

    def __init__(self, path: str | os.PathLike, problems: list[str]):
        self.path = os.fspath(path)
        self.problems = problems
        super().__init__(f"{self.path}: {len(problems)} problem(s):\n" + "\n".join(f"  {p}" for p in problems))


@dataclass(frozen=True)
class CorpusEntry:
    """One corpus of a corpora file: where it comes from, how to read it, and what to say about it."""

    key: str
    source: str  # row, files, hub or saved
    location: Any  # row key, {split: [absolute paths]}, Hub id or local folder, saved folder
    options: Mapping[str, Any] = field(default_factory=dict)
    type_map: Mapping[str, str | None] | None = None
    license: str | None = None
    citation: str | None = None
    description: str | None = None
    group: str = DEFAULT_GROUP

    def load(
        self,
        data_dir: str | os.PathLike | None,
        *,
        unify: bool,
        output_scheme: str,
        cache_dir: str | os.PathLike | None = None,
    ) -> datasets.DatasetDict:
        """The corpus as `tokens` and `ner_tags` in `output_scheme`. A paper row is unified as `load_row` does unless
        the entry has its own `type_map`; a user corpus's types are those of its `type_map` (or as written)."""
        try:
            if self.source == "row":
                return load_row(
                    self.location,
                    data_dir,
                    unify=unify,
                    cache_dir=cache_dir,
                    output_scheme=output_scheme,
                    type_map=self.type_map,
                )
            if self.source == "files":
                return load_files(self.location, output_scheme=output_scheme, type_map=self.type_map, **self.options)
            return load_tagged_dataset(
                self.location,
                from_disk=self.source == "saved",
                output_scheme=output_scheme,
                type_map=self.type_map,
                **self.options,
            )
        except (ValueError, FileNotFoundError) as error:
            if type(error) not in (ValueError, FileNotFoundError, CorpusFormatError, CorpusUnavailableError):
                raise
            raise type(error)(f"corpora.{self.key}: {error}") from error

    def describe(self) -> UserCorpus:
        """What tables and model cards say: a row entry keeps the row's group, licence and citation unless given."""
        row = get_row(self.location) if self.source == "row" else None
        return UserCorpus(
            key=self.key,
            group=row.group if row else self.group,
            dataset=self.key,
            license=self.license or (row.license if row else None),
            citation=self.citation or (row.citation if row else None),
            attribution=row.attribution if row else None,
            description=self.description,
            source=row.source if row else self.location if self.source == "hub" else None,
        )


@dataclass(frozen=True)
class CorporaFile:
    """A checked corpora file: its corpora, its groups and the output scheme of every corpus."""

    path: Path
    corpora: Mapping[str, CorpusEntry]
    groups: Mapping[str, tuple[str, ...]]
    output_scheme: str = "IOB2"

    def group_members(self, group: str) -> list[str]:
        """Members of a group of this file, else of a paper group; the error lists both."""
        if group in self.groups:
            return list(self.groups[group])
        if group in GROUPS:
            return list(GROUPS[group])
        raise ValueError(
            f"--group {group!r} is neither a group of {self.path} ({', '.join(self.groups) or 'none'}) nor a paper "
            f"group ({', '.join(GROUPS)})"
        )

    def describe(self, names: Iterable[str]) -> dict[str, UserCorpus]:
        """What tables and model cards say about the corpora of this file among `names` (paper rows are left out)."""
        return {name: self.corpora[name].describe() for name in names if name in self.corpora}

    def check_names(self, names: Iterable[str]) -> list[str]:
        """The names, each a corpus of this file or a paper row; the error names every unknown one."""
        names = list(names)
        known = {row.key for row in ROWS} | set(self.corpora)
        unknown = [name for name in names if name not in known]
        if unknown:
            raise ValueError(
                f"unknown corpora {unknown}: expected corpora of {self.path} ({', '.join(self.corpora) or 'none'}) "
                f"or paper rows ({', '.join(row.key for row in ROWS)})"
            )
        return names

    def load(
        self,
        names: Iterable[str],
        data_dir: str | os.PathLike | None = None,
        *,
        unify: bool = True,
        skip_unavailable: bool = False,
        cache_dir: str | os.PathLike | None = None,
    ) -> dict[str, datasets.DatasetDict]:
        """Load paper rows and corpora of this file by name."""
        names = self.check_names(names)
        return load_group(
            names,
            data_dir,
            unify=unify,
            skip_unavailable=skip_unavailable,
            cache_dir=cache_dir,
            output_scheme=self.output_scheme,
            corpora=self.corpora,
        )


def read_corpora_file(path: str | os.PathLike) -> CorporaFile:
    """Read and check a YAML or JSON corpora file; `CorporaFileError` lists every problem with its key path."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"corpora file {path} not found")
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() == ".json":
        try:
            document = json.loads(text)
        except json.JSONDecodeError as error:
            raise CorporaFileError(path, [f"(file): not valid JSON ({error})"]) from None
    else:
        try:
            document = yaml.safe_load(text)
        except yaml.YAMLError as error:
            raise CorporaFileError(path, [f"(file): not valid YAML ({error})"]) from None
    checked, problems = check_document(document, path.parent)
    if problems:
        raise CorporaFileError(path, problems)
    membership: dict[str, str] = {}
    for name, members in checked.groups.items():
        for member in members:
            membership.setdefault(member, name)
    corpora = {
        key: CorpusEntry(
            key=key,
            source=entry.source,
            location=entry.location(path.parent),
            options=entry.options(),
            type_map=entry.type_map,
            license=entry.licence or entry.license,
            citation=entry.citation,
            description=entry.description,
            group=membership.get(key, DEFAULT_GROUP),
        )
        for key, entry in checked.corpora.items()
    }
    groups = {name: tuple(members) for name, members in checked.groups.items()}
    return CorporaFile(path, corpora, groups, checked.output_scheme)


def resolve_datasets(group: str | None, names: str | None, corpora: str | os.PathLike | None = None) -> list[str]:
    """The datasets a command names, by `group` or by comma-separated `names` (exactly one of the two): paper groups
    and rows, and with a `corpora` file also its groups and corpora. Errors name every unknown one, and the file."""
    if bool(group) == bool(names):
        raise ValueError("give exactly one of --datasets (comma-separated rows or corpora) or --group")
    corpora_file = read_corpora_file(corpora) if corpora else None
    if group:
        if corpora_file is not None:
            return corpora_file.group_members(group)
        if group not in GROUPS:
            raise ValueError(
                f"--group {group!r} is not one of the paper groups {sorted(GROUPS)}; a group of a corpora file needs "
                "--corpora FILE"
            )
        return list(GROUPS[group])
    listed = [name.strip() for name in names.split(",") if name.strip()]
    if corpora_file is not None:
        corpora_file.check_names(listed)
    else:
        for name in listed:
            get_row(name)  # raises with the list of valid rows
    if not listed or len(set(listed)) != len(listed):
        raise ValueError(f"--datasets {names!r} must name distinct rows or corpora")
    return listed


def check_one_label_set(labels: Mapping[str, Sequence[str]]) -> None:
    """MTL-XC shares one CRF: every corpus must speak the same labels (`labels`: each corpus's label names). The
    error lists each corpus's labels."""
    labels = {name: tuple(names) for name, names in labels.items()}
    if len(set(labels.values())) > 1:
        listing = "; ".join(f"{name}: {', '.join(names)}" for name, names in labels.items())
        raise ValueError(
            f"MTL-XC shares one CRF, so its corpora need one label set, got {listing}. Give user corpora a type_map "
            "onto the same types (paper rows speak Chemical, Disease, Gene or Species) and one output_scheme"
        )


__all__ = [
    "CorporaFile",
    "CorporaFileError",
    "CorpusEntry",
    "check_one_label_set",
    "read_corpora_file",
    "resolve_datasets",
]
