"""Chaos test: random load, every kind of fault, then invariants (see docs/chaos.md)."""
