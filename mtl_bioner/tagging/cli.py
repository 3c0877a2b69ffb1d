"""`bioner-tag`: tag documents with one or several XLNet-CRF checkpoints from the command line, at any scale.

    bioner-tag --model runs/disease/export/NCBI-disease --input abstracts.txt --input_format lines > tagged.jsonl
    bioner-tag --model chem/ disease/ --input docs.pubtator --output tagged.pubtator --output_format pubtator

Input formats (`--input_format`, default guessed from the file name: .jsonl -> jsonl, .pubtator -> pubtator,
.json -> bioc, anything else and stdin -> text):
  text      the whole input is one document (id: the file name without extension, or "stdin");
  lines     one document per non-empty line (id: the line number);
  jsonl     one JSON object per line with "text" and optionally "id" (default: the line number);
  pubtator  PubTator blocks `PMID|t|title`, `PMID|a|abstract`, annotation and relation lines;
  bioc      a BioC-JSON collection (passage-level text), read one document at a time.
Output formats (`--output_format`, default jsonl):
  jsonl     {"id", "entities": [{"start", "end", "text", "type", "score"(, "model", "overlapping")}]} per document;
  pubtator  the title/abstract lines then `PMID<TAB>start<TAB>end<TAB>text<TAB>type` per entity; other documents
            become a title line (BioC: first passage; the others make the abstract, placed at their offsets),
            with line breaks written as spaces (offsets unchanged);
  bioc      a BioC-JSON collection, one passage per title/abstract/text, annotations with passage offsets.
Offsets are character (code point) offsets into the document; a PubTator abstract starts at len(title) + 1.
Title and abstract are tagged as separate passages, so no entity spans both.

Annotations already in the input (PubTator annotation and relation lines, BioC annotations and relations) are
written back before the new ones (JSONL: "input_annotations", "input_relations"); --overlaps settles conflicts:
  keep      keep everything; with several models, new spans that overlap each other carry "overlapping": true;
  resolve   keep the input's annotations; reduce the new spans of several models to a non-overlapping set (higher
            score, then longer span, then model order) and drop new spans that overlap an input annotation;
  replace   drop the input's annotations and relations: only the new entities are written.
A warning says when annotations are dropped, and how many at the end.

Streaming and resuming: the input is read one document at a time and tagged --chunk_size documents at a time;
each chunk is written, in input order, as soon as it is tagged. With --output, a journal `<output>.progress` records
after every chunk how far the output got; after a kill, the same command with --resume cuts the output back to the
last whole chunk and goes on: the result is byte for byte the one of an uninterrupted run. The journal is removed at
the end.

Malformed documents (bad JSON, no text field, a byte that is not UTF-8, a broken PubTator line): by default the
run stops with an error naming the file and line; with --on_error skip they are listed (file, line, reason) in
`<output>.skipped.jsonl` (stderr when writing to stdout) and counted in a warning. A BioC collection that is not
valid JSON always stops the run.

Several processes, GPUs or machines: run one process per device under torchrun or `accelerate launch`; each reads
the whole input, tags every WORLD_SIZE-th chunk (chunk i on RANK i % WORLD_SIZE) on cuda:LOCAL_RANK (or the CPU),
writes `<output>.part<RANK>-of<WORLD_SIZE>` with its own journal, and rank 0 merges the parts, in input order, into
--output (identical to a one-process run) when all are done. --resume works per rank. Several machines need
--input and --output on a shared file system.
    torchrun --nproc_per_node 4 -m mtl_bioner.tagging.cli --model M --input pubmed.pubtator --output tagged.pubtator
    accelerate launch --multi_gpu --num_processes 4 -m mtl_bioner.tagging.cli --model M --input ... --output ...
    torchrun --nnodes 2 --node_rank 0|1 --nproc_per_node 8 --rdzv_backend c10d --rdzv_endpoint HOST:29500 \\
        -m mtl_bioner.tagging.cli --model M --input /shared/pubmed.pubtator --output /shared/tagged.pubtator
(`accelerate launch --cpu --num_processes N` starts a single process; on CPUs use torchrun.)
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import os
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from .entities import OVERLAP_POLICIES as MODEL_OVERLAP_POLICIES
from .journal import ShardOutput, mark_merged, merge_shards, progress_path, read_journal
from .precision import BACKENDS, CPU_ONLY_MODES, QUANTIZATION_MODES
from .readers import INPUT_FORMATS, READERS, Document, Item, Malformed, Passage, guess_input_format
from .writers import OUTPUT_FORMATS, WRITERS


DOCUMENTS_PER_CHUNK = 64
# The taggers' policies for several models' spans, and "replace" for annotations already in the input.
OVERLAP_POLICIES = (*MODEL_OVERLAP_POLICIES, "replace")
ERROR_POLICIES = ("raise", "skip")
MERGE_POLL_SECONDS = 1.0


@dataclass(frozen=True)
class Processes:
    """This process's place among the processes started by torchrun / accelerate launch (1 process otherwise)."""

    world_size: int = 1
    rank: int = 0
    local_rank: int = 0

    @classmethod
    def from_environment(cls) -> Processes:
        try:
            world_size = int(os.environ.get("WORLD_SIZE", "1"))
            rank = int(os.environ.get("RANK", "0"))
            local_rank = int(os.environ.get("LOCAL_RANK", str(rank)))
        except ValueError as error:
            raise ValueError(f"WORLD_SIZE, RANK and LOCAL_RANK must be integers ({error})") from None
        if not 0 <= rank < world_size:
            raise ValueError(f"RANK={rank} is outside WORLD_SIZE={world_size}")
        return cls(world_size, rank, local_rank)


def tag_documents(tagger, documents: list[Document]) -> None:
    """Fill each document's `entities` (document offsets); all passages of all documents go in one batched call."""
    passages = [(document, passage) for document in documents for passage in document.passages]
    tagged = tagger([passage.text for _, passage in passages])
    for (document, passage), entities in zip(passages, tagged, strict=True):
        for entity in entities:
            document.entities.append(
                {**entity, "start": entity["start"] + passage.offset, "end": entity["end"] + passage.offset}
            )


def apply_overlap_policy(document: Document, policy: str) -> int:
    """Apply `--overlaps` to the input's annotations and the new entities; returns how many annotations it dropped."""
    if policy == "replace":
        dropped = len(document.input_annotations) + len(document.input_relations)
        document.input_annotations, document.input_relations = [], []
        return dropped
    if policy == "resolve" and document.input_annotations:
        kept = [
            entity
            for entity in document.entities
            if not any(a.start < entity["end"] and entity["start"] < a.end for a in document.input_annotations)
        ]
        dropped, document.entities = len(document.entities) - len(kept), kept
        return dropped
    return 0


def _chunks(items: Iterable[Item], size: int) -> Iterator[list[Item]]:
    iterator = iter(items)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


def _word_count(document: Document) -> int:
    return sum(len(passage.text.split()) for passage in document.passages)


def _warn(message: str) -> None:
    print(f"bioner-tag: warning: {message}", file=sys.stderr)


class StdoutOutput:
    """Output to stdout: no journal, so no resume; skipped documents are listed on stderr."""

    last_chunk = -1
    documents = 0
    done = False

    def __init__(self):
        sys.stdout.flush()
        self.output = sys.stdout.buffer

    def start(self, header: str) -> None:
        self.output.write(header.encode("utf-8"))

    def write_chunk(self, index: int, documents: list[bytes], skipped: list[bytes]) -> None:
        self.output.write(b"".join(documents))
        self.output.flush()
        self.documents += len(documents)
        for record in skipped:
            _warn(f"skipped {json.loads(record)}")

    def finish(self, footer: str, total_chunks: int) -> None:
        self.output.write(footer.encode("utf-8"))
        self.output.flush()

    def close(self) -> None:
        pass


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bioner-tag",
        description=__doc__.split("\n\n")[0],
        epilog=__doc__.split("\n\n", 2)[2],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--model", nargs="+", required=True, help="Checkpoint folder(s) or Hub id(s).")
    parser.add_argument("--input", help="Input file (default: stdin).")
    parser.add_argument("--output", help="Output file (default: stdout; needed by --resume and several processes).")
    parser.add_argument("--input_format", choices=INPUT_FORMATS, help="Default: from the file name, else text.")
    parser.add_argument("--output_format", choices=OUTPUT_FORMATS, default="jsonl")
    parser.add_argument("--batch_size", type=int, default=32, help="Windows per forward pass.")
    parser.add_argument(
        "--chunk_size",
        type=int,
        default=DOCUMENTS_PER_CHUNK,
        help="Documents tagged together and written at once (the unit of resuming and of sharing between processes).",
    )
    parser.add_argument(
        "--device", default=None, help="cpu, cuda, cuda:1, ... (default: cuda:LOCAL_RANK if available, else cpu)."
    )
    parser.add_argument("--max_seq_length", type=int, default=512, help="Pieces per window.")
    parser.add_argument("--stride", type=int, default=128, help="Overlap of consecutive windows, in pieces.")
    parser.add_argument(
        "--overlaps",
        choices=OVERLAP_POLICIES,
        default="keep",
        help="Overlapping spans of several models and annotations already in the input (see below).",
    )
    parser.add_argument(
        "--on_error",
        choices=ERROR_POLICIES,
        default="raise",
        help="Malformed documents: stop with an error naming file and line, or skip and list them.",
    )
    parser.add_argument(
        "--resume", action="store_true", help="Continue the killed run that wrote --output (same arguments)."
    )
    parser.add_argument(
        "--quantize",
        choices=QUANTIZATION_MODES,
        default=None,
        help="int8: int8 encoder Linear layers (CPU; with --backend onnx the int8 graph); bf16: the encoder under "
        "bfloat16 autocast (CPUs with AMX or AVX512-BF16, GPUs). Faster; the CRF still decodes exactly, in fp32.",
    )
    parser.add_argument(
        "--backend",
        choices=BACKENDS,
        default="torch",
        help="onnx: the checkpoint's ONNX graph in ONNX Runtime, on the CPU (bioner-export writes it; a local "
        "checkpoint without it gets it exported on the fly).",
    )
    parser.add_argument("--trust_remote_code", action="store_true", help="Load checkpoints through their own code.")
    parser.add_argument("--no_progress", action="store_true", help="No progress bar on stderr.")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return _run(args, Processes.from_environment())
    except (OSError, ValueError, TypeError, ImportError) as error:  # bad input, checkpoint or setup: one line
        print(f"bioner-tag: error: {error}", file=sys.stderr)
        return 1


def _shard_paths(output: Path, processes: Processes, rank: int) -> tuple[Path, Path]:
    """Where a process writes its documents and its skipped list."""
    if processes.world_size == 1:
        path = output
    else:
        path = output.with_name(f"{output.name}.part{rank}-of{processes.world_size}")
    return path, path.with_name(path.name + ".skipped.jsonl")


def _settings(args: argparse.Namespace, input_format: str, processes: Processes) -> dict[str, Any]:
    """What must not change between a run and its resumption (or between the processes of one run)."""
    return {
        "input": args.input,
        "input_format": input_format,
        "output_format": args.output_format,
        "chunk_size": args.chunk_size,
        "world_size": processes.world_size,
        "model": args.model,
        "overlaps": args.overlaps,
        "on_error": args.on_error,
        "max_seq_length": args.max_seq_length,
        "stride": args.stride,
        "quantize": args.quantize,
        "backend": args.backend,
    }


def _remove(*paths: Path) -> None:
    for path in paths:
        path.unlink(missing_ok=True)


def _run(args: argparse.Namespace, processes: Processes) -> int:
    if args.chunk_size < 1:
        raise ValueError(f"--chunk_size must be a positive integer, got {args.chunk_size}")
    if args.output is None and (args.resume or processes.world_size > 1):
        raise ValueError("--resume and several processes need --output (stdout cannot be resumed or merged)")
    input_format = args.input_format or guess_input_format(args.input)
    if args.output is None:
        _tag(args, input_format, processes, StdoutOutput(), WRITERS[args.output_format]())
        return 0

    output = Path(args.output)
    path, skipped_path = _shard_paths(output, processes, processes.rank)
    journal = progress_path(path)
    if not args.resume and journal.exists():
        raise ValueError(
            f"{journal} belongs to an unfinished run: pass --resume to continue it, or delete it to start over"
        )
    if args.resume and not journal.exists() and output.exists():
        _warn(f"nothing to resume: {output} exists and has no progress file {journal.name} (the run finished)")
        return 0
    shard = ShardOutput(path, skipped_path, _settings(args, input_format, processes), resume=args.resume)
    writer = WRITERS[args.output_format](**({"date": shard.date} if args.output_format == "bioc" else {}))
    with contextlib.closing(shard):
        if shard.merged:  # killed while cleaning up after the merge
            _clean_up_parts(output, processes)
            return 0
        if not shard.done:
            _tag(args, input_format, processes, shard, writer)
    if processes.world_size == 1:
        _report_skipped(skipped_path, output)
        _remove(journal)
        return 0
    if processes.rank != 0:
        return 0
    _wait_for_parts(output, processes)
    shards = [_shard_paths(output, processes, rank) for rank in range(processes.world_size)]
    skipped_output = output.with_name(output.name + ".skipped.jsonl")
    merge_shards(
        [part for part, _ in shards],
        [skipped for _, skipped in shards],
        output,
        skipped_output,
        header=writer.header(),
        footer=writer.footer(),
        separator=writer.separator,
    )
    mark_merged(journal)
    _report_skipped(skipped_output, output)
    _clean_up_parts(output, processes)
    return 0


def _report_skipped(skipped_path: Path, output: Path) -> None:
    """Warn with the count of skipped documents; no list file when nothing was skipped."""
    if not skipped_path.exists():
        return
    with open(skipped_path, "rb") as stream:
        count = sum(1 for _ in stream)
    if count:
        _warn(f"skipped {count} malformed document(s), listed in {skipped_path}")
    else:
        _remove(skipped_path)


def _clean_up_parts(output: Path, processes: Processes) -> None:
    """Delete the parts of all ranks, rank 0's journal last (it says whether the merge happened)."""
    for rank in reversed(range(processes.world_size)):
        part, skipped = _shard_paths(output, processes, rank)
        _remove(part, skipped, *([progress_path(part)] if rank else []))
    _remove(progress_path(_shard_paths(output, processes, 0)[0]))


def _wait_for_parts(output: Path, processes: Processes) -> None:
    """File-based barrier: rank 0 waits until every rank's journal says `done` (a shared file system suffices)."""
    announced = False
    while True:
        waiting = []
        for rank in range(1, processes.world_size):
            journal = progress_path(_shard_paths(output, processes, rank)[0])
            if not journal.exists() or not any(record.get("done") for record in read_journal(journal)):
                waiting.append(rank)
        if not waiting:
            return
        if not announced:
            _warn(f"rank 0 is done and waits for rank(s) {', '.join(map(str, waiting))} to merge the parts")
            announced = True
        time.sleep(MERGE_POLL_SECONDS)


def _load_tagger(args: argparse.Namespace, processes: Processes):
    import torch

    from .tagger import BioNERTagger

    device = args.device
    if device is None:
        cpu_only = args.quantize in CPU_ONLY_MODES or args.backend == "onnx"
        device = f"cuda:{processes.local_rank}" if torch.cuda.is_available() and not cpu_only else "cpu"
    return BioNERTagger.from_pretrained(
        args.model if len(args.model) > 1 else args.model[0],
        device=device,
        batch_size=args.batch_size,
        max_seq_length=args.max_seq_length,
        stride=args.stride,
        overlaps="resolve" if args.overlaps == "resolve" else "keep",
        trust_remote_code=args.trust_remote_code,
        quantize=args.quantize,
        backend=args.backend,
    )


def _tag(args: argparse.Namespace, input_format: str, processes: Processes, shard, writer) -> None:
    """Read, tag this process's chunks, write them; the progress bar measures bytes read when the size is known."""
    from tqdm.auto import tqdm

    tagger = _load_tagger(args, processes)
    name = args.input or "stdin"
    dropped = 0
    with contextlib.ExitStack() as stack:
        source: IO[bytes] = stack.enter_context(open(args.input, "rb")) if args.input else sys.stdin.buffer
        size = os.fstat(source.fileno()).st_size if args.input and Path(args.input).is_file() else None
        progress = stack.enter_context(
            tqdm(
                total=size,
                desc="Tagging" if processes.world_size == 1 else f"Tagging (rank 0 of {processes.world_size})",
                unit="B" if size is not None else "doc",
                unit_scale=True,
                disable=args.no_progress or processes.rank != 0 or None,
                file=sys.stderr,
            )
        )
        started, documents_done, words_done = time.monotonic(), 0, 0
        shard.start(writer.header() if processes.world_size == 1 else "")
        total_chunks = 0
        for index, chunk in enumerate(_chunks(READERS[input_format](source, name), args.chunk_size)):
            total_chunks = index + 1
            malformed = [item for item in chunk if isinstance(item, Malformed)]
            if malformed and args.on_error == "raise":
                raise ValueError(f"{malformed[0]} (--on_error skip skips such documents)")
            if index % processes.world_size != processes.rank or index <= shard.last_chunk:
                continue
            documents = [item for item in chunk if isinstance(item, Document)]
            tag_documents(tagger, documents)
            encoded = []
            for document in documents:
                newly_dropped = apply_overlap_policy(document, args.overlaps)
                if newly_dropped and not dropped:
                    _warn(
                        f"--overlaps {args.overlaps} drops annotations (first in document {document.id}, "
                        f"line {document.line} of {name}); the total follows at the end"
                    )
                dropped += newly_dropped
                first = processes.world_size == 1 and shard.documents + len(encoded) == 0
                encoded.append((("" if first else writer.separator) + writer.encode(document)).encode("utf-8"))
            skipped = [
                json.dumps({"file": m.file, "line": m.line, "reason": m.reason}, ensure_ascii=False).encode() + b"\n"
                for m in malformed
            ]
            shard.write_chunk(index, encoded, skipped)
            documents_done += len(documents)
            words_done += sum(map(_word_count, documents))
            elapsed = max(time.monotonic() - started, 1e-9)
            progress.update(source.tell() - progress.n if size is not None else len(documents))
            progress.set_postfix_str(
                f"{documents_done / elapsed:.1f} docs/s, {words_done / elapsed:.0f} words/s", refresh=False
            )
        shard.finish(writer.footer() if processes.world_size == 1 else "", total_chunks)
    if dropped:
        _warn(f"--overlaps {args.overlaps} dropped {dropped} annotation(s) in this run")


__all__ = [
    "INPUT_FORMATS",
    "OUTPUT_FORMATS",
    "OVERLAP_POLICIES",
    "Document",
    "Passage",
    "Processes",
    "apply_overlap_policy",
    "build_parser",
    "main",
    "tag_documents",
]


if __name__ == "__main__":
    sys.exit(main())
