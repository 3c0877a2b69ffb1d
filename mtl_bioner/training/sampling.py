"""Group-homogeneous batches: every batch holds examples of one group (a dataset, or all datasets when they share one
model), so it can be routed to that group's model."""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence

import torch
from torch.utils.data import Sampler
from transformers.trainer_pt_utils import get_length_grouped_indices


class TaskBatchSampler(Sampler[list[int]]):
    """Yield batches of dataset indices, each drawn from a single task.

    Every batch is full (a task's last partial batch wraps around to the start of its shuffled indices), because
    accelerate's `BatchSamplerShard` assumes equal batch sizes when it deals whole batches to processes; dealt that
    way, each process's batch still comes from one task.

    With `temperature=1` (the default) an epoch visits each task's batches once, in random order, so tasks are
    sampled in proportion to their size. Other temperatures draw each batch's task with probability proportional to
    size ** (1 / temperature) (T > 1 flattens towards uniform), for the same number of batches per epoch.

    Given `lengths`, batches group examples of similar length with transformers' `get_length_grouped_indices` (sorted
    within random mega-batches, the longest batch first), which cuts padding and so time on quadratic attention.
    """

    def __init__(
        self,
        tasks: Sequence[str],
        batch_size: int,
        *,
        temperature: float = 1.0,
        seed: int = 0,
        lengths: Sequence[int] | None = None,
    ):
        if batch_size < 1:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        if temperature <= 0:
            raise ValueError(f"temperature must be positive, got {temperature}")
        self.batch_size = batch_size
        self.drop_last = False
        self.temperature = temperature
        self.seed = seed
        self.epoch = 0
        if lengths is not None and len(lengths) != len(tasks):
            raise ValueError(f"got {len(lengths)} lengths for {len(tasks)} examples")
        self.lengths = lengths
        self.task_indices: dict[str, list[int]] = {}
        for index, task in enumerate(tasks):
            self.task_indices.setdefault(task, []).append(index)
        if not self.task_indices:
            raise ValueError("TaskBatchSampler needs at least one example")

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return sum(math.ceil(len(indices) / self.batch_size) for indices in self.task_indices.values())

    def _task_batches(self, indices: list[int], generator: torch.Generator) -> list[list[int]]:
        if self.lengths is None:
            positions = torch.randperm(len(indices), generator=generator).tolist()
        else:
            task_lengths = [self.lengths[index] for index in indices]
            positions = get_length_grouped_indices(task_lengths, self.batch_size, generator=generator)
        order = [indices[position] for position in positions]
        count = math.ceil(len(order) / self.batch_size)
        padded = [order[i % len(order)] for i in range(count * self.batch_size)]
        return [padded[i * self.batch_size : (i + 1) * self.batch_size] for i in range(count)]

    def __iter__(self) -> Iterator[list[int]]:
        generator = torch.Generator().manual_seed(self.seed + self.epoch)
        names = list(self.task_indices)
        if self.temperature == 1.0:
            batches = [batch for name in names for batch in self._task_batches(self.task_indices[name], generator)]
            for position in torch.randperm(len(batches), generator=generator).tolist():
                yield batches[position]
            return
        sizes = torch.tensor([len(self.task_indices[name]) for name in names], dtype=torch.float64)
        weights = sizes ** (1.0 / self.temperature)
        draws = torch.multinomial(weights / weights.sum(), len(self), replacement=True, generator=generator).tolist()
        streams: dict[str, list[list[int]]] = {name: [] for name in names}
        for draw in draws:
            name = names[draw]
            if not streams[name]:
                streams[name] = self._task_batches(self.task_indices[name], generator)
            yield streams[name].pop(0)


class ConcatenatedBatches(Sampler[int]):
    """The indices of a batch sampler's full batches, one batch after the other.

    A DataLoader with the same `batch_size` cuts this stream back into exactly those batches. That lets `Trainer`
    build the training DataLoader itself (workers, pinning, prefetching, worker seeds, `accelerator.prepare`) from an
    ordinary index sampler, while the batches keep the grouping chosen by `batch_sampler`.
    """

    def __init__(self, batch_sampler: TaskBatchSampler):
        self.batch_sampler = batch_sampler
        self.batch_size = batch_sampler.batch_size

    def set_epoch(self, epoch: int) -> None:
        self.batch_sampler.set_epoch(epoch)

    def __len__(self) -> int:
        return len(self.batch_sampler) * self.batch_size

    def __iter__(self) -> Iterator[int]:
        for batch in self.batch_sampler:
            if len(batch) != self.batch_size:
                raise ValueError(f"got a batch of {len(batch)} indices, expected full batches of {self.batch_size}")
            yield from batch


__all__ = ["ConcatenatedBatches", "TaskBatchSampler"]
