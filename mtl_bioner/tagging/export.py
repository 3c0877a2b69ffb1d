"""`bioner-export`: write the ONNX graph of checkpoints this package trained, next to their files.

    bioner-export runs/demo/mtl-ls-0.5/export/NCBI-disease --quantize int8
    bioner-tag --model runs/demo/mtl-ls-0.5/export/NCBI-disease --backend onnx --quantize int8 --input docs.txt

Writes `<checkpoint>/onnx/model.onnx` (the encoder and the emission layer, fp32, dynamic batch and sequence axes;
its emissions are checked against PyTorch before it is kept) and, with `--quantize int8`, `onnx/model.int8.onnx`
(dynamic int8, the feed-forward down-projections and the emission layer kept in fp32). The CRF stays in the checkpoint
and decodes with this package's Viterbi. Pushed with the checkpoint (`--push_to_hub`, `push_run_to_hub`), the graphs
travel to the Hub.
"""

from __future__ import annotations

import argparse
import sys

from .onnx_backend import export_onnx


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="bioner-export",
        description=__doc__.split("\n\n")[0],
        epilog=__doc__.split("\n\n", 2)[2],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("checkpoints", nargs="+", metavar="CHECKPOINT", help="exported checkpoint folder(s)")
    parser.add_argument("--quantize", choices=("int8",), help="also write the int8 graph")
    args = parser.parse_args(argv)
    try:
        for checkpoint in args.checkpoints:
            for path in export_onnx(checkpoint, quantize=args.quantize):
                print(path)
    except (OSError, ValueError, ImportError, RuntimeError) as error:  # a bad folder or no ONNX Runtime: one line
        print(f"bioner-export: error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
