"""Secrets at rest, staff password hashing and access tokens."""
