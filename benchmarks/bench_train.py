"""Training-step time: MTL-LS vs STL at equal batch, and XLNet-CRF vs transformers' XLNetForTokenClassification.

One optimiser step (forward, backward, AdamW) per operation, interleaved round by round on the same batches. MTL-LS
alternates the batches between two datasets whose models share the embeddings and the bottom half of the layers;
its step should cost what an STL step costs (goal: ratio <= 1.05), since a batch runs through one ordinary model.
The second comparison gives the CRF head's share of a step (same encoder, softmax cross-entropy head instead).
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch


sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _report import command, machine, publish  # noqa: E402
from transformers import XLNetConfig, XLNetForTokenClassification  # noqa: E402

from modeling_xlnet_crf import XLNetCRFConfig, XLNetForTokenClassificationCRF  # noqa: E402
from mtl_bioner.training.multitask import layer_sliced, single_model  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch_size", type=int, default=32)
    parser.add_argument("--seq_len", type=int, default=64)
    parser.add_argument("--config", default="n_layer=4,d_model=128,n_head=4,d_inner=512")
    parser.add_argument("--write", metavar="BENCHMARKS.md")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    encoder = {key: int(value) for key, value in (item.split("=") for item in args.config.split(","))}
    labels = ["O", "B-Disease", "I-Disease"]
    label_maps = {"id2label": dict(enumerate(labels)), "label2id": {label: i for i, label in enumerate(labels)}}
    common = dict(vocab_size=8000, dropout=0.1, **encoder, **label_maps)

    def crf_model():
        torch.manual_seed(0)
        return XLNetForTokenClassificationCRF(XLNetCRFConfig(**common))

    stl = single_model(["A"], crf_model())
    sliced = layer_sliced(["A", "B"], lambda task: crf_model(), 0.5, crf_model())
    torch.manual_seed(0)
    softmax = XLNetForTokenClassification(XLNetConfig(**common))

    generator = torch.Generator().manual_seed(0)
    batch_size, length = args.batch_size, args.seq_len
    input_ids = torch.randint(10, 8000, (batch_size, length), generator=generator)
    attention_mask = torch.ones_like(input_ids)
    # Words of 1-3 pieces; labels on first pieces (the "first" scheme), -100 on the rest and on <sep><cls>.
    word_ids = torch.full((batch_size, length), -1)
    labels_tensor = torch.full((batch_size, length), -100)
    for row in range(batch_size):
        position, word = 0, 0
        while position < length - 2:
            size = int(torch.randint(1, 4, (1,), generator=generator))
            word_ids[row, position : min(position + size, length - 2)] = word
            labels_tensor[row, position] = int(torch.randint(0, 3, (1,), generator=generator))
            position, word = position + size, word + 1
    batch = {"input_ids": input_ids, "attention_mask": attention_mask, "labels": labels_tensor, "word_ids": word_ids}

    def stepper(model, call):
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
        model.train()

        def step():
            call(model).loss.backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)

        return step

    tasks = iter(["A", "B"] * (args.rounds + args.warmup + 1))
    operations = {
        "STL (XLNet-CRF)": stepper(stl, lambda m: m(task="A", **batch)),
        "MTL-LS 0.5, two datasets": stepper(sliced, lambda m: m(task=next(tasks), **batch)),
        "XLNetForTokenClassification (softmax)": stepper(
            softmax, lambda m: m(input_ids=input_ids, attention_mask=attention_mask, labels=labels_tensor)
        ),
    }
    times = {name: [] for name in operations}
    for round_index in range(args.warmup + args.rounds):
        for name, operation in operations.items():
            start = time.perf_counter()
            operation()
            if round_index >= args.warmup:
                times[name].append((time.perf_counter() - start) * 1e3)
    medians = {name: statistics.median(values) for name, values in times.items()}
    stl_ms = medians["STL (XLNet-CRF)"]
    lines = [
        "## Training step: MTL-LS vs STL, CRF head vs softmax head",
        "",
        f"Command: `{command()}`  ",
        f"Machine: {machine()}  ",
        f"Encoder {args.config}, batch {batch_size} x {length} pieces, one AdamW step per operation, "
        f"{args.rounds} interleaved rounds after {args.warmup} warm-up rounds; medians.",
        "",
        "| operation | ms / step | relative to STL |",
        "|---|---|---|",
    ]
    for name, value in medians.items():
        lines.append(f"| {name} | {value:.1f} | {value / stl_ms:.3f} |")
    crf_share = (stl_ms - medians["XLNetForTokenClassification (softmax)"]) / stl_ms
    lines += [
        "",
        f"MTL-LS / STL = **{medians['MTL-LS 0.5, two datasets'] / stl_ms:.3f}** (goal <= 1.05); "
        f"the CRF head's share of an XLNet-CRF step: **{100 * crf_share:.1f} %**.",
    ]
    report = "\n".join(lines)
    publish(report, "bench_train", args.write)


if __name__ == "__main__":
    main()
