"""The schema of a corpora file (see `corpora`), checked by pydantic so that every problem is reported at once with
its key path (`corpora.my-notes.files.test: file not found: ...`).

Shapes and values are pydantic's: unknown keys, wrong types, a source key missing or doubled, tagging schemes, splits,
files and folders that must exist (paths are relative to the file, passed as the validation context `base`). What
relates one part of the file to another (a corpus named like a paper row, a group naming an unknown corpus) is checked
on the raw document and reported in the same list.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from .files import _guess_format
from .registry import GROUPS, ROWS
from .schemes import OUTSIDE, canonical_scheme


SOURCE_KEYS = ("row", "files", "hub", "saved")
DELIMITERS = {"auto": "auto", "tab": "\t", "whitespace": None}
ROW_KEYS = frozenset(row.key for row in ROWS)
Text = Annotated[str, Field(min_length=1, pattern=r"\S")]
Split = Literal["train", "validation", "test"]


def _scheme(value: str, *, allow_auto: bool) -> str:
    if allow_auto and value == "auto":
        return value
    return canonical_scheme(value)  # its ValueError names the scheme and the known ones


class _Entry(BaseModel):
    """What every corpus may say about itself, whatever its source."""

    model_config = ConfigDict(extra="forbid")

    type_map: dict[str, str | None] | None = None
    licence: Text | None = None
    license: Text | None = None
    citation: Text | None = None
    description: Text | None = None

    @field_validator("type_map")
    @classmethod
    def _type_map(cls, value: dict | None) -> dict | None:
        if value is not None and not value:
            raise ValueError("is empty, expected {native type: new type, ...}")
        if value and any(not name or not name.strip() for name in value.values() if name is not None):
            raise ValueError("a new type name is empty, expected a type name, or O / null to drop it")
        return None if value is None else {old: None if new in (None, OUTSIDE) else new for old, new in value.items()}

    @field_validator("license")
    @classmethod
    def _one_spelling(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is not None and info.data.get("licence") is not None:
            raise ValueError("given with licence, expected one of the two spellings")
        return value


class RowEntry(_Entry):
    source: ClassVar[str] = "row"
    row: str

    def location(self, base: Path) -> str:
        return self.row

    def options(self) -> dict[str, Any]:
        return {}

    @field_validator("row")
    @classmethod
    def _known(cls, value: str) -> str:
        if value not in ROW_KEYS:
            raise ValueError(f"unknown row {value!r}, expected one of {', '.join(sorted(ROW_KEYS))}")
        return value


class _Tagged(_Entry):
    """A source whose tags are read here: their scheme, and repairs of broken tag order."""

    scheme: str | None = None
    repair: bool | None = None

    @field_validator("scheme")
    @classmethod
    def _scheme(cls, value: str | None) -> str | None:
        return None if value is None else _scheme(value, allow_auto=True)


def _existing_file(value: str, info: ValidationInfo) -> str:
    """A path of the file's folder that exists, and whose format is known (from `format` or its extension)."""
    file = info.context["base"] / value
    if not value.strip() or not file.is_file():
        raise ValueError(f"file not found: {file}")
    if info.data.get("format") is None:
        try:
            _guess_format(str(file))
        except ValueError as error:  # the path is in the key path already: keep the extensions it knows
            raise ValueError(str(error).split(": ", 1)[1]) from None
    return str(file)


class FilesEntry(_Tagged):
    source: ClassVar[str] = "files"
    format: Literal["conll", "json"] | None = None  # before `files`, whose extensions it overrides
    files: dict[Split, Annotated[list[Annotated[str, AfterValidator(_existing_file)]], Field(min_length=1)]]
    delimiter: Literal["auto", "tab", "whitespace"] | None = None
    token_column: int | str | None = None
    tag_column: int | str | None = None

    @field_validator("files", mode="before")
    @classmethod
    def _listed(cls, value: Any) -> Any:
        """One path or a list of paths per split."""
        return (
            {split: paths if isinstance(paths, list) else [paths] for split, paths in value.items()}
            if isinstance(value, dict)
            else value
        )

    @field_validator("token_column", "tag_column")
    @classmethod
    def _kind(cls, value: int | str | None, info: ValidationInfo) -> int | str | None:
        """CoNLL files name columns by number, JSON files fields by name."""
        if value is None or "files" not in info.data:
            return value
        formats = {
            info.data["format"] or _guess_format(path) for paths in info.data["files"].values() for path in paths
        }
        is_json = formats == {"json"}
        if isinstance(value, bool) or isinstance(value, str) != is_json:
            expected = "a field name (JSON files)" if is_json else "a column number (CoNLL files)"
            raise ValueError(f"is {value!r}, expected {expected}")
        return value

    def location(self, base: Path) -> dict[str, list[str]]:
        return dict(self.files)

    def options(self) -> dict[str, Any]:
        options: dict[str, Any] = {"format": self.format}
        for name, field_name in (("token_column", "token_field"), ("tag_column", "tag_field")):
            value = getattr(self, name)
            if value is not None:
                options[field_name if isinstance(value, str) else name] = value
        if self.delimiter is not None:
            options["delimiter"] = DELIMITERS[self.delimiter]
        return {**options, **_tag_options(self)}


class _DatasetEntry(_Tagged):
    """A `datasets` source (the Hub, a local folder of data files, or a folder of `save_to_disk`)."""

    token_column: Text | None = None
    tag_column: Text | None = None
    splits: dict[Split, Text] | None = None

    def options(self) -> dict[str, Any]:
        options = {name: getattr(self, name) for name in ("token_column", "tag_column") if getattr(self, name)}
        if self.splits is not None:
            options["splits"] = dict(self.splits)
        return {**options, **_tag_options(self)}


class HubEntry(_DatasetEntry):
    source: ClassVar[str] = "hub"
    hub: Text
    config: Text | None = None

    def location(self, base: Path) -> str:
        return str(base / self.hub) if (base / self.hub).exists() else self.hub  # a local folder, else a Hub id

    def options(self) -> dict[str, Any]:
        return {**super().options(), **({"config": self.config} if self.config else {})}


class SavedEntry(_DatasetEntry):
    source: ClassVar[str] = "saved"
    saved: Text

    @field_validator("saved")
    @classmethod
    def _folder(cls, value: str, info: ValidationInfo) -> str:
        folder = info.context["base"] / value
        if not folder.is_dir():
            raise ValueError(f"folder not found: {folder}")
        return str(folder)

    def location(self, base: Path) -> str:
        return self.saved


def _tag_options(entry: _Tagged) -> dict[str, Any]:
    return {name: getattr(entry, name) for name in ("scheme", "repair") if getattr(entry, name) is not None}


def _source(value: Any) -> str | None:
    """Which source an entry names: exactly one of SOURCE_KEYS, else no tag (an error naming what was found)."""
    if not isinstance(value, dict):
        return None
    found = [key for key in SOURCE_KEYS if key in value]
    return found[0] if len(found) == 1 else None


Entry = Annotated[
    Annotated[RowEntry, Tag("row")]
    | Annotated[FilesEntry, Tag("files")]
    | Annotated[HubEntry, Tag("hub")]
    | Annotated[SavedEntry, Tag("saved")],
    Discriminator(
        _source,
        custom_error_type="source",
        custom_error_message=f"expected a mapping with exactly one of {', '.join(SOURCE_KEYS)}",
    ),
]


class CorporaDocument(BaseModel):
    """The whole file: corpora, groups of corpora and paper rows, and the scheme every corpus is written in."""

    model_config = ConfigDict(extra="forbid")

    output_scheme: str = "IOB2"
    corpora: dict[str, Entry] = {}
    groups: dict[str, list[str]] = {}

    @field_validator("output_scheme")
    @classmethod
    def _output_scheme(cls, value: str) -> str:
        return _scheme(value, allow_auto=False)

    @model_validator(mode="before")
    @classmethod
    def _references(cls, document: Any, info: ValidationInfo) -> Any:
        """What relates parts of the file (reported beside pydantic's own problems, through the context)."""
        problems = info.context["problems"]
        if not isinstance(document, dict):
            return document
        if "corpora" not in document and "groups" not in document:
            problems.append("(file): has neither corpora nor groups, expected at least one")
        corpora = document.get("corpora") if isinstance(document.get("corpora"), dict) else {}
        for key, entry in corpora.items():
            source = _source(entry)
            if source and source != "row" and key in ROW_KEYS:
                problems.append(f"corpora.{key}: {key!r} is the name of a paper row, expected another name")
            if source == "row" and key in ROW_KEYS and entry["row"] != key:
                problems.append(f"corpora.{key}.row: corpus {key!r} (a paper row's name) is row {entry['row']!r}")
            splits = (
                entry.get("files" if source == "files" else "splits") if source in ("files", "hub", "saved") else None
            )
            for split in ("train", "test"):
                if isinstance(splits, dict) and split not in splits:
                    where = f"corpora.{key}.{'files' if source == 'files' else 'splits'}"
                    problems.append(f"{where}: has no {split} split, expected train and test at least")
        groups = document.get("groups") if isinstance(document.get("groups"), dict) else {}
        for name, members in groups.items():
            where = f"groups.{name}"
            if name in GROUPS:
                problems.append(f"{where}: {name!r} is a paper group, expected another name")
            if not isinstance(members, list) or not members:
                problems.append(f"{where}: is {members!r}, expected a non-empty list of corpus names")
                continue
            seen = set()
            for index, member in enumerate(members):
                if not isinstance(member, str) or (member not in corpora and member not in ROW_KEYS):
                    problems.append(
                        f"{where}[{index}]: unknown corpus {member!r}, expected a corpus of this file or a paper row"
                    )
                elif member in seen:
                    problems.append(f"{where}[{index}]: {member!r} is listed twice, expected each corpus once")
                seen.add(member)
        return document


def check_document(document: Any, base: Path) -> tuple[CorporaDocument | None, list[str]]:
    """The checked document (None when it has problems) and every problem as `<key path>: <problem>`."""
    problems: list[str] = []
    try:
        checked = CorporaDocument.model_validate(document or {}, context={"base": base, "problems": problems})
    except ValidationError as error:
        return None, problems + [_problem(detail) for detail in error.errors(include_url=False)]
    return (checked if not problems else None), problems


def _problem(detail: dict) -> str:
    """A pydantic error as `<key path>: <message>`: source tags out of the path, lists as [index]."""
    path = ""
    for index, part in enumerate(detail["loc"]):
        if part in SOURCE_KEYS and index == 2 and detail["loc"][0] == "corpora":
            continue  # the union's tag, not a key of the file
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    message = detail["msg"].removeprefix("Value error, ")
    if detail["type"] == "extra_forbidden":
        message = "unknown key"
    path = path.replace(".[key]", "")
    return f"{path or '(file)'}: {message}"


__all__ = [
    "DELIMITERS",
    "SOURCE_KEYS",
    "CorporaDocument",
    "FilesEntry",
    "HubEntry",
    "RowEntry",
    "SavedEntry",
    "check_document",
]
