"""`python -m mtl_bioner.training ...`: the training command of `run_ner_mtl.py`, reached through the package."""

from .experiment import main


main()
