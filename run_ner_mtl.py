#!/usr/bin/env python
# Copyright 2026 The xlnet-crf-mtl authors.
# Licensed under the Apache License, Version 2.0.
"""Train a CRF over XLNet or any BERT-family encoder on the Crichton corpora (or your own, `--corpora`): STL, MTL-XC
or MTL-LS (Chai et al. 2022), on one process or many.

    accelerate launch run_ner_mtl.py --mode mtl-xc --group disease --model_name_or_path xlnet-base-cased \
        --output_dir runs/disease/mtl-xc --num_train_epochs 30
    accelerate launch run_ner_mtl.py --mode mtl-ls --slicing_rate 0.5 --group disease \
        --mtl_xc_checkpoint runs/disease/mtl-xc --model_name_or_path xlnet-base-cased --output_dir runs/disease/ls-0.5

A single YAML or JSON file holding the same fields may replace the command-line flags. `python -m
mtl_bioner.training` is the same command; the code is in `mtl_bioner/training/` (arguments, experiment).
"""

from mtl_bioner.training.experiment import main


if __name__ == "__main__":
    main()
