"""Tenants (ISPs) and their staff users: the isolation boundary of every other domain."""
