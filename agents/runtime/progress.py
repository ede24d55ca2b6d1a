"""A live progress bar with ETA (rich) for the training loop, plus steps-per-second."""

from __future__ import annotations

import sys
import time
from types import TracebackType

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.progress import Progress as RichProgress


class Progress:
    """Shows ``step / total`` with elapsed time and ETA; prints plain lines when not on a terminal."""

    def __init__(self, total: int, start: int, description: str, enabled: bool = True) -> None:
        self.total, self.start = total, start
        self.console = Console(file=sys.stdout)
        self.enabled = enabled and self.console.is_terminal
        self._bar = RichProgress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("steps"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=self.console,
            disable=not self.enabled,
        )
        self._task = self._bar.add_task(description, total=total, completed=start)
        self._t0, self._last_t, self._last_step = time.perf_counter(), time.perf_counter(), start
        self._plain_every = max(total // 10, 1)
        self._next_plain = start + self._plain_every
        self.description = description
        self._sps = 0.0

    def __enter__(self) -> Progress:
        self._bar.__enter__()
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._bar.__exit__(et, ev, tb)

    def update(self, step: int) -> None:
        now = time.perf_counter()
        if step > self._last_step and now > self._last_t:
            self._sps = (step - self._last_step) / (now - self._last_t)
            self._last_t, self._last_step = now, step
        self._bar.update(self._task, completed=min(step, self.total))
        if not self.enabled and step >= self._next_plain:
            elapsed = now - self._t0
            done = max(step - self.start, 1)
            eta = elapsed / done * max(self.total - step, 0)
            print(
                f"{self.description}: {step}/{self.total} steps ({100 * step / self.total:.0f}%), "
                f"elapsed {elapsed:.0f}s, ETA {eta:.0f}s",
                flush=True,
            )
            self._next_plain = step + self._plain_every

    def sps(self) -> float:
        """Environment steps per second over the last update interval."""
        return self._sps

    def print(self, message: str) -> None:
        if self.enabled:
            self._bar.console.print(message, markup=False, highlight=False)
        else:
            print(message, flush=True)
