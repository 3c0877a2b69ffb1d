"""`bioner-serve`: load the models once and serve them over HTTP (FastAPI under uvicorn).

    bioner-serve --model runs/demo/mtl-ls-0.5/export/NCBI-disease
    curl -s localhost:8000/tag -H 'Content-Type: application/json' -d '{"text": "BRCA1 mutations cause breast cancer."}'

Open http://127.0.0.1:8000/ for a page that highlights the entities of a pasted paragraph. The service binds to
127.0.0.1 unless --host says otherwise, and reads no file a request names.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from ..tagging.entities import OVERLAP_POLICIES
from ..tagging.precision import BACKENDS, QUANTIZATION_MODES
from .requests import Limits


def describe(tagger, path: str) -> dict:
    """What `GET /models` says of one loaded model: its labels and types, and from its model card (or its run) the
    base model and the licence of its weights."""
    base_model = licence = None
    card = Path(path) / "README.md"
    if card.is_file():
        from huggingface_hub import ModelCard

        data = ModelCard.load(card).data
        base_model, licence = data.base_model, data.license_name or data.license
    elif (Path(path).parent.parent / "run_config.json").is_file():  # an export inside its run folder
        from ..model_card import base_model as card_base_model
        from ..model_card import corpora_of, weights_licence
        from ..vocabulary import RunConfig

        run = RunConfig.read(Path(path).parent.parent)
        base_model = card_base_model(run)[1]
        licence = weights_licence(corpora_of(run, Path(path).name)).text
    return {
        "name": tagger.name,
        "path": path,
        "labels": list(tagger.id2label.values()),
        "entity_types": tagger.entity_types,
        "base_model": base_model,
        "licence": licence,
        "backend": "onnx" if type(tagger.model).__name__ == "OnnxCRFModel" else "torch",
        "quantize": tagger.quantize,
    }


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bioner-serve", description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", nargs="+", required=True, help="Checkpoint folder(s) or Hub id(s).")
    parser.add_argument("--host", default="127.0.0.1", help="Address to bind (default: this machine only).")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--backend", choices=BACKENDS, default="torch")
    parser.add_argument("--quantize", choices=QUANTIZATION_MODES, default=None)
    parser.add_argument("--overlaps", choices=OVERLAP_POLICIES, default="keep", help="Spans of several models.")
    parser.add_argument("--device", default=None, help="cpu, cuda, ... (default: cuda if available, else cpu).")
    parser.add_argument("--batch_size", type=int, default=32, help="Windows per forward pass.")
    parser.add_argument("--max_seq_length", type=int, default=512)
    parser.add_argument("--stride", type=int, default=128)
    parser.add_argument("--max_chars", type=int, default=Limits.max_chars, help="Longest text a request may send.")
    parser.add_argument("--max_texts", type=int, default=Limits.max_texts, help="Most texts one request may send.")
    parser.add_argument("--max_batch", type=int, default=64, help="Texts of concurrent requests tagged together.")
    parser.add_argument("--batch_ms", type=float, default=5.0, help="How long an idle service gathers requests.")
    parser.add_argument("--log_level", default="info")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    import uvicorn

    from ..tagging.tagger import BioNERTagger, MultiTagger
    from .app import create_app

    try:
        tagger = BioNERTagger.from_pretrained(
            args.model if len(args.model) > 1 else args.model[0],
            device=args.device,
            batch_size=args.batch_size,
            max_seq_length=args.max_seq_length,
            stride=args.stride,
            overlaps=args.overlaps,
            quantize=args.quantize,
            backend=args.backend,
        )
    except (OSError, ValueError, ImportError) as error:
        print(f"bioner-serve: error: {error}", file=sys.stderr)
        return 1
    taggers = tagger.taggers.values() if isinstance(tagger, MultiTagger) else [tagger]
    models = [describe(one, os.fspath(path)) for one, path in zip(taggers, args.model, strict=True)]
    app = create_app(
        tagger,
        models,
        limits=Limits(args.max_chars, args.max_texts),
        max_batch_texts=args.max_batch,
        wait_seconds=args.batch_ms / 1000,
    )
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level)
    return 0


if __name__ == "__main__":
    sys.exit(main())
