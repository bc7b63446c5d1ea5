"""Shared HTTP plumbing of the REST API and the web console: request dependencies, role checks,
422 shaping; `fields` holds the request field types every domain schema uses."""
