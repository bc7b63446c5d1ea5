"""`@pytest.mark.untraced`: the test runs with coverage's tracer off (README, "Tests").

For the few tests whose heavy in-process work (Hypothesis, 50,000 rows) the tracer makes twice
as slow while the lines they reach are reached by other tests too. pytest-cov's own
`no_cover` marker is not enough under xdist: a worker process also has the coverage that
coverage.py's subprocess patch started at interpreter start-up, and when pytest-cov pauses its
own, that one takes over. This pauses every running coverage and restarts them in order.
"""

from __future__ import annotations

from collections.abc import Generator

import coverage
import pytest


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, object, object]:
    if item.get_closest_marker("untraced") is None:
        return (yield)
    paused: list[coverage.Coverage] = []
    while (running := coverage.Coverage.current()) is not None:
        running.stop()
        paused.append(running)
    try:
        return (yield)
    finally:
        for measuring in reversed(paused):
            measuring.start()
