"""Run by the two-process test under torchrun: trains, then writes what each rank saw and a parameter checksum."""

import functools
import json
import os
import sys
from pathlib import Path

from transformers import TrainerCallback


sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mtl_bioner.training import arguments, experiment  # noqa: E402
from mtl_bioner.training.multitask import MultiTaskModel  # noqa: E402


TASKS_SEEN: list[str] = []
_forward = MultiTaskModel.forward


@functools.wraps(_forward)  # keeps the signature Trainer reads to choose columns
def recording_forward(self, task, **batch):
    if self.training:
        TASKS_SEEN.append(task)
    return _forward(self, task, **batch)


MultiTaskModel.forward = recording_forward


class ReportPerRank(TrainerCallback):
    def on_train_end(self, args, state, control, model=None, **kwargs):
        rank = int(os.environ.get("RANK", "0"))
        parameters = {name: value.detach().double().sum().item() for name, value in model.state_dict().items()}
        report = {"world_size": args.world_size, "tasks_seen": TASKS_SEEN, "parameters": parameters}
        Path(args.output_dir, f"rank{rank}.json").write_text(json.dumps(report))


if __name__ == "__main__":
    model_args, data_args, mt_args, training_args = arguments.parse_arguments()
    arguments.check_arguments(model_args, mt_args)
    experiment.Experiment(model_args, data_args, mt_args, training_args, callbacks=[ReportPerRank()]).run()
