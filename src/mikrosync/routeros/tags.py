"""The owner tag mikrosync writes into the ``comment`` of every router object it creates.

Format (the whole comment, nothing before it)::

    mikrosync:t=<tenant_id>:s=<subscriber_id>     objects of one subscriber
    mikrosync:t=<tenant_id>:p=<package_id>        profiles of one package
    mikrosync:t=<tenant_id>:v=<batch>-<voucher>   hotspot users of one voucher batch

Ids are ``[A-Za-z0-9_-]{1,64}``, so ints and UUIDs both fit and the tag stays ASCII.

Why this shape:

- It *starts* with a fixed prefix, so one ``print`` with a range query on ``comment``
  (``?>comment=mikrosync:`` and ``?<comment=mikrosync;``; ``;`` is the character after ``:``)
  returns every owned object. RouterOS queries have no "starts with" operator, but
  lexicographic ``<``/``>`` on the prefix and its successor is exactly that.
  The same trick scoped to ``mikrosync:t=<tenant>:`` lists one tenant's objects.
- A voucher's ref starts with its batch id and ``-``, so the range ``v=<batch>-`` ..
  ``v=<batch>.`` (``.`` follows ``-``) selects exactly one batch's users in one print.
- A comment that does not parse in full (``Mikrosync:...``, ``mikrosync:t=1`` without a role,
  a hand-written note) is not ours: ``parse_tag`` returns ``None`` and reconciliation
  leaves the object alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

TAG_PREFIX = "mikrosync:"
TagRole = Literal["s", "p", "v"]

_ID = r"[A-Za-z0-9_-]{1,64}"
_TAG_RE = re.compile(rf"mikrosync:t=(?P<tenant>{_ID}):(?P<role>[spv])=(?P<ref>{_ID})")
_ID_RE = re.compile(_ID)
_ROLES: dict[str, TagRole] = {"s": "s", "p": "p", "v": "v"}


@dataclass(frozen=True)
class OwnerTag:
    """Who owns a router object: a tenant's subscriber (role ``s``), package (role ``p``) or
    voucher (role ``v``, ref ``<batch id>-<voucher id>``)."""

    tenant_id: str
    role: TagRole
    ref_id: str

    def __post_init__(self) -> None:
        for value in (self.tenant_id, self.ref_id):
            if not _ID_RE.fullmatch(value):
                raise ValueError(f"owner tag id must match {_ID}: {value!r}")

    @classmethod
    def subscriber(cls, tenant_id: object, subscriber_id: object) -> OwnerTag:
        """Tag for a subscriber's secret, hotspot user, queue or address-list entry."""
        return cls(str(tenant_id), "s", str(subscriber_id))

    @classmethod
    def package(cls, tenant_id: object, package_id: object) -> OwnerTag:
        """Tag for a PPP or hotspot profile created for a package."""
        return cls(str(tenant_id), "p", str(package_id))

    @classmethod
    def voucher(cls, tenant_id: object, batch_id: object, voucher_id: object) -> OwnerTag:
        """Tag for the hotspot user of one voucher of a batch."""
        return cls(str(tenant_id), "v", f"{batch_id}-{voucher_id}")

    def render(self) -> str:
        """The comment text to store on the router."""
        return f"{TAG_PREFIX}t={self.tenant_id}:{self.role}={self.ref_id}"

    def __str__(self) -> str:
        return self.render()


def parse_tag(comment: str | None) -> OwnerTag | None:
    """Read an owner tag back from a comment; ``None`` if the object is not ours."""
    if not comment:
        return None
    match = _TAG_RE.fullmatch(comment)
    if match is None:
        return None
    role: TagRole = _ROLES[match["role"]]
    return OwnerTag(match["tenant"], role, match["ref"])


def tag_prefix(tenant_id: object | None = None) -> str:
    """The comment prefix shared by every tag (of one tenant, if given)."""
    if tenant_id is None:
        return TAG_PREFIX
    tenant = str(tenant_id)
    if not _ID_RE.fullmatch(tenant):
        raise ValueError(f"tenant id must match {_ID}: {tenant!r}")
    return f"{TAG_PREFIX}t={tenant}:"


def prefix_query(field: str, prefix: str) -> tuple[str, ...]:
    """Query words matching values of ``field`` that start with ``prefix``.

    ``prefix`` must end in ``:``; its successor ``;`` bounds the range from above. Both words
    are plain tests, so the router ANDs them (ROUTEROS_API.md §6.1).
    """
    if not prefix.endswith(":"):
        raise ValueError(f"prefix must end with ':': {prefix!r}")
    return (f"?>{field}={prefix}", f"?<{field}={prefix[:-1]};")
