"""The test suite's plugins: shared fixtures and helpers live in tests/plugins/, registered
here for every test, so no test module imports another test module or a conftest.

A directory's own conftest.py keeps only the fixtures used there alone whose names other
directories also use (`sim`, `site`, `raw`, `deps`). tests/plugins/tiers.py gives each test
its tier marker and its xdist group (see the README, "Tests").
"""

pytest_plugins = [
    "tests.plugins.tiers",
    "tests.plugins.untraced",
    "tests.plugins.heap",
    "tests.plugins.core",
    "tests.plugins.db",
    "tests.plugins.e2e",
    "tests.plugins.web",
    "tests.plugins.mail",
    "tests.plugins.sync",
    "tests.plugins.jobs",
    "tests.plugins.payments",
    "tests.plugins.fuzz",
    "tests.plugins.cli",
]
