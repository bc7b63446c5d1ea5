"""Reconciliation runs: the stored table, its API schemas and its queries, in one home."""
