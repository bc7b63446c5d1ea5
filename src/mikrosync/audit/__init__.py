"""The tenant-wide audit log of staff actions (console and API)."""
