"""CRF speed: ours vs pytorch-crf, interleaved in one process.

B=32, T=128, K in {5, 9}, full and ragged (right-padded) masks, 2 threads. Each round runs every operation once in
turn, so both implementations see the same machine load; medians over the rounds and their ratios are reported.
Before timing, the NLLs are checked equal (relative 1e-5) and the Viterbi paths identical.
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

from modeling_xlnet_crf import ConditionalRandomField  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=60)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--write", metavar="BENCHMARKS.md", help="replace the CRF section of this file")
    parser.add_argument(
        "--only", choices=("nll", "decode"), help="time only this operation (a quicker check on a loaded machine)"
    )
    args = parser.parse_args()
    import torchcrf

    torch.set_num_threads(args.threads)
    batch, length = 32, 128
    names = {"nll": "NLL fwd+bwd", "decode": "Viterbi decode"}
    timed = [names[args.only]] if args.only else list(names.values())
    rows = []
    for num_tags in (5, 9):
        for ragged in (False, True):
            generator = torch.Generator().manual_seed(0)
            ours = ConditionalRandomField(num_tags)
            theirs = torchcrf.CRF(num_tags, batch_first=True)
            theirs.load_state_dict(ours.state_dict())
            emissions = torch.randn(batch, length, num_tags, generator=generator) * 3
            tags = torch.randint(0, num_tags, (batch, length), generator=generator)
            lengths = (
                torch.randint(length // 4, length + 1, (batch,), generator=generator)
                if ragged
                else torch.full((batch,), length)
            )
            lengths[0] = length
            mask = torch.arange(length)[None, :] < lengths[:, None]
            with torch.no_grad():
                our_nll = ours(emissions, tags, mask, reduction="none")
                their_nll = -theirs(emissions, tags, mask, reduction="none")
                max_relative = ((our_nll - their_nll).abs() / their_nll.abs()).max().item()
                decoded = ours.decode(emissions, mask)
                same_paths = all(
                    decoded[i, : len(p)].tolist() == p for i, p in enumerate(theirs.decode(emissions, mask))
                )
            leaf = emissions.clone().requires_grad_(True)

            def nll(crf, sign):
                def run():
                    leaf.grad = None
                    crf.zero_grad(set_to_none=True)
                    (sign * crf(leaf, tags, mask, reduction="mean")).backward()

                return run

            def decode(crf):
                def run():
                    with torch.no_grad():
                        crf.decode(emissions, mask)

                return run

            operations = {
                ("NLL fwd+bwd", "ours"): nll(ours, 1.0),
                ("NLL fwd+bwd", "pytorch-crf"): nll(theirs, -1.0),
                ("Viterbi decode", "ours"): decode(ours),
                ("Viterbi decode", "pytorch-crf"): decode(theirs),
            }
            operations = {key: operation for key, operation in operations.items() if key[0] in timed}
            times = {key: [] for key in operations}
            for round_index in range(args.warmup + args.rounds):
                for key, operation in operations.items():
                    start = time.perf_counter()
                    operation()
                    elapsed = (time.perf_counter() - start) * 1e3
                    if round_index >= args.warmup:
                        times[key].append(elapsed)
            for op in timed:
                mine, reference = statistics.median(times[(op, "ours")]), statistics.median(times[(op, "pytorch-crf")])
                rows.append(
                    (
                        num_tags,
                        "ragged" if ragged else "full",
                        op,
                        mine,
                        reference,
                        reference / mine,
                        max_relative,
                        same_paths,
                    )
                )
    lines = [
        "## CRF: ours vs pytorch-crf 0.7.2",
        "",
        f"Command: `{command()}`  ",
        f"Machine: {machine()}  ",
        f"B={batch}, T={length}, {args.rounds} interleaved rounds after {args.warmup} warm-up rounds; medians in ms.",
        "",
        "| K | mask | operation | ours (ms) | pytorch-crf (ms) | speed-up | max rel. NLL diff | identical paths |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for num_tags, mask_kind, op, mine, reference, ratio, max_relative, same_paths in rows:
        lines.append(
            f"| {num_tags} | {mask_kind} | {op} | {mine:.2f} | {reference:.2f} | **{ratio:.1f}×** | {max_relative:.1e} | {same_paths} |"
        )
    decode_ratios = ", ".join(
        f"K={num_tags} {mask_kind} **{ratio:.1f}×**"
        for num_tags, mask_kind, op, _, _, ratio, _, _ in rows
        if op == "Viterbi decode"
    )
    if decode_ratios:
        lines += ["", f"Viterbi decode speed-up over pytorch-crf (goal >= 4x in each configuration): {decode_ratios}."]
    report = "\n".join(lines)
    publish(report, "bench_crf", args.write)


if __name__ == "__main__":
    main()
