"""`mikrosync tenant create` and `mikrosync user create`."""

from __future__ import annotations

import sys

import typer
from pydantic import ValidationError

from mikrosync.cli.common import fail, run, settings_or_exit, with_runtime
from mikrosync.errors import NotFound
from mikrosync.runtime import Runtime
from mikrosync.tenants import service
from mikrosync.tenants.models import Role
from mikrosync.tenants.schemas import StaffUserCreate, TenantCreate

tenant_app = typer.Typer(help="Manage tenants (ISPs).", no_args_is_help=True)
user_app = typer.Typer(help="Manage staff users.", no_args_is_help=True)


def _validation_message(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())


@tenant_app.command("create")
def create_tenant(
    slug: str = typer.Argument(..., help="Short id used in URLs and CLI, e.g. acme."),
    name: str = typer.Option(..., "--name", help="Display name, e.g. 'Acme ISP'."),
) -> None:
    """Create a tenant."""
    try:
        data = TenantCreate(slug=slug, name=name)
    except ValidationError as exc:
        raise fail(_validation_message(exc)) from None

    async def work(runtime: Runtime) -> None:
        async with runtime.sessionmaker() as session:
            tenant = await service.create_tenant(session, slug=data.slug, name=data.name)
            typer.echo(f"created tenant {tenant.slug} (id {tenant.id})")

    run(with_runtime(settings_or_exit(), work))


def _read_password(password: str | None) -> str:
    if password is not None:
        return password
    if sys.stdin.isatty():
        value: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
        return value
    return sys.stdin.readline().rstrip("\n")


@user_app.command("create")
def create_user(
    email: str = typer.Option(..., "--email", help="Login email."),
    role: Role = typer.Option(Role.VIEWER, "--role", help="owner, admin, operator or viewer."),
    tenant: str | None = typer.Option(None, "--tenant", help="Tenant slug."),
    platform_admin: bool = typer.Option(
        False, "--platform-admin", help="A platform admin (manages tenants; no tenant)."
    ),
    password: str | None = typer.Option(
        None, "--password", help="Omit to be prompted (or to read one line from stdin)."
    ),
) -> None:
    """Create a staff user in a tenant, or a platform admin."""
    if (tenant is None) == (not platform_admin):
        raise fail("give exactly one of --tenant SLUG or --platform-admin")
    try:
        data = StaffUserCreate(email=email, password=_read_password(password), role=role)
    except ValidationError as exc:
        raise fail(_validation_message(exc)) from None

    async def work(runtime: Runtime) -> None:
        async with runtime.sessionmaker() as session:
            tenant_id = None
            if tenant is not None:
                found = await service.find_tenant_by_slug(session, slug=tenant)
                if found is None:
                    raise NotFound(
                        f"no tenant with slug {tenant!r}; create it first with "
                        f"`mikrosync tenant create {tenant} --name NAME`"
                    )
                tenant_id = found.id
            user = await service.create_staff_user(
                session,
                tenant_id=tenant_id,
                email=data.email,
                password=data.password,
                role=data.role,
            )
            kind = "platform admin" if user.is_platform_admin else f"{user.role} in {tenant}"
            typer.echo(f"created user {user.email} ({kind})")

    run(with_runtime(settings_or_exit(), work))
