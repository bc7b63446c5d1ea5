"""Request sessions are admitted in arrival order (`mikrosync.db.admission`)."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import exc as sa_exc

from mikrosync.db.admission import SessionAdmission


async def _enter(
    admission: SessionAdmission, name: str, order: list[str], go: asyncio.Event
) -> None:
    async with admission.admitted():
        order.append(name)
        await go.wait()


async def test_a_freed_slot_goes_to_the_oldest_waiter_not_to_a_newcomer() -> None:
    # SQLAlchemy's async pool let a request arriving as a connection came back take it ahead of
    # the request woken for it, which went to the back of the line again (p99 13 s under load).
    admission = SessionAdmission(slots=1)
    order: list[str] = []
    go = asyncio.Event()
    holder = asyncio.create_task(_enter(admission, "holder", order, go))
    await asyncio.sleep(0)
    waiters = []
    for name in ("first", "second", "third"):
        waiters.append(asyncio.create_task(_enter(admission, name, order, go)))
        await asyncio.sleep(0)
    go.set()
    await holder
    # A newcomer arriving in the very tick the slot is freed waits behind the others.
    newcomer = asyncio.create_task(_enter(admission, "newcomer", order, go))
    await asyncio.gather(*waiters, newcomer)
    assert order == ["holder", "first", "second", "third", "newcomer"]


async def test_no_slot_within_the_pool_timeout_is_the_pools_timeout_error() -> None:
    admission = SessionAdmission(slots=1, timeout_s=0.05)
    async with admission.admitted():
        with pytest.raises(sa_exc.TimeoutError, match="no database session free within"):
            async with admission.admitted():
                pass
    async with admission.admitted():  # the timed-out wait gave nothing away
        pass


def test_each_event_loop_gets_its_own_slots() -> None:
    admission = SessionAdmission(slots=1)

    async def contend() -> list[str]:
        order: list[str] = []
        go = asyncio.Event()
        tasks = [asyncio.create_task(_enter(admission, n, order, go)) for n in ("a", "b")]
        await asyncio.sleep(0)
        go.set()
        await asyncio.gather(*tasks)
        return order

    assert asyncio.run(contend()) == ["a", "b"]
    # A semaphore that made "b" wait is bound to the first loop and would refuse this one.
    assert asyncio.run(contend()) == ["a", "b"]
