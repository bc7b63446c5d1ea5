"""API fuzzing (schemathesis), see docs/chaos.md."""
