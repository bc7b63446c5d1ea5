"""Hotspot vouchers: batches of one-time logins sold as codes, carried to a router as one unit.

A batch is recorded in the database first (every voucher as intent, one transaction); the
`syncVoucherBatch` job carries it to the router in bulk (`carry.py`); the voucher scan follows
each voucher's life on the router (`lifecycle.py`). See docs/vouchers.md.
"""
