"""TaskBatchSampler and ConcatenatedBatches: full one-task batches, epochs, temperature, length grouping."""

from collections import Counter

import pytest
from torch.utils.data import BatchSampler

from mtl_bioner.training.sampling import ConcatenatedBatches, TaskBatchSampler


def test_task_batch_sampler_yields_full_single_task_batches():
    tasks = ["a"] * 10 + ["b"] * 3 + ["c"] * 7
    sampler = TaskBatchSampler(tasks, 4, seed=1)
    batches = list(sampler)
    assert len(batches) == len(sampler) == 3 + 1 + 2
    assert all(len(batch) == 4 and len({tasks[i] for i in batch}) == 1 for batch in batches)
    assert set().union(*map(set, batches)) == set(range(20))
    sampler.set_epoch(1)
    assert list(sampler) != batches
    sampler.set_epoch(0)
    assert list(sampler) == batches


def test_high_temperature_samples_tasks_near_uniformly():
    flat = TaskBatchSampler(["a"] * 400 + ["b"] * 40, 4, temperature=1e6, seed=0)
    counts = Counter("a" if batch[0] < 400 else "b" for batch in flat)
    assert sum(counts.values()) == len(flat) == 100 + 10
    assert 0.35 < counts["b"] / len(flat) < 0.65
    proportional = TaskBatchSampler(["a"] * 400 + ["b"] * 40, 4, seed=0)
    assert Counter("a" if batch[0] < 400 else "b" for batch in proportional)["b"] == 10


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="temperature"):
        TaskBatchSampler(["a"], 4, temperature=0)
    with pytest.raises(ValueError, match="batch_size"):
        TaskBatchSampler(["a"], 0)
    with pytest.raises(ValueError, match="2 lengths for 1 examples"):
        TaskBatchSampler(["a"], 1, lengths=[3, 4])
    with pytest.raises(ValueError, match="at least one example"):
        TaskBatchSampler([], 1)


def test_length_grouped_batches_cut_padding():
    lengths = [(7 * i) % 97 + 3 for i in range(400)]
    tasks = ["a"] * 300 + ["b"] * 100

    def padding(sampler):
        return sum(max(lengths[i] for i in batch) * len(batch) - sum(lengths[i] for i in batch) for batch in sampler)

    grouped = TaskBatchSampler(tasks, 8, seed=0, lengths=lengths)
    plain = TaskBatchSampler(tasks, 8, seed=0)
    assert {i for batch in grouped for i in batch} == set(range(400))
    assert all(len({tasks[i] for i in batch}) == 1 for batch in grouped)
    assert padding(grouped) < padding(plain) / 3
    # transformers' grouping puts the longest example of each task first, in a batch of its own task.
    longest = {task: max((i for i in range(400) if tasks[i] == task), key=lengths.__getitem__) for task in "ab"}
    assert all(any(batch[0] == index for batch in grouped) for index in longest.values())


def test_concatenated_batches_are_cut_back_into_the_same_batches():
    tasks = ["a"] * 10 + ["b"] * 3 + ["c"] * 7
    sampler = TaskBatchSampler(tasks, 4, seed=5)
    flat = ConcatenatedBatches(sampler)
    assert len(flat) == 6 * 4
    assert list(BatchSampler(flat, 4, drop_last=False)) == list(sampler)
    flat.set_epoch(3)
    assert sampler.epoch == 3
    assert list(BatchSampler(flat, 4, drop_last=False)) == list(sampler)


def test_concatenated_batches_refuse_a_short_batch():
    class Short(TaskBatchSampler):
        def __iter__(self):
            yield [0, 1]

    with pytest.raises(ValueError, match="batch of 2 indices, expected full batches of 4"):
        list(ConcatenatedBatches(Short(["a"] * 8, 4)))
