"""Training time that survives a resume.

Trainer's `train_runtime` times one `train()` call, so a run killed and resumed from its last checkpoint reports only
the steps after the resume. `TrainingClock` carries the seconds spent up to each checkpoint in that checkpoint's
trainer state and logs `train_runtime_total` beside `train_runtime`: the time of the steps the final model went
through, without the steps a crash lost and a resume ran again.
"""

from __future__ import annotations

import time

from transformers import TrainerCallback
from transformers.trainer_callback import ExportableState

from ..vocabulary import TOTAL_RUNTIME


class TrainingClock(TrainerCallback, ExportableState):
    """Seconds in `train()` over every session of a run, kept in each checkpoint's `stateful_callbacks`.

    It reads its earlier seconds from the resumed trainer state itself, so it needs no
    `restore_callback_states_from_checkpoint`; a checkpoint saved without it resumes with the clock at zero."""

    def __init__(self):
        self.seconds = 0.0  # spent in the sessions before this one
        self._session_began: float | None = None

    def elapsed(self) -> float:
        session = 0.0 if self._session_began is None else time.monotonic() - self._session_began
        return self.seconds + session

    def state(self) -> dict:
        return {"args": {}, "attributes": {"seconds": self.elapsed()}}

    def on_train_begin(self, args, state, control, **kwargs):
        name = type(self).__name__
        saved = state.stateful_callbacks.get(name) if state.global_step > 0 else None
        self.seconds = float(saved["attributes"]["seconds"]) if isinstance(saved, dict) else 0.0
        self._session_began = time.monotonic()
        # A checkpoint written without the clock has no entry, and Trainer's next save expects one.
        state.stateful_callbacks.setdefault(name, self.state())

    def on_log(self, args, state, control, logs=None, **kwargs):
        if logs and "train_runtime" in logs and state.log_history:
            state.log_history[-1][TOTAL_RUNTIME] = round(self.seconds + logs["train_runtime"], 4)
