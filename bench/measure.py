"""Timing primitives: interleaved repetitions of in-process loops, and CPU pinning.

A case is a loop over prepared inputs that returns how many operations it ran. Cases that
are compared with each other run in the same repetition, one after the other, in an order
that rotates every repetition, so slow and fast phases of the machine hit all of them.
"""

from __future__ import annotations

import gc
import os
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

# The benchmark process runs on this CPU. Servers under load run on SERVER_CPU, and load
# generators share LOAD_CPU with this (then idle) process.
LOAD_CPU = 1
SERVER_CPU = 0


@dataclass(frozen=True)
class Sample:
    """Repeated measurements of one figure, in ``unit``.

    ``higher_is_better`` is True for rates (requests per second) and False for costs.
    """

    values: tuple[float, ...]
    unit: str
    higher_is_better: bool = False

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    @property
    def min(self) -> float:
        return min(self.values)

    @property
    def max(self) -> float:
        return max(self.values)

    @property
    def best(self) -> float:
        return self.max if self.higher_is_better else self.min


@dataclass
class Case:
    """One timed loop: ``run`` performs the operations and returns their count.

    ``setup`` runs before every repetition, outside the timed part, for example to empty
    a cache so that every repetition measures first sight.
    """

    run: Callable[[], int]
    setup: Callable[[], None] | None = None
    timings: list[float] = field(default_factory=list)


def per_op_microseconds(case: Case) -> float:
    """Run one repetition of ``case`` and return its wall-clock time per operation in µs."""
    if case.setup is not None:
        case.setup()
    # Collect before timing, so that garbage left by the previous case is not charged here.
    # The collector stays enabled during the loop, as it is in a serving process.
    gc.collect()
    start = time.perf_counter_ns()
    count = case.run()
    elapsed = time.perf_counter_ns() - start
    if count <= 0:
        raise ValueError("a benchmark case must run at least one operation")
    return elapsed / count / 1000


def interleave(cases: dict[str, Case], repetitions: int, warmups: int = 1) -> dict[str, Sample]:
    """Time every case ``repetitions`` times, rotating their order each repetition.

    The first ``warmups`` rounds are run and discarded: they compile lazy regular
    expressions, fill the CPU caches and let the allocator settle.
    """
    names = list(cases)
    for _ in range(warmups):
        for name in names:
            per_op_microseconds(cases[name])

    for repetition in range(repetitions):
        shift = repetition % len(names)
        for name in names[shift:] + names[:shift]:
            cases[name].timings.append(per_op_microseconds(cases[name]))

    return {name: Sample(tuple(case.timings), "µs/op") for name, case in cases.items()}


def pin_to_cpu(cpu: int) -> bool:
    """Pin this process to ``cpu`` when the machine has it; return whether it did."""
    if not hasattr(os, "sched_setaffinity") or cpu not in os.sched_getaffinity(0):
        return False
    os.sched_setaffinity(0, {cpu})
    return True


def cpus_available() -> Sequence[int]:
    if not hasattr(os, "sched_getaffinity"):
        return list(range(os.cpu_count() or 1))
    return sorted(os.sched_getaffinity(0))
