"""Results of a benchmark row: measured figures and the targets checked against them."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from bench.measure import Sample


class Goal(enum.Enum):
    """Comparison that a check applies to a figure and its floor or limit."""

    # cost(figure) / cost(floor) <= limit
    MAX_COST_RATIO = "max_cost_ratio"
    # figure <= limit, in the figure's unit
    MAX_VALUE = "max_value"
    # cost(peer) / cost(figure) >= limit: the figure is at least `limit` times faster
    MIN_SPEEDUP = "min_speedup"
    # rate(figure) / rate(floor) >= limit, where a cost per operation counts as 1 / rate
    MIN_RATE_RATIO = "min_rate_ratio"
    # A boolean decided by the row, with its reason in the note
    BOOLEAN = "boolean"


@dataclass
class Figure:
    """One measured quantity: its label, its repetitions and a note on how it was taken."""

    label: str
    sample: Sample
    note: str = ""
    # Extra columns shown beside the figure, such as p50 and p99 latency.
    extra: dict[str, str] = field(default_factory=dict)


@dataclass
class Check:
    """A target: the figure, what it is measured against, the limit and the verdict."""

    label: str
    figure: Figure
    goal: Goal
    limit: float
    floor: Figure | None = None
    # Set for BOOLEAN checks; computed for the others.
    passed: bool | None = None
    # False when the check could not be judged, with the reason in the note.
    judged: bool = True
    note: str = ""
    # The target as shown, for BOOLEAN checks whose limit needs words.
    target_label: str = ""

    @property
    def ratio(self) -> float | None:
        """The compared quantity: a ratio of medians, or the figure itself for MAX_VALUE."""
        subject = self.figure.sample
        if self.goal is Goal.MAX_VALUE:
            return subject.median
        if self.floor is None:
            return None
        floor = self.floor.sample
        if self.goal is Goal.MAX_COST_RATIO:
            return subject.median / floor.median
        if self.goal is Goal.MIN_SPEEDUP:
            return floor.median / subject.median
        if self.goal is Goal.MIN_RATE_RATIO:
            # A rate is the inverse of a cost per operation.
            if subject.higher_is_better:
                return subject.median / floor.median
            return floor.median / subject.median
        return None

    @property
    def met(self) -> bool | None:
        if not self.judged:
            return None
        if self.goal is Goal.BOOLEAN:
            return self.passed
        ratio = self.ratio
        if ratio is None:
            return None
        if self.goal in (Goal.MAX_COST_RATIO, Goal.MAX_VALUE):
            return ratio <= self.limit
        return ratio >= self.limit

    def target_text(self) -> str:
        if self.target_label:
            return self.target_label
        if self.goal is Goal.MAX_COST_RATIO:
            return f"≤ {self.limit:g}× floor"
        if self.goal is Goal.MAX_VALUE:
            return f"≤ {self.limit:g} {self.figure.sample.unit}"
        if self.goal is Goal.MIN_SPEEDUP:
            return f"≥ {self.limit:g}× faster"
        if self.goal is Goal.MIN_RATE_RATIO:
            return f"≥ {self.limit:.0%} of floor"
        return "pass"

    def ratio_text(self) -> str:
        if self.goal is Goal.BOOLEAN:
            return f"{self.figure.sample.median:.3g} {self.figure.sample.unit}"
        ratio = self.ratio
        if ratio is None:
            return "-"
        if self.goal is Goal.MAX_VALUE:
            return f"{ratio:.3g} {self.figure.sample.unit}"
        if self.goal is Goal.MIN_RATE_RATIO:
            return f"{ratio:.0%}"
        return f"{ratio:.2f}×"

    def verdict_text(self) -> str:
        met = self.met
        if met is None:
            return "not judged"
        return "met" if met else "MISSED"


@dataclass
class RowResult:
    """The figures and checks of one benchmark row, with notes for the report."""

    number: str
    title: str
    figures: list[Figure] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    skipped: str | None = None
    seconds: float = 0.0

    def figure(self, label: str) -> Figure:
        for figure in self.figures:
            if figure.label == label:
                return figure
        raise KeyError(label)
