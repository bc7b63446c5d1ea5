"""A local SMTP server (aiosmtpd) and a local HTTP endpoint standing in for an SMS provider."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from typing import Any

import pytest
import uvicorn
from aiosmtpd.controller import Controller
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


@dataclass
class Mailbox:
    messages: list[Message] = field(default_factory=list)

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"


@dataclass
class SmtpServer:
    host: str
    port: int
    mailbox: Mailbox


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    mailbox = Mailbox()
    port = _free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield SmtpServer("127.0.0.1", port, mailbox)
    finally:
        controller.stop()


@dataclass
class SmsEndpoint:
    url: str
    received: list[dict[str, Any]] = field(default_factory=list)
    # Answer this status to the next N requests (a provider outage).
    fail_next: int = 0


@pytest.fixture
async def sms_endpoint() -> AsyncIterator[SmsEndpoint]:
    endpoint = SmsEndpoint(url="")

    async def receive(request: Request) -> JSONResponse:
        body = await request.body()
        endpoint.received.append(
            {
                "headers": dict(request.headers),
                "body": body.decode(),
                "form": dict(await request.form())
                if request.headers.get("content-type", "").startswith("application/x-www")
                else None,
            }
        )
        if endpoint.fail_next > 0:
            endpoint.fail_next -= 1
            return JSONResponse({"error": "down"}, status_code=503)
        return JSONResponse({"SMSMessageData": {"Message": "Sent to 1/1"}}, status_code=201)

    app = Starlette(routes=[Route("/sms", receive, methods=["POST"])])
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_config=None, lifespan="off"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        await asyncio.sleep(0.01)
    endpoint.url = f"http://127.0.0.1:{sock.getsockname()[1]}/sms"
    try:
        yield endpoint
    finally:
        server.should_exit = True
        with contextlib.suppress(Exception):
            await task
        sock.close()
