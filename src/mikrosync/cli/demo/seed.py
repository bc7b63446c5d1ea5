"""Demo data: one tenant with packages, routers pointing at the simulated network, and
subscribers, some of them expiring in the next few minutes."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import delete, func, select, update

from mikrosync.cli.demo.network import HANDMADE_LOGIN
from mikrosync.clock import now
from mikrosync.packages import service as packages
from mikrosync.packages.models import Service
from mikrosync.packages.schemas import PackageCreate
from mikrosync.routers import service as routers
from mikrosync.routers.models import Router
from mikrosync.routers.schemas import RouterCreate
from mikrosync.runtime import Runtime
from mikrosync.subscribers import service as subscribers
from mikrosync.subscribers.models import Subscriber
from mikrosync.subscribers.schemas import SubscriberCreate
from mikrosync.tenants import service as tenants
from mikrosync.tenants.models import Role, Tenant

DEMO_SLUG = "demo"
DEMO_EMAIL = "demo@mikrosync.demo"
DEMO_PASSWORD = "demo-pass-1234"
EXPIRING_SHARE = 0.05
# Which of PACKAGES each tenth of the subscribers gets: mostly home PPPoE, some of each other.
PLAN_BY_DECILE = (0, 0, 0, 0, 0, 0, 1, 1, 2, 3)

PACKAGES = [
    PackageCreate(
        name="Home 10M",
        service=Service.PPPOE,
        rate_limit="10M/5M",
        price=Decimal("19.90"),
        duration_days=30,
    ),
    PackageCreate(
        name="Fiber 50M",
        service=Service.PPPOE,
        rate_limit="50M/20M",
        price=Decimal("39.90"),
        duration_days=30,
    ),
    PackageCreate(
        name="Hotspot 1 hour",
        service=Service.HOTSPOT,
        rate_limit="5M/2M",
        price=Decimal("1.00"),
        duration_hours=1,
    ),
    PackageCreate(
        name="Business static",
        service=Service.STATIC,
        rate_limit="100M/100M",
        price=Decimal("99.00"),
        duration_days=30,
    ),
]


@dataclass(frozen=True)
class RouterAddress:
    name: str
    host: str
    port: int
    username: str
    password: str


async def demo_tenant(runtime: Runtime) -> Tenant | None:
    async with runtime.sessionmaker() as session:
        return await tenants.find_tenant_by_slug(session, slug=DEMO_SLUG)


async def reset(runtime: Runtime) -> None:
    """Delete the demo tenant and everything it owns."""
    tenant = await demo_tenant(runtime)
    if tenant is None:
        return
    async with runtime.sessionmaker() as session:
        # Subscribers first: they reference routers with ON DELETE RESTRICT.
        await session.execute(delete(Subscriber).where(Subscriber.tenant_id == tenant.id))
        await session.execute(delete(Tenant).where(Tenant.id == tenant.id))
        await session.commit()


async def point_routers(runtime: Runtime, tenant_id: int, network: list[RouterAddress]) -> None:
    """The simulators listen on new ports each run: update the existing router rows."""
    async with runtime.sessionmaker() as session:
        for address in network:
            await session.execute(
                update(Router)
                .where(Router.tenant_id == tenant_id, Router.name == address.name)
                .values(host=address.host, port=address.port, is_online=None)
            )
        await session.commit()


async def seed(runtime: Runtime, network: list[RouterAddress], count: int) -> list[Subscriber]:
    """Create the demo tenant and its data; returns the subscribers (to push their jobs)."""
    rng = random.Random(7)
    async with runtime.sessionmaker() as session:
        tenant = await tenants.create_tenant(session, slug=DEMO_SLUG, name="Demo WISP")
        await tenants.create_staff_user(
            session,
            tenant_id=tenant.id,
            email=DEMO_EMAIL,
            password=DEMO_PASSWORD,
            role=Role.OWNER,
        )
        plans = [
            await packages.create_package(session, tenant_id=tenant.id, data=plan)
            for plan in PACKAGES
        ]
        router_ids = []
        for address in network:
            created = await routers.create_router(
                session,
                tenant_id=tenant.id,
                data=RouterCreate(
                    name=address.name,
                    host=address.host,
                    port=address.port,
                    username=address.username,
                    password=address.password,
                ),
                vault=runtime.vault,
            )
            router_ids.append(created.id)
    made: list[Subscriber] = []
    async with runtime.sessionmaker() as session:
        for index in range(count):
            plan = plans[PLAN_BY_DECILE[index % 10]]
            expiring = rng.random() < EXPIRING_SHARE
            # The package's own duration, part of it already used (a 1-hour hotspot voucher
            # does not last 30 days); a few expire in the next minutes, to show expiry at work.
            term = timedelta(minutes=plan.duration_minutes)
            expires_at = now() + (
                timedelta(minutes=rng.uniform(1, 5)) if expiring else term * rng.uniform(0.3, 1.0)
            )
            data = SubscriberCreate(
                router_id=router_ids[index % len(router_ids)],
                package_id=plan.id,
                service=Service(plan.service),
                username=f"client{index + 1:04d}",
                password=None if plan.service == Service.STATIC else f"pw-{rng.randrange(10**8)}",
                static_ip=f"10.200.{index // 250}.{index % 250 + 2}"
                if plan.service == Service.STATIC
                else None,
                full_name=f"Demo Customer {index + 1}",
                phone=f"+1 555 {index + 1:04d}",
                expires_at=expires_at,
            )
            made.append(
                await subscribers.create_subscriber(
                    session, tenant_id=tenant.id, data=data, vault=runtime.vault, actor="demo"
                )
            )
        # One login a technician also made by hand on the first router (the demo network
        # adds it there, untagged): mikrosync refuses to take it over, so the demo shows a
        # subscriber in Error with the router's words, as the README's screenshot does.
        made.append(
            await subscribers.create_subscriber(
                session,
                tenant_id=tenant.id,
                data=SubscriberCreate(
                    router_id=router_ids[0],
                    package_id=plans[0].id,
                    service=Service(plans[0].service),
                    username=HANDMADE_LOGIN,
                    password="made-by-hand",
                    full_name="Login also made by hand on the router",
                    expires_at=now() + timedelta(minutes=plans[0].duration_minutes),
                ),
                vault=runtime.vault,
                actor="demo",
            )
        )
    return made


async def status_counts(runtime: Runtime, tenant_id: int) -> dict[str, int]:
    async with runtime.sessionmaker() as session:
        rows = await session.execute(
            select(Subscriber.sync_status, func.count())
            .where(Subscriber.tenant_id == tenant_id)
            .group_by(Subscriber.sync_status)
        )
        return {str(status): int(count) for status, count in rows.all()}
