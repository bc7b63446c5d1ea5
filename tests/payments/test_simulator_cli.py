"""`mikrosync simulate-mpesa` as a command: it serves Daraja's OAuth on loopback, checks the
consumer key and secret, and refuses bad flags with a one-line error."""

from __future__ import annotations

import base64
import subprocess
import time

import httpx
import pytest

from tests.plugins.core import MIKROSYNC, free_port

# Tier (tests/plugins/tiers.py): runs `mikrosync simulate-mpesa` as a subprocess.
pytestmark = pytest.mark.e2e


def _basic(key: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{key}:{secret}".encode()).decode()


def test_simulate_mpesa_serves_oauth() -> None:
    port = free_port()
    process = subprocess.Popen(
        [*MIKROSYNC, "simulate-mpesa", "--port", str(port), "--consumer-key", "k1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}/oauth/v1/generate?grant_type=client_credentials"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                good = httpx.get(url, headers={"Authorization": _basic("k1", "sim-secret")})
                break
            except httpx.TransportError:
                assert process.poll() is None and time.monotonic() < deadline
                time.sleep(0.2)
        assert good.status_code == 200 and good.json()["access_token"]
        bad = httpx.get(url, headers={"Authorization": _basic("k1", "wrong")})
        assert bad.status_code == 400 and bad.json()["errorCode"] == "400.008.01"
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=20)
    assert f"M-Pesa simulator on http://127.0.0.1:{port}" in output


def test_bad_shortcode_is_a_clear_error() -> None:
    result = subprocess.run(
        [*MIKROSYNC, "simulate-mpesa", "--shortcode", "abc"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2 and "--shortcode must be digits" in result.stderr
    assert "Traceback" not in result.stderr
