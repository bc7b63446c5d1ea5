"""Live router state for the console: who is online, and the router's own resources.

Kept apart from the sync path on purpose: its own pool registry (short-lived reads, bounded
sessions like every pool), a cache of a few seconds so a page polled by many operators costs
the router one read, and no write but "disconnect this session".
"""
