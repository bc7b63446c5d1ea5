"""Repeated failed logins are throttled, in Redis or (Redis down) in memory."""

from __future__ import annotations

import uuid

import httpx
import pytest

from mikrosync.security.throttle import MAX_FAILURES_PER_EMAIL, LoginThrottle
from tests.plugins.core import PASSWORD, TEST_REDIS_URL, Staff, TenantFactory


async def _login(client: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    return await client.post("/api/v1/auth/token", data={"username": email, "password": password})


async def test_fifth_failure_locks_the_email_even_for_the_right_password(
    client: httpx.AsyncClient, factory: TenantFactory
) -> None:
    staff: Staff = await factory.staff(await factory.tenant())
    for _ in range(MAX_FAILURES_PER_EMAIL):
        assert (await _login(client, staff.email, "wrong-guess")).status_code == 401
    locked = await _login(client, staff.email, PASSWORD)
    assert locked.status_code == 429
    assert int(locked.headers["Retry-After"]) > 0
    assert "too many failed logins" in locked.json()["detail"]


async def test_success_resets_the_count(client: httpx.AsyncClient, factory: TenantFactory) -> None:
    staff = await factory.staff(await factory.tenant())
    for _ in range(2):
        for _ in range(MAX_FAILURES_PER_EMAIL - 1):
            assert (await _login(client, staff.email, "wrong-guess")).status_code == 401
        assert (await _login(client, staff.email, PASSWORD)).status_code == 200


@pytest.mark.parametrize("redis_url", [TEST_REDIS_URL, "redis://127.0.0.1:1/0"])
async def test_throttle_counts_in_redis_or_memory(redis_url: str) -> None:
    throttle = LoginThrottle(redis_url, prefix=f"throttle-{uuid.uuid4().hex}")
    try:
        for _ in range(MAX_FAILURES_PER_EMAIL):
            assert await throttle.retry_after("a@b.test", "10.0.0.1") is None
            await throttle.failed("a@b.test", "10.0.0.1")
        wait = await throttle.retry_after("a@b.test", "10.0.0.1")
        assert wait is not None and 0 < wait <= throttle.window_s
        assert await throttle.retry_after("other@b.test", "10.0.0.2") is None
        await throttle.succeeded("a@b.test")
        assert await throttle.retry_after("a@b.test", "10.0.0.1") is None
    finally:
        await throttle.close()
