"""A live progress bar with an honest ETA, plus the early total-time estimate (issue 20).

The ETA counts what a run really spends time on: training env steps (at the rate measured *after* the
warm-up phase, where updates begin), evaluations and checkpoints (at their measured mean durations, times
the number still to come). A watcher thread samples ``learner.num_steps`` every second, so learners that
yield rarely still get progress lines; once ``estimate_after`` seconds of post-warm-up training have been
measured (or the first evaluation has ended), the run prints its estimated total time once, and warns when
that exceeds a day, naming the faster budget.
"""

from __future__ import annotations

import contextlib
import sys
import threading
import time
from collections.abc import Iterator
from types import TracebackType
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
from rich.progress import Progress as RichProgress

DAY = 86_400.0


def warmup_steps(learner: Any) -> int:
    """Env steps before a learner starts updating: its ``warmup_steps`` attribute, else its config's
    ``num_seed_steps`` (DrQ-v2/MENTOR seed phase) or ``learning_starts``; 0 when none applies."""
    value = getattr(learner, "warmup_steps", None)
    if value is None:
        cfg = getattr(learner, "cfg", None)
        value = getattr(cfg, "num_seed_steps", None) or getattr(cfg, "learning_starts", None) or 0
    return int(value)


def format_duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 2 * DAY:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / DAY:.1f} days"


class Progress:
    """``step / total``, elapsed time and ETA; plain lines when not on a terminal.

    Args:
        total / start: the run's budget and the step it starts at.
        eval_every / checkpoint_every: to count the evaluations and checkpoints still to come.
        faster_budget: named in the >1 day warning.
        estimate_after: seconds of post-warm-up training after which the total-time estimate is printed.
        started: ``time.perf_counter()`` when the command started (setup such as teacher training counts
            in elapsed time and the total estimate); default now.
        warmup: env steps before updates start (:meth:`watch` reads it from the learner).
    """

    def __init__(
        self,
        total: int,
        start: int,
        description: str,
        enabled: bool = True,
        eval_every: int | None = None,
        checkpoint_every: int | None = None,
        faster_budget: str | None = None,
        estimate_after: float = 20.0,
        started: float | None = None,
        warmup: int = 0,
    ) -> None:
        self.total, self.start, self.description = total, start, description
        self.eval_every, self.checkpoint_every = eval_every, checkpoint_every
        self.faster_budget, self.estimate_after = faster_budget, estimate_after
        self.console = Console(file=sys.stdout)
        self.enabled = enabled and self.console.is_terminal
        self._bar = RichProgress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("steps"),
            TimeElapsedColumn(),
            TextColumn("ETA {task.fields[eta]}"),
            console=self.console,
            disable=not self.enabled,
        )
        self._task = self._bar.add_task(description, total=total, completed=start, eta="?")
        self._lock = threading.RLock()
        self._t0 = started if started is not None else time.perf_counter()
        self._step = start
        self._warmup = warmup
        self._phase_time: dict[str, float] = {}  # total seconds per non-training phase
        self._phase_count: dict[str, int] = {}
        self._phase_start: float | None = None
        # training-rate bookkeeping (post-warm-up): steps and seconds spent training only
        self._train_steps, self._train_secs = 0, 0.0
        now = time.perf_counter()
        self._mark_t, self._mark_step = now, start
        self._sps, self._sps_t, self._sps_step = 0.0, now, start
        self._plain_every = max(total // 10, 1)
        self._next_plain = start + self._plain_every
        self._next_plain_t = now + 60.0
        self.estimate_printed = False
        self._warmup_noted = False
        self._watch_t0 = time.perf_counter()
        self._learner: Any = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> Progress:
        self._bar.__enter__()
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._bar.__exit__(et, ev, tb)

    def watch(self, learner: Any) -> None:
        """Sample ``learner.num_steps`` every second from a daemon thread (for rarely-yielding learners)."""
        self._learner = learner
        self._warmup = warmup_steps(learner)

        def loop() -> None:
            while not self._stop.wait(1.0):
                self.update(int(getattr(learner, "num_steps", self._step)))

        self._thread = threading.Thread(target=loop, name="pgsuite-progress", daemon=True)
        self._thread.start()

    @contextlib.contextmanager
    def phase(self, name: str) -> Iterator[None]:
        """Time a non-training phase (``eval``, ``checkpoint``); training rates exclude it."""
        with self._lock:
            self._account(time.perf_counter(), self._step)
            self._phase_start = time.perf_counter()
        try:
            yield
        finally:
            with self._lock:
                now = time.perf_counter()
                self._phase_time[name] = self._phase_time.get(name, 0.0) + now - (self._phase_start or now)
                self._phase_count[name] = self._phase_count.get(name, 0) + 1
                self._phase_start = None
                self._mark_t = now
                self._sps_t = now
            if name == "eval":
                self._maybe_estimate(force=True)

    def _account(self, now: float, step: int) -> None:
        """Add the training time since the last mark (post-warm-up part only) to the rate statistics."""
        if self._phase_start is not None:
            return
        if step > self._mark_step and self._mark_step >= self._warmup:
            self._train_steps += step - self._mark_step
            self._train_secs += now - self._mark_t
        self._mark_t, self._mark_step = now, step

    def update(self, step: int) -> None:
        with self._lock:
            now = time.perf_counter()
            if self._phase_start is not None or step < self._step:
                return
            if step > self._sps_step and now > self._sps_t:
                self._sps = (step - self._sps_step) / (now - self._sps_t)
                self._sps_t, self._sps_step = now, step
            if step > self._mark_step:
                self._account(now, step)
            self._step = step
            eta = self.eta()
            self._bar.update(
                self._task, completed=min(step, self.total), eta=format_duration(eta) if eta else "?"
            )
            plain_due = step >= self._next_plain or (now >= self._next_plain_t and step < self.total)
        if not self.enabled and plain_due:
            with self._lock:
                self._next_plain = step + self._plain_every
                self._next_plain_t = now + 60.0
            print(
                f"{self.description}: {step}/{self.total} steps ({100 * step / self.total:.0f}%), "
                f"elapsed {format_duration(now - self._t0)}, ETA {format_duration(eta) if eta else '?'}",
                flush=True,
            )
        self._maybe_estimate()

    def eta(self) -> float | None:
        """Seconds left: training at the post-warm-up rate plus the evaluations/checkpoints still to come."""
        if self._train_secs <= 0 or self._train_steps <= 0:
            return None
        step = self._step
        left = (self.total - step) / (self._train_steps / self._train_secs)
        for name, every in (("eval", self.eval_every), ("checkpoint", self.checkpoint_every)):
            if every and self._phase_count.get(name):
                remaining = self.total // every - step // every + (1 if self.total % every else 0)
                left += max(remaining, 0) * self._phase_time[name] / self._phase_count[name]
        return max(left, 0.0)

    def _note_warmup(self) -> None:
        """Once, a minute into a long warm-up: how far it is and when the estimate will come."""
        with self._lock:
            now = time.perf_counter()
            if self._warmup_noted or self._step >= self._warmup or now - self._watch_t0 < 60.0:
                return
            self._warmup_noted = True
            done = self._step - self.start
            rate = done / (now - self._watch_t0) if done > 0 else 0.0
            left = f", about {format_duration((self._warmup - self._step) / rate)} more" if rate > 0 else ""
        self.print(
            f"Warm-up (no updates yet): {self._step}/{self._warmup} env steps{left}; the total-time estimate "
            f"follows about {self.estimate_after:.0f} s after updates start."
        )

    def _maybe_estimate(self, force: bool = False) -> None:
        self._note_warmup()
        with self._lock:
            if self.estimate_printed or (not force and self._train_secs < self.estimate_after):
                return
            eta = self.eta()
            if eta is None:
                return
            self.estimate_printed = True
            elapsed = time.perf_counter() - self._t0
            total = elapsed + eta
            rate = self._train_steps / self._train_secs
        parts = [f"{rate:.3g} env steps/s after warm-up"]
        for name in ("eval", "checkpoint"):
            if self._phase_count.get(name):
                parts.append(f"{name} {self._phase_time[name] / self._phase_count[name]:.1f} s each")
        self.print(f"Estimated total time: {format_duration(total)} ({', '.join(parts)}).")
        if total > DAY:
            faster = (
                f"use budget={self.faster_budget} for a shorter run"
                if self.faster_budget
                else "lower run.total_steps"
            )
            self.print(
                f"warning: at the measured rates this run takes {format_duration(total)} (more than a day) "
                f"on "
                f"this machine; {faster}, or run it on a GPU (device=cuda)"
            )

    def sps(self) -> float:
        """Environment steps per second over the last update interval."""
        return self._sps

    def print(self, message: str) -> None:
        if self.enabled:
            self._bar.console.print(message, markup=False, highlight=False)
        else:
            print(message, flush=True)
