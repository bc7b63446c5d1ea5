"""MikroTik routers a tenant manages, with their health and reconciliation history."""
