"""Engine, declarative base and Alembic migrations: the only place that knows the backend."""
