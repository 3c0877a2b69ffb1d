"""CPU tagging speed, memory and accuracy of a trained CRF checkpoint: the PyTorch backend in fp32, int8 and bf16
(`--quantize int8`, `--quantize bf16`), the ONNX Runtime backend in fp32 and int8 (`--backend onnx`), on 1 and 2
threads, against transformers' standard token-classification pipeline on the same encoder. An ablation int8 graph
that also keeps the feed-forward down-projections in fp32 (as the PyTorch int8 path does) shows what that choice costs
and buys (`onnx_backend.fp32_nodes`).

    python benchmarks/bench_infer.py --model runs/demo/mtl-ls-0.5/export/NCBI-disease

Input: the test sentences of `--dataset` (read by `data_scripts.registry.load_row`, from $CRICHTON_DATA_DIR). The
tagger gets their words (`BioNERTagger.tag_words`) and is scored against the gold tags (entity F1, seqeval's default
mode); the standard pipeline (`pipeline("token-classification", aggregation_strategy="simple")` over an
`AutoModelForTokenClassification` holding the checkpoint's encoder and emission layer: argmax instead of Viterbi)
gets the same sentences as text. Every path runs in subprocesses of its own, so each peak RSS is that path's alone;
each process loads and warms up, then all of a path's processes start together on a signal. "2 processes" are two
1-thread processes on alternate sentences (what `torchrun --nproc_per_node 2 -m mtl_bioner.tagging.cli` does by chunks),
timed from the first start to the last end. The windows are the demo's training windows (`--max_seq_length 128
--stride 32`), so that fp32 PyTorch scores what the run's own evaluation scored. Paths are interleaved over `--rounds` rounds so that all see the same
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
    backend: str = "torch"
    graph: str | None = None  # an ONNX graph other than the checkpoint's own (the ablation)

    @property
    def cores(self) -> int:
        return self.threads * self.processes

    @property
    def precision(self) -> str:
        return f"{self.backend} {self.quantize or 'fp32'}" + (" (down-projections in fp32)" if self.graph else "")


# (backend, quantize): PyTorch fp32 is the reference of every ratio.
PRECISIONS = (("torch", None), ("torch", "int8"), ("torch", "bf16"), ("onnx", None), ("onnx", "int8"))
REFERENCE = "torch fp32"
ABLATION = "onnx-int8-fp32-down-projections"
LAYOUTS = (("2 threads", 2), ("1 thread", 1))
PIPELINE = "standard pipeline (torch fp32, argmax), 2 threads"


def contenders(ablation_graph: str) -> tuple[Contender, ...]:
    paths = [
        Contender(f"{backend} {quantize or 'fp32'}, {suffix}", "tagger", quantize, threads, backend=backend)
        for suffix, threads in LAYOUTS
        for backend, quantize in PRECISIONS
    ]
    paths += [
        Contender(
            f"onnx int8 (down-projections in fp32), {suffix}",
            "tagger",
            "int8",
            threads,
            backend="onnx",
            graph=ablation_graph,
        )
        for suffix, threads in LAYOUTS
    ]
    return (*paths, Contender(PIPELINE, "pipeline", None, 2))


def peak_rss_mib() -> float:
    """This process's peak resident set size: VmHWM on Linux (ru_maxrss there survives `exec`, so a worker would
    report its parent's peak), else ru_maxrss (bytes on macOS)."""
    status = Path("/proc/self/status")
    if status.is_file():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
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
        from mtl_bioner.tagging.onnx_backend import OnnxCRFModel
        from mtl_bioner.tagging.tagger import BioNERTagger

        windows = {"max_seq_length": arguments["max_seq_length"], "stride": arguments["stride"]}
        tagger = BioNERTagger.from_pretrained(
            arguments["model"],
            device="cpu",
            batch_size=batch_size,
            quantize=arguments["quantize"],
            backend=arguments["backend"],
            **windows,
        )
        if arguments["graph"]:  # the same checkpoint over another graph
            model = OnnxCRFModel(tagger.model.model, arguments["graph"])
            tagger = BioNERTagger(model, tagger.tokenizer, batch_size=batch_size, quantize="int8", **windows)
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
            "backend": path.backend,
            "graph": path.graph,
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
    parser.add_argument("--max_seq_length", type=int, default=128, help="Window size in pieces (the demo's).")
    parser.add_argument("--stride", type=int, default=32, help="Window overlap in pieces (the demo's).")
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

    from mtl_bioner.tagging.onnx_backend import export_onnx, fp32_nodes, graph_path
    from mtl_bioner.training.metrics import entity_scores

    sentences, gold = load_test_set(args.dataset, args.split)
    num_words = sum(map(len, sentences))
    export_onnx(args.model, quantize="int8")  # the graphs as bioner-export writes them, from this checkpoint
    with tempfile.TemporaryDirectory(prefix="bench_infer_") as scratch:
        ablation = str(Path(scratch) / f"{ABLATION}.onnx")
        import onnx
        from onnxruntime.quantization import QuantType, quantize_dynamic

        kept = fp32_nodes(onnx.load(str(graph_path(args.model))).graph, down_projections=True)
        quantize_dynamic(
            str(graph_path(args.model)), ablation, weight_type=QuantType.QInt8, per_channel=True, nodes_to_exclude=kept
        )
        paths = contenders(ablation)
        runs: dict[str, list[dict]] = {path.name: [] for path in paths}
        sentences_file = Path(scratch) / "sentences.json"
        sentences_file.write_text(json.dumps(sentences), encoding="utf-8")
        common = {
            "model": args.model,
            "sentences": str(sentences_file),
            "batch_size": args.batch_size,
            "max_seq_length": args.max_seq_length,
            "stride": args.stride,
        }
        for round_index in range(args.rounds):
            order = paths[round_index % len(paths) :] + paths[: round_index % len(paths)]
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

    def ratio(numerator: str, denominator: str, key: str = "words_per_second") -> float:
        return statistics.median(a[key] / b[key] for a, b in zip(runs[numerator], runs[denominator], strict=True))

    taggers = [path for path in paths if path.kind == "tagger"]
    f1 = {path.precision: entity_scores(gold, runs[path.name][0]["tags"])["f1"] for path in taggers}
    disagreements = {
        path.name: sum(
            a != b
            for run in runs[path.name]
            for sentence, reference in zip(run["tags"], runs[taggers[0].name][0]["tags"], strict=True)
            for a, b in zip(sentence, reference, strict=True)
        )
        for path in taggers
    }
    lines = [
        "## Inference on CPU: PyTorch and ONNX Runtime backends, fp32 and reduced precision, 1 and 2 threads",
        "",
        f"`{Path(args.model).name}` checkpoint on the {len(sentences)} `{args.dataset}` {args.split} sentences "
        f"({num_words} words), windows of {args.max_seq_length} pieces (stride {args.stride}), batch size "
        f"{args.batch_size}; median of {args.rounds} interleaved rounds, each path in processes of its own; "
        f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', 'unset')}. torch int8: dynamic int8 Linear layers but "
        f"the feed-forward down-projections (engine `{runs[taggers[1].name][0]['engine']}`); torch bf16: the encoder "
        "under bfloat16 autocast; onnx: the encoder and emission layer exported by `bioner-export`, run by ONNX Runtime "
        "(int8: dynamic int8 MatMuls but the emission layer); the CRF decodes "
        "in fp32 in PyTorch in every path.",
        "",
        f"Machine: {machine()}.",
        "",
        "| backend and precision | threads | words/s | × torch fp32 | entity F1 | Δ F1 | peak RSS (MiB) |",
        "|---|---|---|---|---|---|---|",
    ]
    for suffix, threads in LAYOUTS:
        reference = f"{REFERENCE}, {suffix}"
        for path in [path for path in taggers if path.threads == threads]:
            rss = max(max(run["peak_rss_mib"]) for run in runs[path.name])
            lines.append(
                f"| {path.precision} | {threads} | {median(path.name, 'words_per_second'):,.0f} | "
                f"{ratio(path.name, reference):.2f} | {100 * f1[path.precision]:.2f} | "
                f"{100 * (f1[path.precision] - f1[REFERENCE]):+.2f} | {rss:,.0f} |"
            )
    lines += [
        f"| {PIPELINE} | 2 | {median(PIPELINE, 'words_per_second'):,.0f} | "
        f"{ratio(PIPELINE, f'{REFERENCE}, 2 threads'):.2f} | – | – | "
        f"{max(max(run['peak_rss_mib']) for run in runs[PIPELINE]):,.0f} |",
        "",
        "× torch fp32: median over rounds of each round's ratio to PyTorch fp32 on the same threads. Entity F1 "
        f"(seqeval's default mode) of each path's first run on {args.dataset} {args.split}. Words tagged differently "
        "from PyTorch fp32 (all rounds): "
        + ", ".join(f"{name} {count}" for name, count in disagreements.items() if count)
        + " (int8 activation scales are computed per batch, so batches of other sentences may change a few tags).",
        "",
        f"Command: `{command()}`.",
    ]
    publish("\n".join(lines), "bench_infer", args.write)


if __name__ == "__main__":
    main()
