"""CoNLL-style column files read line by line: one word per line, a blank line between sentences. The one column
reader of the project (the Crichton builder and `files.load_files` both use it); every problem is a
`CorpusFormatError` naming the file and line."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from typing import NamedTuple

from .schemes import TagSchemeError, repair_tags, validate_tags
from .textio import decoded_lines


DOCSTART = "-DOCSTART-"


class CorpusFormatError(ValueError):
    """A corpus file breaks its format; the message is `<file>:<line>: <problem>, expected <what>`."""


CrichtonFormatError = CorpusFormatError


class ConllSentence(NamedTuple):
    """One sentence of a column file: tokens, tag strings as written, and the 1-based line of each word."""

    tokens: list[str]
    tags: list[str]
    lines: list[int]


def read_conll(
    path: str | os.PathLike,
    *,
    token_column: int = 0,
    tag_column: int = -1,
    delimiter: str | None = "\t",
    columns: int | None = None,
) -> Iterator[ConllSentence]:
    """Yield the sentences of a CoNLL-style column file, checking the layout line by line.

    One word per line, a blank line between sentences. `delimiter` is `"\\t"`, `None` (any run of whitespace) or
    `"auto"` (tab if the first word line has one, else whitespace); every word line must have `columns` fields (by
    default as many as the first). Bytes are decoded per line, so a non-UTF-8 byte is an error naming its line; CRLF
    and a UTF-8 BOM are accepted. `-DOCSTART-` lines are document markers and are skipped, as is a `#` line between
    sentences whose tag column does not look like a tag (a comment; `#<TAB>O` is a word). Tags are returned as
    written: checking them against a scheme is `checked_tags`'s job.
    """
    path = os.fspath(path)
    tokens: list[str] = []
    tags: list[str] = []
    lines: list[int] = []
    num_sentences = 0
    with open(path, "rb") as handle:
        for line_number, line, problem in decoded_lines(handle):
            where = f"{path}:{line_number}"
            if problem is not None:
                raise CorpusFormatError(f"{where}: {problem}, expected UTF-8 text")
            if not line.strip():
                if tokens:
                    yield ConllSentence(tokens, tags, lines)
                    num_sentences += 1
                tokens, tags, lines = [], [], []
                continue
            if delimiter == "auto":
                delimiter = "\t" if "\t" in line else None
            fields = line.split(delimiter)
            if line.startswith("#") and not tokens and not _looks_like_word_line(fields, columns, tag_column):
                continue
            kind = "tab-separated" if delimiter == "\t" else "whitespace-separated"
            if columns is None:
                columns = len(fields)
                for name, index in (("token", token_column), ("tag", tag_column)):
                    if not -columns <= index < columns:
                        raise CorpusFormatError(
                            f"{where}: {name} column {index} is out of range for the {columns} {kind} field(s) of "
                            f"{line!r}, expected a column index from {-columns} to {columns - 1}"
                        )
            if len(fields) != columns:
                raise CorpusFormatError(
                    f"{where}: found {len(fields)} {kind} field(s) in {line!r}, expected {columns} "
                    f"(as on every word line{' of this file' if num_sentences or tokens else ''})"
                )
            token, tag = fields[token_column], fields[tag_column]
            if token == DOCSTART:
                if tokens:
                    raise CorpusFormatError(f"{where}: {DOCSTART} inside a sentence, expected it after a blank line")
                continue
            if not token:
                raise CorpusFormatError(f"{where}: empty token in {line!r}, expected a non-empty token")
            tokens.append(token)
            tags.append(tag)
            lines.append(line_number)
    if tokens:
        yield ConllSentence(tokens, tags, lines)
        num_sentences += 1
    if num_sentences == 0:
        expected = "token<TAB>tag" if delimiter == "\t" else "word"
        raise CorpusFormatError(f"{path}:1: empty file, expected at least one {expected} line")


def checked_tags(
    path: str | os.PathLike,
    sentence: ConllSentence,
    scheme: str,
    *,
    repair: bool = False,
    repair_option: str = "repair",
    record: bool = False,
) -> list[str]:
    """The sentence's tags, validated in `scheme` (or, with `repair`, put in its order by `repair_tags`).

    A violation is a `CorpusFormatError` naming the file and the word's line (and the word's number in the record
    when `record`, for JSON files with one record per sentence); order violations name `repair_option` as the fix.
    """
    try:
        validate_tags(sentence.tags, scheme)
        return list(sentence.tags)
    except TagSchemeError as error:
        violation = error
    try:
        repaired = repair_tags(sentence.tags, scheme)  # raises only on a tag foreign to the scheme
    except TagSchemeError as error:
        raise CorpusFormatError(f"{locate(path, sentence, error.position, record)}: {error.message}") from None
    if repair:
        return repaired
    raise CorpusFormatError(
        f"{locate(path, sentence, violation.position, record)}: {violation.message}; pass {repair_option}=True to "
        "repair the order as conlleval reads it"
    )


def locate(path: str | os.PathLike, sentence: ConllSentence, position: int, record: bool = False) -> str:
    """`<file>:<line>` of a word, plus its number within the record for JSON records."""
    where = f"{os.fspath(path)}:{sentence.lines[position]}"
    return f"{where} (word {position + 1} of the record)" if record else where


_TAG_SHAPE = re.compile(r"O|[BIESLU](-.+)?")


def _looks_like_word_line(fields: list[str], columns: int | None, tag_column: int) -> bool:
    if columns is not None and len(fields) != columns:
        return False
    return -len(fields) <= tag_column < len(fields) and _TAG_SHAPE.fullmatch(fields[tag_column]) is not None


__all__ = [
    "DOCSTART",
    "ConllSentence",
    "CorpusFormatError",
    "CrichtonFormatError",
    "checked_tags",
    "locate",
    "read_conll",
]
