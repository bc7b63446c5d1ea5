"""Errors of the web layer itself; domain errors (`mikrosync.errors`) are rendered too, by
`web/routing.py`, as HTML pages instead of the API's JSON."""

from __future__ import annotations


class WebError(Exception):
    """Base of the errors only the web UI raises."""


class LoginRequired(WebError):
    """No valid session: send the browser to the login page."""


class CsrfRejected(WebError):
    """A state-changing request without the session's CSRF token."""

    def __init__(self) -> None:
        super().__init__(
            "the form was missing its security token or it has expired; "
            "reload the page and try again"
        )
