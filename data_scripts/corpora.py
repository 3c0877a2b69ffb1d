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

`read_corpora_file` checks the whole file before anything is loaded and reports every problem with its key path
(`corpora.my-notes.files.test: file not found: ...`). Loading goes through `registry.load_group`, so paper rows and
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

from .crichton import CorpusFormatError, CorpusUnavailableError
from .files import FORMATS, SPLITS, _guess_format, load_files, load_tagged_dataset
from .registry import GROUPS, ROWS, UserCorpus, get_row, load_group, load_row
from .schemes import OUTSIDE, canonical_scheme


SOURCE_KEYS = ("row", "files", "hub", "saved")
COMMON_KEYS = ("type_map", "licence", "license", "citation", "description")
KEYS_BY_SOURCE: dict[str, tuple[str, ...]] = {
    "row": (),
    "files": ("scheme", "format", "token_column", "tag_column", "delimiter", "repair"),
    "hub": ("config", "splits", "scheme", "token_column", "tag_column", "repair"),
    "saved": ("splits", "scheme", "token_column", "tag_column", "repair"),
}
TOP_KEYS = ("corpora", "groups", "output_scheme")
DELIMITERS = {"auto": "auto", "tab": "\t", "whitespace": None}
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
    source: str  # one of SOURCE_KEYS
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
    checker = _Checker(path.parent)
    corpora_file = checker.document(path, document)
    if checker.problems:
        raise CorporaFileError(path, checker.problems)
    return corpora_file


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


class _Checker:
    """Collects every problem of a corpora file while building its `CorporaFile`."""

    def __init__(self, base: Path):
        self.base = base
        self.problems: list[str] = []

    def problem(self, where: str, message: str) -> None:
        self.problems.append(f"{where}: {message}")

    def mapping(self, where: str, value: Any) -> dict:
        if not isinstance(value, dict):
            self.problem(where, f"is {_shown(value)}, expected a mapping")
            return {}
        return value

    def string(self, where: str, value: Any) -> str | None:
        if not isinstance(value, str) or not value.strip():
            self.problem(where, f"is {_shown(value)}, expected a non-empty string")
            return None
        return value

    def unknown_keys(self, where: str, values: Mapping, allowed: Iterable[str]) -> None:
        allowed = tuple(allowed)
        for key in values:
            if key not in allowed:
                self.problem(
                    f"{where}.{key}" if where else str(key), f"unknown key, expected one of {', '.join(allowed)}"
                )

    def document(self, path: Path, document: Any) -> CorporaFile:
        if document is None:
            document = {}
        if not isinstance(document, dict):
            self.problem("(file)", f"is {_shown(document)}, expected a mapping with corpora and groups")
            document = {}
        self.unknown_keys("", document, TOP_KEYS)
        if "corpora" not in document and "groups" not in document:
            self.problem("(file)", "has neither corpora nor groups, expected at least one")
        output_scheme = "IOB2"
        if "output_scheme" in document:
            output_scheme = self.scheme("output_scheme", document["output_scheme"], allow_auto=False) or "IOB2"
        raw_corpora = self.mapping("corpora", document.get("corpora", {}))
        raw_groups = self.mapping("groups", document.get("groups", {}))
        groups = {
            name: self.group(f"groups.{name}", name, members, raw_corpora) for name, members in raw_groups.items()
        }
        membership: dict[str, str] = {}
        for name, members in groups.items():
            for member in members:
                membership.setdefault(member, name)
        corpora = {}
        for key, entry in raw_corpora.items():
            corpus = self.corpus(f"corpora.{key}", str(key), entry, membership.get(key, DEFAULT_GROUP))
            if corpus is not None:
                corpora[str(key)] = corpus
        return CorporaFile(path, corpora, groups, output_scheme)

    def group(self, where: str, name: Any, members: Any, corpora: Mapping) -> tuple[str, ...]:
        if name in GROUPS:
            self.problem(where, f"{name!r} is a paper group, expected another name")
        if not isinstance(members, list) or not members:
            self.problem(where, f"is {_shown(members)}, expected a non-empty list of corpus names")
            return ()
        rows = {row.key for row in ROWS}
        checked = []
        for index, member in enumerate(members):
            if not isinstance(member, str) or (member not in corpora and member not in rows):
                self.problem(
                    f"{where}[{index}]",
                    f"unknown corpus {_shown(member)}, expected a corpus of this file or a paper row",
                )
            elif member in checked:
                self.problem(f"{where}[{index}]", f"{member!r} is listed twice, expected each corpus once")
            else:
                checked.append(member)
        return tuple(checked)

    def corpus(self, where: str, key: str, entry: Any, group: str) -> CorpusEntry | None:
        entry = self.mapping(where, entry)
        if not entry:
            if isinstance(entry, dict):
                self.problem(where, f"is empty, expected one of {', '.join(SOURCE_KEYS)}")
            return None
        sources = [name for name in SOURCE_KEYS if name in entry]
        if len(sources) != 1:
            found = ", ".join(sources) or "none"
            self.problem(where, f"has {found}, expected exactly one of {', '.join(SOURCE_KEYS)}")
            return None
        source = sources[0]
        self.unknown_keys(where, entry, (source, *KEYS_BY_SOURCE[source], *COMMON_KEYS))
        if "licence" in entry and "license" in entry:
            self.problem(f"{where}.license", "given with licence, expected one of the two spellings")
        texts = {}
        for name in ("licence", "license", "citation", "description"):
            if name in entry:
                texts[name] = self.string(f"{where}.{name}", entry[name])
        type_map = self.type_map(f"{where}.type_map", entry["type_map"]) if "type_map" in entry else None
        location = self.location(where, key, source, entry)
        options = self.options(where, source, entry)
        if location is None or options is None:
            return None
        return CorpusEntry(
            key=key,
            source=source,
            location=location,
            options=options,
            type_map=type_map,
            license=texts.get("licence") or texts.get("license"),
            citation=texts.get("citation"),
            description=texts.get("description"),
            group=group,
        )

    def location(self, where: str, key: str, source: str, entry: Mapping) -> Any:
        value = entry[source]
        where = f"{where}.{source}"
        rows = {row.key for row in ROWS}
        if source != "row" and key in rows:
            self.problem(where.rsplit(".", 1)[0], f"{key!r} is the name of a paper row, expected another name")
        if source == "row":
            if not isinstance(value, str) or value not in rows:
                self.problem(where, f"unknown row {_shown(value)}, expected one of {', '.join(sorted(rows))}")
                return None
            if key in rows and key != value:
                self.problem(where, f"corpus {key!r} (a paper row's name) is row {value!r}, expected row: {key}")
            return value
        if source == "files":
            return self.files(where, value, entry.get("format"))
        name = self.string(where, value)
        if name is None:
            return None
        if source == "saved":
            folder = self.base / name
            if not folder.is_dir():
                self.problem(where, f"folder not found: {folder}")
                return None
            return str(folder)
        local = self.base / name
        return str(local) if local.exists() else name  # a local folder of data files, else a Hub id

    def files(self, where: str, value: Any, format: Any) -> dict[str, list[str]] | None:
        splits = self.mapping(where, value)
        if not splits:
            if isinstance(value, dict):
                self.problem(where, "is empty, expected {train: ..., test: ...}")
            return None
        for split in ("train", "test"):
            if split not in splits:
                self.problem(where, f"has no {split} split, expected train and test at least")
        resolved: dict[str, list[str]] = {}
        for split, paths in splits.items():
            split_where = f"{where}.{split}"
            if split not in SPLITS:
                self.problem(split_where, f"unknown split, expected one of {', '.join(SPLITS)}")
                continue
            items = paths if isinstance(paths, list) else [paths]
            if not items:
                self.problem(split_where, "is an empty list, expected a path or a list of paths")
            resolved[split] = []
            for index, item in enumerate(items):
                item_where = split_where if not isinstance(paths, list) else f"{split_where}[{index}]"
                if not isinstance(item, str) or not item.strip():
                    self.problem(item_where, f"is {_shown(item)}, expected a path")
                    continue
                file = self.base / item
                if not file.is_file():
                    self.problem(item_where, f"file not found: {file}")
                    continue
                if format is None:
                    try:
                        _guess_format(str(file))
                    except ValueError as error:
                        self.problem(item_where, str(error).split(": ", 1)[1])
                resolved[split].append(str(file))
        return resolved

    def options(self, where: str, source: str, entry: Mapping) -> dict | None:
        options: dict[str, Any] = {}
        if "scheme" in entry:
            scheme = self.scheme(f"{where}.scheme", entry["scheme"], allow_auto=True)
            if scheme is not None:
                options["scheme"] = scheme
        if "repair" in entry:
            if not isinstance(entry["repair"], bool):
                self.problem(f"{where}.repair", f"is {_shown(entry['repair'])}, expected true or false")
            else:
                options["repair"] = entry["repair"]
        if source == "files":
            file_format = entry.get("format")
            if file_format is not None and file_format not in FORMATS:
                self.problem(f"{where}.format", f"is {_shown(file_format)}, expected one of {', '.join(FORMATS)}")
            options["format"] = file_format
            is_json = file_format == "json" or (
                file_format is None
                and all(_guess_format_or_none(path) == "json" for path in _all_paths(entry.get("files")))
            )
            for name, field_name in (("token_column", "token_field"), ("tag_column", "tag_field")):
                if name not in entry:
                    continue
                value = entry[name]
                if is_json and isinstance(value, str) and value:
                    options[field_name] = value
                elif not is_json and isinstance(value, int) and not isinstance(value, bool):
                    options[name] = value
                else:
                    expected = "a field name (JSON files)" if is_json else "a column number (CoNLL files)"
                    self.problem(f"{where}.{name}", f"is {_shown(value)}, expected {expected}")
            if "delimiter" in entry:
                if entry["delimiter"] not in DELIMITERS:
                    self.problem(
                        f"{where}.delimiter",
                        f"is {_shown(entry['delimiter'])}, expected one of {', '.join(DELIMITERS)}",
                    )
                else:
                    options["delimiter"] = DELIMITERS[entry["delimiter"]]
            return options
        for name in ("token_column", "tag_column", "config"):
            if name in entry:
                value = self.string(f"{where}.{name}", entry[name])
                if value is not None:
                    options[name] = value
        if "splits" in entry:
            splits = self.mapping(f"{where}.splits", entry["splits"])
            for split, source_split in splits.items():
                if split not in SPLITS:
                    self.problem(f"{where}.splits.{split}", f"unknown split, expected one of {', '.join(SPLITS)}")
                self.string(f"{where}.splits.{split}", source_split)
            for split in ("train", "test"):
                if splits and split not in splits:
                    self.problem(f"{where}.splits", f"has no {split} split, expected train and test at least")
            options["splits"] = splits
        return options

    def scheme(self, where: str, value: Any, *, allow_auto: bool) -> str | None:
        if allow_auto and value == "auto":
            return "auto"
        try:
            if not isinstance(value, str):
                raise ValueError(f"Unknown tagging scheme {value!r}, expected a name such as IOB2 or BIOES")
            return canonical_scheme(value)
        except ValueError as error:
            self.problem(where, f"{error}{' or auto' if allow_auto else ''}")
            return None

    def type_map(self, where: str, value: Any) -> dict[str, str | None] | None:
        mapping = self.mapping(where, value)
        if not mapping:
            if isinstance(value, dict):
                self.problem(where, "is empty, expected {native type: new type, ...}")
            return None
        checked = {}
        for native, target in mapping.items():
            if not isinstance(native, str) or not native:
                self.problem(where, f"key {_shown(native)} is not a type name, expected a string")
            elif target is not None and (not isinstance(target, str) or not target):
                self.problem(f"{where}.{native}", f"is {_shown(target)}, expected a type name, or O / null to drop it")
            else:
                checked[native] = None if target in (None, OUTSIDE) else target
        return checked


def _all_paths(files: Any) -> list[str]:
    if not isinstance(files, dict):
        return []
    paths = []
    for value in files.values():
        paths += [item for item in (value if isinstance(value, list) else [value]) if isinstance(item, str)]
    return paths


def _guess_format_or_none(path: str) -> str | None:
    try:
        return _guess_format(path)
    except ValueError:
        return None


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


__all__ = [
    "CorporaFile",
    "CorporaFileError",
    "CorpusEntry",
    "check_one_label_set",
    "read_corpora_file",
    "resolve_datasets",
]
