"""The tagging service under load: requests/s, words/s and latency of `bioner-serve` at several concurrencies, against
the batch words/s of the same tagger on the same texts, tagged as `bioner-tag` tags them (chunks of
`--chunk_size` 64 documents, each chunk one tagger call).

    python benchmarks/bench_serve.py --model runs/demo/mtl-ls-0.5/export/NCBI-disease --write BENCHMARKS.md

Texts: the test documents of `--dataset`, one request per document (the sentences of a PubMed abstract joined, as
a client would send it). The server runs in its own process with `--threads` threads; the clients are threads of
this process that each keep one request in flight on a kept-alive connection, so the concurrency is the number of
requests waiting at any time; on a 2-core machine the clients share the cores with the server. The batch figure tags
the texts in `bioner-tag`'s chunks, in a process of its own with the same threads. Each level is run after a warm-up; levels and the batch run are interleaved over rounds.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path


sys.path.insert(0, str(Path(__file__).resolve().parent))

from _report import command, machine, publish  # noqa: E402


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def documents(dataset: str, count: int) -> list[str]:
    """Texts of `count` documents of the dataset's test split: its sentences grouped ten by ten, words joined."""
    from data_scripts.registry import load_row

    rows = load_row(dataset, splits=["test"])["test"]
    sentences = [" ".join(tokens) for tokens in rows["tokens"]]
    return [" ".join(sentences[start : start + 10]) for start in range(0, 10 * count, 10)][:count]


def start_server(model: str, threads: int, port: int, log: Path) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "TOKENIZERS_PARALLELISM": "false"}
    command_line = [sys.executable, "-m", "mtl_bioner.serving.cli", "--model", model, "--port", str(port)]
    command_line += ["--log_level", "warning", "--max_texts", "256"]
    process = subprocess.Popen(command_line, env=env, stdout=open(log, "w"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", "/health")
            if connection.getresponse().status == 200:
                return process
        except OSError:
            time.sleep(0.25)
    process.kill()
    raise RuntimeError(f"the server did not start: {log.read_text()[-2000:]}")


def load(port: int, texts: list[str], concurrency: int) -> dict:
    """Every text sent once, `concurrency` requests in flight; wall time, latencies and the answers."""
    latencies, answers, lock = [], {}, threading.Lock()
    queue = list(enumerate(texts))

    def client():
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
        while True:
            with lock:
                if not queue:
                    return
                index, text = queue.pop()
            body = json.dumps({"text": text, "id": index})
            started = time.monotonic()
            connection.request("POST", "/tag", body=body, headers={"Content-Type": "application/json"})
            response = connection.getresponse()
            payload = json.loads(response.read())
            if response.status != 200:
                raise RuntimeError(f"request {index}: {response.status} {payload}")
            with lock:
                latencies.append(time.monotonic() - started)
                answers[index] = payload["entities"]

    started = time.monotonic()
    threads = [threading.Thread(target=client) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.monotonic() - started
    if len(answers) != len(texts):
        raise RuntimeError(f"{len(texts) - len(answers)} requests failed at concurrency {concurrency}")
    return {"seconds": seconds, "latencies": sorted(latencies), "answers": [answers[i] for i in range(len(texts))]}


BATCH_WORKER = """
import json, sys, time, torch
torch.set_num_threads(int(sys.argv[3]))
from mtl_bioner import BioNERTagger
from mtl_bioner.tagging.cli import DOCUMENTS_PER_CHUNK
tagger = BioNERTagger.from_pretrained(sys.argv[1], device="cpu")
texts = json.loads(open(sys.argv[2]).read())
tagger(texts[:8])
started = time.monotonic()
entities = [e for start in range(0, len(texts), DOCUMENTS_PER_CHUNK) for e in tagger(texts[start : start + DOCUMENTS_PER_CHUNK])]
print(json.dumps({"seconds": time.monotonic() - started, "answers": entities}))
"""


def batch(model: str, texts_file: Path, threads: int) -> dict:
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "TOKENIZERS_PARALLELISM": "false"}
    completed = subprocess.run(
        [sys.executable, "-c", BATCH_WORKER, model, str(texts_file), str(threads)],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    return json.loads(completed.stdout.splitlines()[-1])


def percentile(values: list[float], share: float) -> float:
    return values[min(len(values) - 1, int(share * len(values)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="A checkpoint folder (e.g. an export of run_ner_mtl.py).")
    parser.add_argument("--dataset", default="NCBI-disease")
    parser.add_argument("--documents", type=int, default=94, help="Test documents sent (94: all of NCBI-disease).")
    parser.add_argument("--concurrency", default="1,8,32")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--write", metavar="BENCHMARKS.md")
    args = parser.parse_args()
    levels = [int(level) for level in args.concurrency.split(",")]
    texts = documents(args.dataset, args.documents)
    words = sum(len(text.split()) for text in texts)
    results: dict[str, list[dict]] = {f"concurrency {level}": [] for level in levels}
    results["batch"] = []
    with tempfile.TemporaryDirectory(prefix="bench_serve_") as scratch:
        texts_file = Path(scratch) / "texts.json"
        texts_file.write_text(json.dumps(texts))
        port = free_port()
        server = start_server(args.model, args.threads, port, Path(scratch) / "server.log")
        try:
            load(port, texts[:16], 4)  # warm-up
            for round_index in range(args.rounds):
                results["batch"].append(batch(args.model, texts_file, args.threads))
                for level in levels:
                    results[f"concurrency {level}"].append(load(port, texts, level))
                    print(f"round {round_index + 1}: concurrency {level} done", file=sys.stderr, flush=True)
        finally:
            server.terminate()
            server.wait(timeout=60)

    def spans(answers):  # scores may differ in the last float digits between batch compositions
        return [[(e["start"], e["end"], e["type"]) for e in entities] for entities in answers]

    reference = spans(results["batch"][0]["answers"])
    mismatches = {
        name: sum(a != b for run in runs for a, b in zip(spans(run["answers"]), reference, strict=True))
        for name, runs in results.items()
    }
    batch_words = statistics.median(words / run["seconds"] for run in results["batch"])
    lines = [
        "## The tagging service: `bioner-serve` under concurrent requests",
        "",
        f"`{Path(args.model).name}` on {len(texts)} `{args.dataset}` test documents ({words} words), one request per "
        f"document; server and batch run with {args.threads} threads; median of {args.rounds} interleaved rounds.",
        "",
        f"Machine: {machine()}.",
        "",
        "| load | requests/s | words/s | × batch words/s | p50 latency (s) | p95 latency (s) |",
        "|---|---|---|---|---|---|",
    ]
    for level in levels:
        runs = results[f"concurrency {level}"]
        words_per_second = statistics.median(words / run["seconds"] for run in runs)
        lines.append(
            f"| concurrency {level} | {statistics.median(len(texts) / run['seconds'] for run in runs):.1f} | "
            f"{words_per_second:,.0f} | {words_per_second / batch_words:.2f} | "
            f"{statistics.median(percentile(run['latencies'], 0.5) for run in runs):.2f} | "
            f"{statistics.median(percentile(run['latencies'], 0.95) for run in runs):.2f} |"
        )
    lines += [
        f"| batch: `bioner-tag`'s chunks of 64 documents, one tagger call each | – | {batch_words:,.0f} | 1.00 | – | – |",
        "",
        "Goal at concurrency 32: ≥ 0.8 × the batch words/s. Documents whose entities differ from the batch run's "
        "(all rounds): " + ", ".join(f"{name} {count}" for name, count in mismatches.items()) + ".",
        "",
        f"Command: `{command()}`.",
    ]
    publish("\n".join(lines), "bench_serve", args.write)


if __name__ == "__main__":
    main()
