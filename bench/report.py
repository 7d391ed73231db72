"""Render results as a console table and as the Markdown page docs/benchmarks.md."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bench.results import Check, Figure, RowResult


@dataclass(frozen=True)
class RunInfo:
    """Facts about the whole run, shown at the top of the report."""

    command: str
    started: str
    seconds: float
    quick: bool
    repetitions: int
    machine: list[str]
    packages: list[tuple[str, str]]
    tools: list[tuple[str, str]]
    pinning: str


def _number(value: float) -> str:
    if value >= 1000:
        return f"{value:,.0f}"
    if value >= 100:
        return f"{value:.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def _figure_cells(figure: Figure) -> list[str]:
    sample = figure.sample
    return [
        figure.label,
        _number(sample.median),
        _number(sample.min),
        _number(sample.max),
        sample.unit,
        str(len(sample.values)),
    ]


def _check_cells(row: RowResult, check: Check) -> list[str]:
    floor = check.floor
    floor_text = "-"
    if floor is not None:
        floor_text = f"{floor.label}: {_number(floor.sample.median)} {floor.sample.unit}"
    figure = check.figure.sample
    return [
        row.number,
        check.label,
        f"{_number(figure.median)} {figure.unit}",
        floor_text,
        check.ratio_text(),
        check.target_text(),
        check.verdict_text(),
    ]


def summary_cells(rows: Sequence[RowResult]) -> list[list[str]]:
    cells = []
    for row in rows:
        if row.skipped:
            cells.append([row.number, row.title, "-", "-", "-", "-", f"skipped: {row.skipped}"])
            continue
        for check in row.checks:
            cells.append(_check_cells(row, check))
    return cells


SUMMARY_HEADER = ["#", "check", "figure (median)", "floor (median)", "ratio", "target", "met?"]
FIGURE_HEADER = ["figure", "median", "min", "max", "unit", "reps"]


def console(rows: Sequence[RowResult], info: RunInfo) -> str:
    """Return the plain-text report printed at the end of a run."""
    lines = []
    for row in rows:
        lines.append("")
        lines.append(f"== {row.number}. {row.title} ({row.seconds:.0f} s)")
        if row.skipped:
            lines.append(f"   skipped: {row.skipped}")
            continue
        extra_names = _extra_names(row)
        table = [
            [*_figure_cells(figure), *(figure.extra.get(n, "") for n in extra_names)]
            for figure in row.figures
        ]
        lines += _text_table([*FIGURE_HEADER, *extra_names], table)
    lines.append("")
    lines.append(f"== Targets ({'quick' if info.quick else 'full'} run, {info.seconds:.0f} s)")
    lines += _text_table(SUMMARY_HEADER, summary_cells(rows))
    return "\n".join(lines)


def _extra_names(row: RowResult) -> list[str]:
    names: dict[str, None] = {}
    for figure in row.figures:
        for name in figure.extra:
            names.setdefault(name)
    return list(names)


def _text_table(header: list[str], rows: list[list[str]]) -> list[str]:
    widths = [len(cell) for cell in header]
    for row in rows:
        widths = [max(width, len(cell)) for width, cell in zip(widths, row, strict=True)]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(header, widths, strict=True))]
    lines.append("  ".join("-" * width for width in widths))
    for row in rows:
        lines.append("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
    return lines


def _markdown_table(header: list[str], rows: list[list[str]]) -> list[str]:
    def escape(cell: str) -> str:
        return cell.replace("|", "\\|")

    lines = ["| " + " | ".join(escape(cell) for cell in header) + " |"]
    lines.append("|" + "|".join("---" for _ in header) + "|")
    for row in rows:
        lines.append("| " + " | ".join(escape(cell) for cell in row) + " |")
    return lines


def markdown(rows: Sequence[RowResult], info: RunInfo, intro: str) -> str:
    """Return the benchmark page: run facts, the target summary and one section per row."""
    lines = ["# Benchmarks", "", intro.strip(), ""]
    lines += ["## This run", ""]
    lines += [
        f"- Command: `{info.command}`",
        f"- Started: {info.started}, took {info.seconds / 60:.1f} minutes",
        f"- Repetitions per figure: {info.repetitions} (the tables give their median, "
        "min and max; every ratio divides medians from this run)",
        f"- Pinning: {info.pinning}",
    ]
    lines += [f"- {line}" for line in info.machine]
    lines += [f"- {name}: {version}" for name, version in info.tools]
    lines.append("")
    lines.append(
        "Packages: " + ", ".join(f"{name} {version}" for name, version in info.packages) + "."
    )
    lines += ["", "## Targets", ""]
    lines += _markdown_table(SUMMARY_HEADER, summary_cells(rows))

    for row in rows:
        lines += ["", f"## {row.number}. {row.title}", ""]
        if row.skipped:
            lines.append(f"Skipped: {row.skipped}")
            continue
        extra_names = _extra_names(row)
        table = [
            [*_figure_cells(figure), *(figure.extra.get(n, "") for n in extra_names), figure.note]
            for figure in row.figures
        ]
        lines += _markdown_table([*FIGURE_HEADER, *extra_names, "note"], table)
        lines.append("")
        checks = [[*_check_cells(row, check)[1:], check.note] for check in row.checks]
        lines += _markdown_table([*SUMMARY_HEADER[1:], "note"], checks)
        lines.append("")
        lines += [f"- {note}" for note in row.notes]
    lines.append("")
    return "\n".join(lines)
