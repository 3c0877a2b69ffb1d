"""Reading bytes as text with the line of every problem: UTF-8 decoding line by line, and JSON values (a top-level
array, a BioC collection) one at a time from a stream of any size. The corpus loaders and `bioner-tag`'s readers both
name the line of a bad byte or a bad value with these."""

from __future__ import annotations

import codecs
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any


BOM = "\ufeff"
READ_BLOCK = 1 << 16


class TextFormatError(ValueError):
    """A problem at a line of a text stream; callers add the file's name."""

    def __init__(self, line: int, reason: str):
        self.line, self.reason = line, reason
        super().__init__(f"line {line}: {reason}")


@dataclass(frozen=True)
class DecodeProblem:
    """A line that is not valid UTF-8: where its first bad byte is."""

    line: int
    column: int
    byte: int

    def __str__(self) -> str:
        return f"byte 0x{self.byte:02x} at column {self.column} is not valid UTF-8"


def decoded_lines(stream: IO[bytes]) -> Iterator[tuple[int, str, DecodeProblem | None]]:
    """(line number, line without its end, problem) of a binary stream, BOM removed. A line that is not UTF-8 comes
    decoded with replacement characters (so its structure can still be read) and the `DecodeProblem`; whether that
    stops the reading is the caller's choice."""
    for number, raw in enumerate(stream, start=1):
        problem = None
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as error:
            line = raw.decode("utf-8", errors="replace")
            problem = DecodeProblem(number, error.start + 1, raw[error.start])
        if number == 1:
            line = line.removeprefix(BOM)
        yield number, line.rstrip("\r\n"), problem


class JsonScanner:
    """JSON values read one at a time from a binary stream, decoded block by block: a collection of any size is
    read with the memory of its largest document. Keeps the line number of every position for error messages."""

    def __init__(self, stream: IO[bytes]):
        self.stream = stream
        self.decoder = codecs.getincrementaldecoder("utf-8")("strict")
        self.buffer, self.position = "", 0
        self.lines_before = 0  # newlines in the text dropped from the buffer's front
        self.newlines_read = 0  # newlines in the bytes decoded so far
        self.eof = False
        self.started = False

    def line_at(self, position: int) -> int:
        return self.lines_before + self.buffer.count("\n", 0, position) + 1

    def error(self, position: int, reason: str) -> TextFormatError:
        return TextFormatError(self.line_at(position), reason)

    def _fill(self, at_least: int = 0) -> None:
        """Read more; `at_least` grows reads geometrically while one large value is incomplete."""
        if self.position > READ_BLOCK:  # drop what has been consumed
            self.lines_before += self.buffer.count("\n", 0, self.position)
            self.buffer, self.position = self.buffer[self.position :], 0
        block = self.stream.read(max(READ_BLOCK, at_least))
        self.eof = not block
        pending = self.decoder.getstate()[0]
        try:
            text = self.decoder.decode(block, final=self.eof)
        except UnicodeDecodeError as error:
            line = self.newlines_read + (pending + block)[: error.start].count(b"\n") + 1
            raise TextFormatError(line, f"byte 0x{error.object[error.start]:02x} is not valid UTF-8") from None
        self.newlines_read += block.count(b"\n")
        if text and not self.started:
            text, self.started = text.removeprefix(BOM), True
        self.buffer += text

    def peek(self) -> str:
        """The next non-blank character ("" at the end), without consuming it."""
        while True:
            while self.position < len(self.buffer) and self.buffer[self.position].isspace():
                self.position += 1
            if self.position < len(self.buffer) or self.eof:
                return self.buffer[self.position : self.position + 1]
            self._fill()

    def expect(self, characters: str) -> str:
        found = self.peek()
        if not found or found not in characters:
            expected = " or ".join(f"`{c}`" for c in characters)
            raise self.error(self.position, f"expected {expected}, found {f'`{found}`' if found else 'the end'}")
        self.position += 1
        return found

    def array_items(self) -> Iterator[tuple[int, Any]]:
        """(line, value) of each element of the JSON array that comes next."""
        self.expect("[")
        if self.peek() == "]":
            self.position += 1
            return
        while True:
            value, line = self.value()
            yield line, value
            if self.expect(",]") == "]":
                return

    def value(self) -> tuple[Any, int]:
        """The next JSON value and the line it starts on."""
        self.peek()
        while True:
            try:
                value, end = json.JSONDecoder().raw_decode(self.buffer, self.position)
            except json.JSONDecodeError as error:
                truncated = error.pos >= len(self.buffer) - 16 or error.msg.startswith("Unterminated string")
                if truncated and not self.eof:
                    self._fill(len(self.buffer) - self.position)
                    continue
                raise self.error(error.pos, f"not valid JSON ({error.msg})") from None
            if end == len(self.buffer) and not self.eof:  # a number may go on in the next block
                self._fill()
                continue
            line = self.line_at(self.position)
            self.position = end
            return value, line


__all__ = ["BOM", "READ_BLOCK", "DecodeProblem", "JsonScanner", "TextFormatError", "decoded_lines"]
