"""pytest plugins of the test suite: shared fixtures and helpers (see tests/conftest.py)."""
