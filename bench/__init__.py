"""mikrosync benchmarks (issue 9): ratios taken in one run, never timed tests.

`python -m bench.run --profile quick` (what `make bench` runs) starts everything it needs
(a throw-away PostgreSQL database, a Redis key prefix, simulated routers, `mikrosync serve`
and `mikrosync worker` processes), runs the workloads and writes `bench/results/`.
See bench/README.md.
"""
