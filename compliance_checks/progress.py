"""Progress for long work: one bar per collector and per probe on a terminal, one line per step elsewhere (CI logs)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TextIO


@dataclass
class PlainProgress:
    """The ``rich.progress.Progress`` calls the collector makes, written as plain lines when a bar completes."""

    stream: TextIO = field(default_factory=lambda: sys.stderr)
    _tasks: dict[int, list[Any]] = field(default_factory=dict)

    def add_task(self, description: str, start: bool = True, total: float | None = 100.0, completed: int = 0) -> int:
        task_id = len(self._tasks)
        self._tasks[task_id] = [description, total, completed, False]
        return task_id

    def update(self, task_id: Any, *, total: float | None = None, advance: float | None = None) -> None:
        task = self._tasks[task_id]
        if total is not None:
            task[1] = total
        if advance:
            task[2] += advance
        description, goal, done, said = task
        if not said and goal is not None and done >= goal:
            task[3] = True
            print(f"{description}: {done:g}/{goal:g}", file=self.stream)

    def finish(self) -> None:
        for description, goal, done, said in self._tasks.values():
            if not said:
                shown = f"{done:g}" if goal is None else f"{done:g}/{goal:g}"
                print(f"{description}: {shown}", file=self.stream)
        self._tasks.clear()


@contextmanager
def progress_bars(console: Any) -> Iterator[Any]:
    """A rich Progress on a terminal (bars per task), else PlainProgress."""
    if not console.is_terminal:
        plain = PlainProgress(console.file)
        try:
            yield plain
        finally:
            plain.finish()
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    ) as bars:
        yield bars


def step_bar(bars: Any) -> Any:
    """For ``run_probes``: each step (probe) becomes a bar of one unit, completed when the step ends."""

    @contextmanager
    def step(message: str) -> Iterator[None]:
        task = bars.add_task(message.rstrip("…"), total=1)
        try:
            yield
        finally:
            bars.update(task, advance=1)

    return step
