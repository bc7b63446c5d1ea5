"""The `mikrosync` command line: thin commands over the domain services."""
