"""Benchmark: due dates for 100,000 synthetic cases with up to two pauses each.

Baseline, in the same run: a day-by-day loop over ``chinese_calendar.is_workday`` for the same
cases (the obvious implementation). Goal (issue 2): >= 20x faster and >= 100,000 cases/s.
The baseline is timed on a sample and scaled, since it is slow; both sides compute the same due
dates, which the script checks on the sample.
"""

from __future__ import annotations

import random
import sys
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import chinese_calendar

from webapp.domain.calendar import WorkCalendar
from webapp.domain.clock import CaseClock, Pause, Status

N = 100_000
SAMPLE = 5_000


def synth(rng: random.Random, cal: WorkCalendar):
    received = date(2022, 1, 1) + timedelta(days=rng.randrange(0, 365 * 4 + 200))
    pauses = []
    cur = received
    for _ in range(rng.choice([0, 1, 2])):
        s = cal.add_workdays(cur, rng.randint(0, 6))
        e = cal.add_workdays(s, rng.randint(1, 15))
        pauses.append(Pause(s, e, "consultation"))
        cur = e
    return received, tuple(pauses)


def loop_due(received: date, pauses, limit: int = 20) -> date:
    d, left = received, limit
    while left:
        d += timedelta(days=1)
        if chinese_calendar.is_workday(d) and not any(p.start < d <= p.end for p in pauses):
            left -= 1
    return d


def main() -> None:
    cal = WorkCalendar.default()
    rng = random.Random(42)
    cases = [synth(rng, cal) for _ in range(N)]

    t0 = time.perf_counter()
    dues = [CaseClock(status=Status.REGISTERED, start=r, pauses=p).due_on(cal) for r, p in cases]
    fast = time.perf_counter() - t0

    sample = cases[:SAMPLE]
    t0 = time.perf_counter()
    slow_dues = [loop_due(r, p) for r, p in sample]
    slow_sample = time.perf_counter() - t0
    assert slow_dues == dues[:SAMPLE], "the lookup and the loop disagree"
    slow = slow_sample * N / SAMPLE

    t0 = time.perf_counter()
    WorkCalendar.default()
    build = time.perf_counter() - t0

    print(f"cases: {N:,} (up to two pauses each); calendar build {build * 1000:.1f} ms")
    print(f"lookup clock:          {fast:8.3f} s  {N / fast:12,.0f} cases/s")
    print(f"day-by-day loop (est): {slow:8.3f} s  {N / slow:12,.0f} cases/s  (timed on {SAMPLE:,}, scaled)")
    print(f"speed-up: {slow / fast:.1f}x  (goal >= 20x and >= 100,000 cases/s)")
    ok = slow / fast >= 20 and N / fast >= 100_000
    print("goal met" if ok else "GOAL NOT MET")


if __name__ == "__main__":
    main()
