"""CPU tagging speed, memory and accuracy of a trained CRF checkpoint: fp32 against int8 and bf16 (`--quantize int8`,
`--quantize bf16`), 1 and 2 threads, 2 processes against 1, and transformers' standard token-classification pipeline on
the same encoder.

    python benchmarks/bench_infer.py --model runs/demo/mtl-ls-0.5/export/NCBI-disease

Input: the test sentences of `--dataset` (read by `data_scripts.registry.load_row`, from $CRICHTON_DATA_DIR). The
tagger gets their words (`BioNERTagger.tag_words`) and is scored against the gold tags (entity F1, seqeval's default
mode); the standard pipeline (`pipeline("token-classification", aggregation_strategy="simple")` over an
`AutoModelForTokenClassification` holding the checkpoint's encoder and emission layer: argmax instead of Viterbi)
gets the same sentences as text. Every path runs in subprocesses of its own, so each peak RSS is that path's alone;
each process loads and warms up, then all of a path's processes start together on a signal. "2 processes" are two
1-thread processes on alternate sentences (what `torchrun --nproc_per_node 2 -m mtl_bioner.tagging.cli` does by chunks),
timed from the first start to the last end. Paths are interleaved over `--rounds` rounds so that all see the same
machine load; figures are medians over rounds, int8/fp32 ratios medians of each round's ratio. "CPU words/s" divides
by the process CPU time instead of the wall time: on a shared machine it is the steadier figure.

Workers inherit OMP_WAIT_POLICY. Unset, OpenMP threads spin at every barrier, and a 2-thread process on cores that
other processes also use slowed down 4x here; `OMP_WAIT_POLICY=PASSIVE` avoided that.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path


ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _report import command, machine, publish


@dataclass(frozen=True)
class Contender:
    """One measured way of tagging: what runs, on how many threads, in how many processes."""

    name: str
    kind: str  # "tagger" or "pipeline"
    quantize: str | None
    threads: int
    processes: int = 1

    @property
    def cores(self) -> int:
        return self.threads * self.processes


PRECISIONS = ("fp32", "int8", "bf16")
REDUCED = PRECISIONS[1:]
# (suffix of the path name, threads per process, processes)
LAYOUTS = (("2 threads", 2, 1), ("1 thread", 1, 1), ("2 processes x 1 thread", 1, 2))
PIPELINE = "standard pipeline (fp32, argmax), 2 threads"
PATHS = (
    *(
        Contender(f"{precision}, {suffix}", "tagger", None if precision == "fp32" else precision, threads, processes)
        for suffix, threads, processes in LAYOUTS
        for precision in PRECISIONS
    ),
    Contender(PIPELINE, "pipeline", None, 2),
)


def peak_rss_mib() -> float:
    """This process's peak resident set size (ru_maxrss is in KiB on Linux, in bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (2**20 if sys.platform == "darwin" else 2**10)


def standard_pipeline(model_dir: str, batch_size: int):
    """transformers' token-classification pipeline over the checkpoint's own encoder and emission layer."""
    from transformers import AutoConfig, AutoModelForTokenClassification, pipeline

    from mtl_bioner.tagging.alignment import load_tokenizer
    from mtl_bioner.tagging.tagger import BioNERTagger

    crf = BioNERTagger.from_pretrained(model_dir, device="cpu").model
    backbone = crf.backbone
    settings = {
        key: value
        for key, value in backbone.config.to_dict().items()
        if key not in ("model_type", "architectures", "auto_map", "label_scheme", "crf_constraints", "crf_reduction")
    }
    model_type = "xlnet" if backbone.config.model_type == "xlnet-crf" else backbone.config.model_type
    settings.update(id2label=dict(crf.config.id2label), label2id=dict(crf.config.label2id))
    plain = AutoModelForTokenClassification.from_config(AutoConfig.for_model(model_type, **settings)).eval()
    plain.base_model.load_state_dict(backbone.state_dict())
    plain.classifier.load_state_dict(crf.classifier.state_dict())
    return pipeline(
        "token-classification",
        model=plain,
        tokenizer=load_tokenizer(model_dir),
        aggregation_strategy="simple",
        device="cpu",
        batch_size=batch_size,
    )


def worker(arguments: dict) -> None:
    """One process of one path: load, warm up, say "ready", wait for "go" on stdin, tag, print the result as JSON."""
    import torch

    torch.set_num_threads(arguments["threads"])
    sentences = json.loads(Path(arguments["sentences"]).read_text(encoding="utf-8"))
    sentences = sentences[arguments["shard"] :: arguments["shards"]]
    batch_size = arguments["batch_size"]
    if arguments["kind"] == "pipeline":
        standard = standard_pipeline(arguments["model"], batch_size)
        texts = [" ".join(words) for words in sentences]
        standard(texts[: 2 * batch_size])

        def run():
            standard(texts)
            return None

    else:
        from mtl_bioner.tagging.tagger import BioNERTagger

        tagger = BioNERTagger.from_pretrained(
            arguments["model"], device="cpu", batch_size=batch_size, quantize=arguments["quantize"]
        )
        tagger.tag_words(sentences[: 2 * batch_size])

        def run():
            return [[label for label, _ in words] for words in tagger.tag_words(sentences)]

    print("ready", flush=True)
    sys.stdin.readline()
    started, cpu_started = time.monotonic(), time.process_time()
    tags = run()
    ended, cpu = time.monotonic(), time.process_time() - cpu_started
    result = {
        "start": started,
        "end": ended,
        "cpu": cpu,
        "words": sum(map(len, sentences)),
        "peak_rss_mib": peak_rss_mib(),
        "tags": tags,
        "engine": torch.backends.quantized.engine,
        "capability": torch.backends.cpu.get_cpu_capability(),
    }
    print(json.dumps(result), flush=True)


def run_path(path: Contender, common: dict, log_dir: Path) -> dict:
    """Start the path's processes, wait until all are ready, start them together; wall time spans all of them."""
    processes, logs = [], []
    for shard in range(path.processes):
        arguments = {
            **common,
            "kind": path.kind,
            "quantize": path.quantize,
            "threads": path.threads,
            "shard": shard,
            "shards": path.processes,
        }
        environment = {
            **os.environ,
            "OMP_NUM_THREADS": str(path.threads),
            "MKL_NUM_THREADS": str(path.threads),
            "TOKENIZERS_PARALLELISM": "false",  # the Rust tokenizer would otherwise use every core
        }
        logs.append(log_dir / f"{path.name.replace(' ', '_').replace(',', '')}-{shard}.log")
        with open(logs[-1], "w") as log:
            processes.append(
                subprocess.Popen(
                    [sys.executable, __file__, "--worker", json.dumps(arguments)],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=log,
                    text=True,
                    env=environment,
                )
            )

    def failed(when: str, shard: int) -> RuntimeError:
        return RuntimeError(f"{path.name}: worker {shard} failed {when}:\n{logs[shard].read_text()[-3000:]}")

    for shard, process in enumerate(processes):
        if process.stdout.readline().strip() != "ready":
            process.wait()
            raise failed("before tagging", shard)
    for process in processes:
        process.stdin.write("go\n")
        process.stdin.flush()
    results = []
    for shard, process in enumerate(processes):
        line = process.stdout.readline()
        if process.wait() != 0 or not line:
            raise failed("while tagging", shard)
        results.append(json.loads(line))
    words = sum(result["words"] for result in results)
    seconds = max(result["end"] for result in results) - min(result["start"] for result in results)
    tags = None
    if path.kind == "tagger":  # shards took alternate sentences: interleave them back
        tags = [None] * sum(len(result["tags"]) for result in results)
        for shard, result in enumerate(results):
            tags[shard :: path.processes] = result["tags"]
    return {
        "words_per_second": words / seconds,
        "cpu_words_per_second": words / sum(result["cpu"] for result in results),
        "seconds": seconds,
        "peak_rss_mib": [result["peak_rss_mib"] for result in results],
        "engine": results[0]["engine"],
        "capability": results[0]["capability"],
        "tags": tags,
    }


def load_test_set(dataset: str, split: str) -> tuple[list[list[str]], list[list[str]]]:
    """Words and gold tags of a paper row's split, read from $CRICHTON_DATA_DIR."""
    from data_scripts.registry import load_row

    if not os.environ.get("CRICHTON_DATA_DIR"):
        raise SystemExit("Set $CRICHTON_DATA_DIR to the Crichton corpus root (the folder holding NCBI-disease-IOB/).")
    rows = load_row(dataset, splits=[split])[split]
    names = rows.features["ner_tags"].feature.names
    return [list(tokens) for tokens in rows["tokens"]], [[names[tag] for tag in tags] for tags in rows["ner_tags"]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="A checkpoint folder (e.g. an export of run_ner_mtl.py).")
    parser.add_argument("--dataset", default="NCBI-disease", help="Paper row whose test sentences are tagged.")
    parser.add_argument("--split", default="test")
    parser.add_argument("--batch_size", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--write", metavar="BENCHMARKS.md", help="replace the bench_infer section of this file")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(json.loads(args.worker))
        return
    if not args.model:
        parser.error("--model is required")
    if not (Path(args.model) / "config.json").is_file():
        parser.error(f"--model {args.model}: no config.json there, expected a checkpoint folder")

    from mtl_bioner.training.metrics import entity_scores

    sentences, gold = load_test_set(args.dataset, args.split)
    num_words = sum(map(len, sentences))
    runs: dict[str, list[dict]] = {path.name: [] for path in PATHS}
    with tempfile.TemporaryDirectory(prefix="bench_infer_") as scratch:
        sentences_file = Path(scratch) / "sentences.json"
        sentences_file.write_text(json.dumps(sentences), encoding="utf-8")
        common = {"model": args.model, "sentences": str(sentences_file), "batch_size": args.batch_size}
        for round_index in range(args.rounds):
            order = PATHS[round_index % len(PATHS) :] + PATHS[: round_index % len(PATHS)]
            for path in order:
                runs[path.name].append(run_path(path, common, Path(scratch)))
                print(
                    f"round {round_index + 1}/{args.rounds}: {path.name}: "
                    f"{runs[path.name][-1]['words_per_second']:,.0f} words/s",
                    file=sys.stderr,
                    flush=True,
                )

    def median(name: str, key: str) -> float:
        return statistics.median(run[key] for run in runs[name])

    def ratio(numerator: str, denominator: str, key: str) -> float:
        return statistics.median(a[key] / b[key] for a, b in zip(runs[numerator], runs[denominator], strict=True))

    scores = {
        precision: entity_scores(gold, runs[f"{precision}, 2 threads"][0]["tags"])["f1"] for precision in PRECISIONS
    }
    disagreements = {}
    for path in PATHS:
        if path.kind != "tagger":
            continue
        reference = runs[f"{path.quantize or 'fp32'}, 2 threads"][0]["tags"]
        disagreements[path.name] = sum(
            a != b
            for run in runs[path.name]
            for sentence, reference_sentence in zip(run["tags"], reference, strict=True)
            for a, b in zip(sentence, reference_sentence, strict=True)
        )
    engine = runs["int8, 2 threads"][0]["engine"]
    lines = [
        "## Inference on CPU: fp32, int8 and bf16 tagger, threads and processes, standard pipeline",
        "",
        f"`{Path(args.model).name}` checkpoint on the {len(sentences)} `{args.dataset}` {args.split} sentences "
        f"({num_words} words); batch size {args.batch_size}; median of {args.rounds} interleaved rounds; int8 = "
        f"dynamic quantization of the encoder's Linear layers but the feed-forward down-projections (engine `{engine}`), bf16 = the encoder under bfloat16 "
        "autocast (CPU capability "
        f"`{runs['bf16, 2 threads'][0]['capability']}`); emission output and CRF in fp32 in both; "
        f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', 'unset')}.",
        "",
        "| path | cores | words/s | words/s per core | CPU words/s | s (median) | peak RSS per process (MiB) |",
        "|---|---|---|---|---|---|---|",
    ]
    for path in PATHS:
        rss = max(max(run["peak_rss_mib"]) for run in runs[path.name])
        lines.append(
            f"| {path.name} | {path.cores} | {median(path.name, 'words_per_second'):,.0f} | "
            f"{median(path.name, 'words_per_second') / path.cores:,.0f} | "
            f"{median(path.name, 'cpu_words_per_second'):,.0f} | {median(path.name, 'seconds'):.2f} | {rss:,.0f} |"
        )
    lines += [
        "",
        f"Entity F1 on {args.dataset} {args.split} (seqeval default mode): fp32 **{100 * scores['fp32']:.2f}**, "
        + ", ".join(
            f"{precision} **{100 * scores[precision]:.2f}** ({100 * (scores[precision] - scores['fp32']):+.2f})"
            for precision in REDUCED
        )
        + " (goal: within 0.3 of fp32).",
        "",
    ]
    for precision in REDUCED:
        lines += [
            f"{precision} / fp32 words/s: **{ratio(f'{precision}, 2 threads', 'fp32, 2 threads', 'words_per_second'):.2f}x** "
            f"on 2 threads, {ratio(f'{precision}, 1 thread', 'fp32, 1 thread', 'words_per_second'):.2f}x on 1 thread, "
            + f"{ratio(f'{precision}, 2 processes x 1 thread', 'fp32, 2 processes x 1 thread', 'words_per_second'):.2f}x"
            + " in 2 processes (goal: 1.8x on 2 cores); per CPU second "
            f"{ratio(f'{precision}, 2 threads', 'fp32, 2 threads', 'cpu_words_per_second'):.2f}x on 2 threads.",
            "",
        ]
    lines += [
        "2 processes x 1 thread / 1 process x 2 threads: "
        + ", ".join(
            f"{precision} {ratio(f'{precision}, 2 processes x 1 thread', f'{precision}, 2 threads', 'words_per_second'):.2f}x"
            for precision in PRECISIONS
        )
        + ". Tagger / standard pipeline, 2 threads: "
        + ", ".join(
            f"{precision} {ratio(f'{precision}, 2 threads', PIPELINE, 'words_per_second'):.2f}x"
            for precision in PRECISIONS
        )
        + ".",
        "",
        "Words tagged differently from the same precision's first 2-thread run (all rounds): "
        + ", ".join(f"{name} {count}" for name, count in disagreements.items())
        + " (int8 activation scales are computed per batch, so differently composed batches may change a few tags).",
        "",
        f"Machine: {machine()}. Command: `{command()}`.",
    ]
    publish("\n".join(lines), "bench_infer", args.write)


if __name__ == "__main__":
    main()
