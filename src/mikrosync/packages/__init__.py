"""Service packages (rate limit, duration, price) and the router profile each maps to."""
