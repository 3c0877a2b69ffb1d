"""`bioner-tag` at scale: chunked streaming, `--resume` after a kill, several processes, nothing dropped silently."""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest
from utils import TOY_TEXT

from data_scripts import textio
from mtl_bioner.tagging import readers
from mtl_bioner.tagging.cli import main
from mtl_bioner.tagging.journal import ShardOutput, progress_path


pytestmark = pytest.mark.usefixtures("single_torch_thread")

TITLE = "Familial breast and ovarian cancer."
ABSTRACT = "The BRCA1 gene is mutated in familial breast and ovarian cancer. The tumour suppressor is lost."
SENTENCES = [
    "Germline mutations predispose to breast and ovarian cancer.",
    "Adenomatous polyposis coli is a tumour suppressor.",
    "No entity here at all.",
    "The antihypertensive effect of clonidine was reversed in hypertensive rats.",
    "Ovarian cancer in families \u00e9tudi\u00e9es \U0001f600 was studied.",
]
# One annotation line (a span of the abstract) and one relation line in the fourth document.
ANNOTATED_START = len(SENTENCES[4]) + 1 + ABSTRACT.index("breast and ovarian cancer")
ANNOTATED_END = ANNOTATED_START + len("breast and ovarian cancer")
ANNOTATION_LINE = f"4\t{ANNOTATED_START}\t{ANNOTATED_END}\tbreast and ovarian cancer\tDisease\tD061325"
RELATION_LINE = "4\tCID\tD000001\tD061325"


def pubtator_input(documents: int = 7) -> str:
    blocks = []
    for number in range(1, documents + 1):
        lines = [f"{number}|t|{TITLE if number % 2 else SENTENCES[number % 5]}", f"{number}|a|{ABSTRACT}"]
        if number == 4:
            lines += [ANNOTATION_LINE, RELATION_LINE]
        blocks.append("\n".join(lines) + "\n")
    return "\n".join(blocks)


def tag(*args: str) -> int:
    return main([*args, "--no_progress"])


class Killed(BaseException):
    """A kill: not an error the command line reports, it ends the process."""


def kill_after_chunk(monkeypatch, chunk: int) -> None:
    """Stands in for a kill right after `chunk` is recorded, while the next chunk's bytes are being written: the
    output gets half a document that no journal line covers (a real kill's torn write)."""
    write_chunk = ShardOutput.write_chunk

    def dying_write_chunk(self, index, documents, skipped):
        write_chunk(self, index, documents, skipped)
        if index >= chunk:
            self.output.write(b'{"id": "half a docu')
            self.output.flush()
            raise Killed(f"killed after chunk {index}")

    monkeypatch.setattr(ShardOutput, "write_chunk", dying_write_chunk)


def common(model, source, output, output_format, chunk_size=2):
    return [
        "--model",
        str(model),
        "--input",
        str(source),
        "--output",
        str(output),
        "--output_format",
        output_format,
        "--chunk_size",
        str(chunk_size),
    ]


@pytest.fixture
def pubtator_file(tmp_path):
    source = tmp_path / "docs.pubtator"
    source.write_text(pubtator_input(), encoding="utf-8")
    return source


@pytest.mark.parametrize("output_format", ["jsonl", "pubtator", "bioc"])
def test_resume_after_kills_is_byte_identical(tiny_model_dir, pubtator_file, tmp_path, monkeypatch, output_format):
    reference = tmp_path / f"reference.{output_format}"
    assert tag(*common(tiny_model_dir, pubtator_file, reference, output_format)) == 0
    assert not progress_path(reference).exists()

    output = tmp_path / f"resumed.{output_format}"
    with monkeypatch.context() as patched:
        kill_after_chunk(patched, 0)
        with pytest.raises(Killed, match="killed after chunk 0"):
            tag(*common(tiny_model_dir, pubtator_file, output, output_format))
    partial = output.read_bytes()
    assert partial and partial != reference.read_bytes() and reference.read_bytes().startswith(partial[:40])
    assert tag(*common(tiny_model_dir, pubtator_file, output, output_format)) == 1  # no --resume: refused
    with open(progress_path(output), "ab") as journal:  # killed while writing the journal
        journal.write(b'{"chunk": 1, "outp')
    with monkeypatch.context() as patched:  # killed again, later
        kill_after_chunk(patched, 2)
        with pytest.raises(Killed, match="killed after chunk 2"):
            tag(*common(tiny_model_dir, pubtator_file, output, output_format), "--resume")
    assert tag(*common(tiny_model_dir, pubtator_file, output, output_format), "--resume") == 0

    assert output.read_bytes() == reference.read_bytes()
    assert not progress_path(output).exists()
    if output_format == "bioc":
        assert len(json.loads(output.read_text(encoding="utf-8"))["documents"]) == 7
    # Resuming a finished run does nothing.
    assert tag(*common(tiny_model_dir, pubtator_file, output, output_format), "--resume") == 0
    assert output.read_bytes() == reference.read_bytes()


def test_a_process_killed_with_sigkill_resumes_to_the_same_bytes(tiny_model_dir, tmp_path):
    source = tmp_path / "many.pubtator"
    source.write_text(pubtator_input(300), encoding="utf-8")
    reference, output = tmp_path / "reference.jsonl", tmp_path / "killed.jsonl"
    arguments = common(tiny_model_dir, source, output, "jsonl", chunk_size=1)
    command = [sys.executable, "-m", "mtl_bioner.tagging.cli", *arguments, "--no_progress"]
    process = subprocess.Popen(
        command, env={**os.environ, "OMP_NUM_THREADS": "1"}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    journal, deadline = progress_path(output), time.monotonic() + 300
    while process.poll() is None and time.monotonic() < deadline:
        if journal.exists() and journal.read_bytes().count(b'"chunk": ') >= 4:  # the start record and 3 chunks
            break
        time.sleep(0.005)
    process.kill()
    _, errors = process.communicate()
    assert process.returncode == -signal.SIGKILL, errors.decode()[-2000:]
    assert tag(*common(tiny_model_dir, source, reference, "jsonl", chunk_size=1)) == 0
    assert tag(*arguments, "--resume") == 0
    assert output.read_bytes() == reference.read_bytes()


def test_resume_refuses_other_settings(tiny_model_dir, pubtator_file, tmp_path, monkeypatch, capsys):
    output = tmp_path / "out.jsonl"
    with monkeypatch.context() as patched:
        kill_after_chunk(patched, 0)
        with pytest.raises(Killed):
            tag(*common(tiny_model_dir, pubtator_file, output, "jsonl"))
    capsys.readouterr()
    assert tag(*common(tiny_model_dir, pubtator_file, output, "jsonl", chunk_size=3), "--resume") == 1
    assert "used other settings (chunk_size)" in capsys.readouterr().err


def run_ranks(arguments, monkeypatch, world_size=2, crash_rank=None):
    """Run every rank in this process, the last rank first: rank 0 then finds all parts done and merges them."""
    monkeypatch.setenv("WORLD_SIZE", str(world_size))
    for rank in reversed(range(world_size)):
        monkeypatch.setenv("RANK", str(rank))
        monkeypatch.setenv("LOCAL_RANK", str(rank))
        if rank == crash_rank:
            with monkeypatch.context() as patched:
                kill_after_chunk(patched, 1)
                with pytest.raises(Killed):
                    tag(*arguments)
            assert tag(*arguments, "--resume") == 0
        else:
            assert tag(*arguments) == 0
    for variable in ("WORLD_SIZE", "RANK", "LOCAL_RANK"):
        monkeypatch.delenv(variable)


@pytest.mark.parametrize("output_format", ["jsonl", "pubtator", "bioc"])
def test_two_processes_match_one(tiny_model_dir, pubtator_file, tmp_path, monkeypatch, output_format):
    single = tmp_path / f"single.{output_format}"
    assert tag(*common(tiny_model_dir, pubtator_file, single, output_format)) == 0
    merged = tmp_path / "merged" / f"out.{output_format}"
    merged.parent.mkdir()
    run_ranks(common(tiny_model_dir, pubtator_file, merged, output_format), monkeypatch, crash_rank=1)
    assert merged.read_bytes() == single.read_bytes()
    assert sorted(path.name for path in merged.parent.iterdir()) == [merged.name]  # parts and journals removed


def test_torchrun_two_processes(tiny_model_dir, pubtator_file, tmp_path):
    torchrun = shutil.which("torchrun", path=os.path.dirname(sys.executable))
    if torchrun is None:
        pytest.skip("torchrun is not installed next to this Python")
    single = tmp_path / "single.bioc.json"
    assert tag(*common(tiny_model_dir, pubtator_file, single, "bioc")) == 0
    merged = tmp_path / "merged.bioc.json"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    completed = subprocess.run(
        [torchrun, "--standalone", "--nproc_per_node", "2", "-m", "mtl_bioner.tagging.cli"]
        + common(tiny_model_dir, pubtator_file, merged, "bioc")
        + ["--no_progress"],
        capture_output=True,
        text=True,
        env=env,
        timeout=200,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert merged.read_bytes() == single.read_bytes()


def test_input_annotations_kept_resolved_or_replaced(tiny_model_dir, pubtator_file, tmp_path, capsys):
    def second_document(policy, output_format="pubtator"):
        output = tmp_path / f"{policy}.{output_format}"
        assert tag(*common(tiny_model_dir, pubtator_file, output, output_format), "--overlaps", policy) == 0
        text = output.read_text(encoding="utf-8")
        if output_format == "pubtator":
            return text.split("\n\n")[3].splitlines()
        return text

    start, end = ANNOTATED_START, ANNOTATED_END
    capsys.readouterr()
    kept = second_document("keep")
    assert kept[2:4] == [ANNOTATION_LINE, RELATION_LINE]  # the input's lines first, as they were
    new = [line.split("\t") for line in kept[4:]]
    assert any(int(s) < end and start < int(e) for _, s, e, *_ in new)  # a new span overlaps the input one
    assert "warning" not in capsys.readouterr().err

    resolved = second_document("resolve")
    assert resolved[2:4] == [ANNOTATION_LINE, RELATION_LINE]
    new = [line.split("\t") for line in resolved[4:]]
    assert new and not any(int(s) < end and start < int(e) for _, s, e, *_ in new)
    assert "--overlaps resolve drops annotations (first in document 4, line 10" in capsys.readouterr().err

    replaced = second_document("replace")
    assert ANNOTATION_LINE not in replaced and RELATION_LINE not in replaced and len(replaced) > 2
    assert "--overlaps replace dropped 2 annotation(s)" in capsys.readouterr().err

    (record,) = [json.loads(line) for line in second_document("keep", "jsonl").splitlines() if '"id": "4"' in line]
    assert record["input_annotations"] == [
        {"start": start, "end": end, "text": "breast and ovarian cancer", "type": "Disease", "identifier": "D061325"}
    ]
    assert record["input_relations"] == [
        {"infons": {"type": "CID", "arg1": "D000001", "arg2": "D061325"}, "nodes": []}
    ]
    collection = json.loads(second_document("keep", "bioc"))
    abstract = collection["documents"][3]["passages"][1]
    assert abstract["annotations"][0]["infons"] == {"type": "Disease", "identifier": "D061325"}
    assert abstract["annotations"][0]["locations"] == [{"offset": start, "length": end - start}]
    assert collection["documents"][3]["relations"][0]["infons"]["type"] == "CID"


def test_bioc_input_round_trip(tiny_model_dir, pubtator_file, tmp_path, monkeypatch):
    first = tmp_path / "first.json"
    assert tag(*common(tiny_model_dir, pubtator_file, first, "bioc"), "--overlaps", "replace") == 0
    monkeypatch.setattr(textio, "READ_BLOCK", 5)  # documents and UTF-8 characters cut across reads
    second = tmp_path / "second.json"
    assert tag(*common(tiny_model_dir, first, second, "bioc"), "--overlaps", "replace") == 0
    assert second.read_bytes() == first.read_bytes()  # the old annotations replaced by the same new ones


def test_bioc_reader_streams_documents(monkeypatch):
    monkeypatch.setattr(textio, "READ_BLOCK", 3)
    documents = [
        {"id": str(n), "infons": {}, "passages": [{"offset": 0, "infons": {"type": "title"}, "text": text}]}
        for n, text in enumerate(SENTENCES)
    ]
    collection = {"source": "x", "date": "", "documents": documents, "key": "bioc.key", "infons": {"a": [1, 2.5]}}
    text = json.dumps(collection, ensure_ascii=False, indent=1)
    read = list(readers.read_bioc(io.BytesIO(text.encode("utf-8")), "c.json"))
    assert [(d.id, d.passages[0].text) for d in read] == [(d["id"], d["passages"][0]["text"]) for d in documents]
    assert read[1].line == text[: text.index('"id": "1"')].count("\n")  # the line of the document's `{`
    broken = text.replace('"text": "No entity', '"text" "No entity')
    with pytest.raises(ValueError, match=rf"c\.json, line {text[: text.index('No entity')].count(chr(10)) + 1}: "):
        list(readers.read_bioc(io.BytesIO(broken.encode("utf-8")), "c.json"))


MALFORMED = [
    ("jsonl", b'{"text": "fine"}\n{"text": "ok"\n', 2, "not valid JSON"),
    ("jsonl", b'{"text": "fine"}\n\n{"body": "no text"}\n', 3, 'expected an object with a string "text" field'),
    ("lines", b"fine\nnot \xff utf-8\n", 2, "byte 0xff at column 5 is not valid UTF-8"),
    ("text", b"fine\nstill fine\n\xc3(\n", 3, "byte 0xc3 at column 1 is not valid UTF-8"),
    ("pubtator", b"1|t|A title\n1|a|An abstract\n\n2|t|T\n2\t0\tx\tT\tDisease\n", 5, "must be integers"),
    (
        "pubtator",
        b"1|t|A title\n1\t0\t1\tA\tDisease\n1|a|An \xe9 abstract\n",
        3,
        "byte 0xe9 at column 8 is not valid UTF-8",
    ),
    ("pubtator", b"1|t|A title\nno bars or tabs\n", 2, "expected `PMID|t|title`"),
    ("pubtator", b"1|t|A\n1\t0\t9\tA title\tDisease\n", 2, "outside the document (0-1)"),
    ("bioc", b'{"documents": [\n{"id": "1", "passages": []},\n{"id": "2"}\n]}', 3, '"passages" list'),
    (
        "bioc",
        b'{"documents": [\n{"id": "1", "passages": [{"offset": 0, "text": "\xe9"}]}]}',
        2,
        "byte 0xe9 is not valid UTF-8",
    ),
    ("bioc", b'{"documents": [\n{"id": "1", "passages": [{"offset": 0, "sentences": []}]}]}', 2, 'no string "text"'),
]


@pytest.mark.parametrize(("input_format", "content", "line", "reason"), MALFORMED)
def test_malformed_input_names_file_and_line(tiny_model_dir, tmp_path, capsys, input_format, content, line, reason):
    source = tmp_path / "bad.input"
    source.write_bytes(content)
    output = tmp_path / "out.jsonl"
    assert tag(*common(tiny_model_dir, source, output, "jsonl"), "--input_format", input_format) == 1
    error = capsys.readouterr().err
    assert f"bioner-tag: error: {source}, line {line}: " in error and reason in error


def test_on_error_skip_lists_malformed_documents(tiny_model_dir, tmp_path, monkeypatch, capsys):
    source = tmp_path / "docs.jsonl"
    lines = [b'{"text": "broken', b'{"id": "a", "text": "ovarian cancer"}', b'{"body": 1}', b"\xff"]
    lines += [json.dumps({"id": f"d{n}", "text": text}).encode() for n, text in enumerate(SENTENCES)]
    source.write_bytes(b"\n".join(lines) + b"\n")
    expected_skipped = [
        {"file": str(source), "line": 1, "reason": "not valid JSON (Unterminated string starting at at column 10)"},
        {"file": str(source), "line": 3, "reason": 'expected an object with a string "text" field'},
        {"file": str(source), "line": 4, "reason": "byte 0xff at column 1 is not valid UTF-8"},
    ]
    outputs = {}
    for processes in (1, 2):
        output = tmp_path / f"processes{processes}" / "out.json"
        output.parent.mkdir()
        arguments = [*common(tiny_model_dir, source, output, "bioc"), "--input_format", "jsonl", "--on_error", "skip"]
        if processes == 1:
            assert tag(*arguments) == 0
        else:
            run_ranks(arguments, monkeypatch)
        assert "skipped 3 malformed document(s)" in capsys.readouterr().err
        skipped = output.with_name("out.json.skipped.jsonl").read_text(encoding="utf-8").splitlines()
        assert [json.loads(line) for line in skipped] == expected_skipped
        outputs[processes] = output.read_bytes()
        ids = [document["id"] for document in json.loads(outputs[processes])["documents"]]
        assert ids == ["a"] + [f"d{n}" for n in range(len(SENTENCES))]
    assert outputs[1] == outputs[2]  # with 2 processes, chunk 0 (rank 0) holds only malformed lines


def test_input_is_read_lazily(tiny_model_dir, tmp_path, monkeypatch):
    """The reader is pulled one chunk at a time: chunk 0 is on disk before document `chunk_size` is read."""
    output = tmp_path / "out.jsonl"
    sizes_when_pulled = []

    def reader(stream, name):
        for number in range(10):
            sizes_when_pulled.append(output.stat().st_size if output.exists() else 0)
            yield readers.Document(str(number), [readers.Passage(0, TOY_TEXT, "text")], line=number + 1)

    monkeypatch.setitem(readers.READERS, "jsonl", reader)
    source = tmp_path / "in.jsonl"
    source.write_text("", encoding="utf-8")
    assert tag(*common(tiny_model_dir, source, output, "jsonl", chunk_size=3)) == 0
    assert sizes_when_pulled[:3] == [0, 0, 0] and 0 < sizes_when_pulled[3] == sizes_when_pulled[5]
    assert sizes_when_pulled[5] < sizes_when_pulled[6] < sizes_when_pulled[9] < output.stat().st_size
    assert len(output.read_text(encoding="utf-8").splitlines()) == 10
