"""Progress bars for long loads (rich), or nothing when not asked for."""

from __future__ import annotations

from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)


class LoadProgress:
    """Named counters shown as bars; a no-op unless `enabled`."""

    def __init__(self, enabled: bool, console: Console | None = None) -> None:
        self._progress = (
            Progress(
                SpinnerColumn(),
                TextColumn("{task.description:<10}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=console or Console(stderr=True),
                transient=False,
            )
            if enabled
            else None
        )
        self._tasks: dict[str, TaskID] = {}

    def __enter__(self) -> LoadProgress:
        if self._progress is not None:
            self._progress.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._progress is not None:
            self._progress.stop()

    def _task(self, name: str) -> TaskID | None:
        if self._progress is None:
            return None
        if name not in self._tasks:
            self._tasks[name] = self._progress.add_task(name, total=None)
        return self._tasks[name]

    def grow(self, name: str, amount: int) -> None:
        """More work became known (a page announced more items to fetch)."""
        task = self._task(name)
        if task is not None and self._progress is not None:
            total = next((t.total or 0 for t in self._progress.tasks if t.id == task), 0)
            self._progress.update(task, total=total + amount)

    def advance(self, name: str, amount: int = 1) -> None:
        task = self._task(name)
        if task is not None and self._progress is not None:
            self._progress.advance(task, amount)
