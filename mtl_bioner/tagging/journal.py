"""The output of one `bioner-tag` process and its progress journal: whole chunks of documents are appended to the
output and recorded (fsync'd) in `<output>.progress`, so a killed run cuts the output back to the last recorded chunk
and continues (`--resume`); several processes' parts are merged in input order."""

from __future__ import annotations

import contextlib
import datetime
import json
import os
from pathlib import Path
from typing import IO, Any

from data_scripts.textio import READ_BLOCK


def _fsync(stream: IO[bytes]) -> None:
    stream.flush()
    os.fsync(stream.fileno())


class ShardOutput:
    """One process's output file, its list of skipped documents, and a journal of the chunks written to them.

    The journal (`<path>.progress`) is JSON lines: the run's settings with the bytes of the header, one line per
    chunk written (`chunk` index, `output` and `skipped` end offsets, documents), and `done` with the number of chunks
    in the input. A line is appended only after the chunk's bytes are fsync'd, so on `--resume` the files are cut
    back to the last recorded offsets: a chunk is either entirely there or written again.
    """

    def __init__(self, path: Path, skipped_path: Path, settings: dict[str, Any], *, resume: bool):
        self.path, self.skipped_path = path, skipped_path
        self.journal_path = progress_path(path)
        self.settings = settings
        records = read_journal(self.journal_path) if resume and self.journal_path.exists() else []
        self.date = records[0].get("date") if records else datetime.date.today().isoformat()
        self.merged = any(record.get("merged") for record in records)
        if records:
            if records[0].get("settings") != settings:
                changed = sorted(
                    key
                    for key in settings.keys() | records[0].get("settings", {}).keys()
                    if settings.get(key) != records[0].get("settings", {}).get(key)
                )
                raise ValueError(
                    f"{self.journal_path}: the run being resumed used other settings ({', '.join(changed)}); "
                    "resume with the same arguments, or delete it to start over"
                )
            state = [record for record in records if "output" in record][-1]
            self.chunks_written = [record["chunk"] for record in records if record.get("chunk", -1) >= 0]
            self.documents = sum(record.get("documents", 0) for record in records)
            self.total_chunks = next((record["chunks"] for record in records if record.get("done")), None)
            self.done = self.total_chunks is not None
            self.output = open(path, "r+b")
            self.skipped = open(skipped_path, "a+b")
            self.journal = open(self.journal_path, "r+b")
            if not self.done:  # cut everything after the last recorded chunk
                self.output.truncate(state["output"])
                self.skipped.truncate(state["skipped"])
                self.journal.truncate(self._valid_journal_bytes())
            for stream in (self.output, self.skipped, self.journal):
                stream.seek(0, os.SEEK_END)
        else:
            self.chunks_written, self.documents, self.done, self.total_chunks = [], 0, False, None
            self.output = open(path, "wb")
            self.skipped = open(skipped_path, "wb")
            self.journal = open(self.journal_path, "wb")
        self.last_chunk = self.chunks_written[-1] if self.chunks_written else -1

    def _valid_journal_bytes(self) -> int:
        """Length of the journal's complete lines (a kill may leave half a line)."""
        self.journal.seek(0)
        return self.journal.read().rfind(b"\n") + 1

    def _record(self, record: dict[str, Any]) -> None:
        self.journal.write(json.dumps(record).encode("utf-8") + b"\n")
        _fsync(self.journal)

    def start(self, header: str) -> None:
        """Write the header and the settings, unless the run is resumed."""
        if self.journal.tell() == 0:
            self.output.write(header.encode("utf-8"))
            _fsync(self.output)
            self._record(
                {"settings": self.settings, "date": self.date, "chunk": -1, "output": self.output.tell(), "skipped": 0}
            )

    def write_chunk(self, index: int, documents: list[bytes], skipped: list[bytes]) -> None:
        self.output.write(b"".join(documents))
        self.skipped.write(b"".join(skipped))
        _fsync(self.output)
        _fsync(self.skipped)
        self.documents += len(documents)
        self.last_chunk = index
        self._record(
            {
                "chunk": index,
                "output": self.output.tell(),
                "skipped": self.skipped.tell(),
                "documents": len(documents),
                "skipped_documents": len(skipped),
            }
        )

    def finish(self, footer: str, total_chunks: int) -> None:
        self.output.write(footer.encode("utf-8"))
        _fsync(self.output)
        self._record({"done": True, "chunks": total_chunks})
        self.done, self.total_chunks = True, total_chunks

    def close(self) -> None:
        for stream in (self.output, self.skipped, self.journal):
            stream.close()


def _copy_range(source: IO[bytes], target: IO[bytes], start: int, end: int) -> None:
    source.seek(start)
    while start < end:
        block = source.read(min(READ_BLOCK, end - start))
        if not block:
            raise ValueError(f"{source.name} ends at byte {start}, its journal says {end}")
        target.write(block)
        start += len(block)


def merge_shards(
    parts: list[Path],
    skipped_parts: list[Path],
    output: Path,
    skipped: Path,
    *,
    header: str,
    footer: str,
    separator: str,
) -> int:
    """Concatenate the chunks of several processes' parts in input order (chunk i is in part i % len(parts)) into
    `output` and `skipped` (written next to them and renamed when complete); returns the number of skipped documents.

    Every document in a part starts with `separator`; the output's first document goes without it.
    """
    journals = [read_journal(progress_path(part)) for part in parts]
    totals = {next((r["chunks"] for r in journal if r.get("done")), None) for journal in journals}
    if len(totals) != 1 or None in totals:
        raise ValueError(f"cannot merge {', '.join(map(str, parts))}: not every part is complete")
    if len({json.dumps(journal[0]["settings"], sort_keys=True) for journal in journals}) != 1:
        raise ValueError(f"cannot merge {', '.join(map(str, parts))}: the parts were written with other settings")
    (total,) = totals
    ends = [[(r["output"], r["skipped"]) for r in journal if "output" in r] for journal in journals]
    # Chunk records after the start record: rank r holds chunks r, r + world, ... in that order.
    records = [[r for r in journal if r.get("chunk", -1) >= 0] for journal in journals]
    world = len(parts)
    for rank, rank_records in enumerate(records):
        if [r["chunk"] for r in rank_records] != list(range(rank, total, world)):
            raise ValueError(f"{progress_path(parts[rank])}: chunks {[r['chunk'] for r in rank_records]} recorded")
    temporary = output.with_name(output.name + ".merging")
    temporary_skipped = skipped.with_name(skipped.name + ".merging")
    position = [list(end[0]) for end in ends]  # output and skipped offsets after each part's header
    pending_separator = separator.encode("utf-8")
    skipped_count = 0
    with contextlib.ExitStack() as stack:
        sources = [stack.enter_context(open(part, "rb")) for part in parts]
        skipped_sources = [stack.enter_context(open(part, "rb")) for part in skipped_parts]
        target = stack.enter_context(open(temporary, "wb"))
        skipped_target = stack.enter_context(open(temporary_skipped, "wb"))
        target.write(header.encode("utf-8"))
        for chunk in range(total):
            rank = chunk % world
            record = records[rank][chunk // world]
            start, skipped_start = position[rank]
            if pending_separator and record["output"] > start:
                sources[rank].seek(start)
                if sources[rank].read(len(pending_separator)) != pending_separator:
                    raise ValueError(f"{parts[rank]}: a document without its separator at byte {start}")
                start, pending_separator = start + len(pending_separator), b""
            _copy_range(sources[rank], target, start, record["output"])
            _copy_range(skipped_sources[rank], skipped_target, skipped_start, record["skipped"])
            skipped_count += record.get("skipped_documents", 0)
            position[rank] = [record["output"], record["skipped"]]
        target.write(footer.encode("utf-8"))
        _fsync(target)
        _fsync(skipped_target)
    os.replace(temporary_skipped, skipped)
    os.replace(temporary, output)
    return skipped_count


def progress_path(path: Path) -> Path:
    return path.with_name(path.name + ".progress")


def read_journal(path: Path) -> list[dict[str, Any]]:
    """The complete records of a journal (a half-written last line is left out)."""
    records = []
    with open(path, "rb") as stream:
        for line in stream:
            if not line.endswith(b"\n"):
                break
            records.append(json.loads(line))
    return records


def mark_merged(journal: Path) -> None:
    """Record in rank 0's journal that the parts were merged: a kill from then on only leaves parts to delete."""
    with open(journal, "ab") as stream:
        stream.write(json.dumps({"merged": True}).encode("utf-8") + b"\n")
        _fsync(stream)


__all__ = ["ShardOutput", "mark_merged", "merge_shards", "progress_path", "read_journal"]
