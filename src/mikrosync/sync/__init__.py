"""The reconciler: load desired state from the database, read the router, apply the difference."""
