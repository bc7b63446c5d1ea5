"""Subscribers (the seed's MikrotikUser): desired state, sync status and sync timeline."""
