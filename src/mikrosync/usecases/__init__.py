"""Use cases: one function per thing an operator does (write, commit, push the job hint).

The REST API, the web console and the CLI are thin adapters over these functions, so all
three behave the same way. Nothing below this layer pushes a job after a commit."""
