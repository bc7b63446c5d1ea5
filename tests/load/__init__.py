"""Load test, run by hand: python -m tests.load.run (see docs/chaos.md)."""
