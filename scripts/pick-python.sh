#!/usr/bin/env bash
# Print the interpreter `make install` builds the venv with: CPython 3.12 when the machine has
# one (on PATH, or installed by pyenv without being selected), else `python3`.
# Why 3.12: coverage.py measures through sys.monitoring there (COVERAGE_CORE=sysmon), which
# took about a third off the CPU of `make test`, whose servers and workers all run measured
# (README, "Tests"). mikrosync itself runs on 3.11 or newer.
set -u
candidates=(python3.12)
if command -v pyenv >/dev/null 2>&1; then
    candidates+=("$(pyenv root)"/versions/3.12*/bin/python3.12)
fi
for candidate in "${candidates[@]}"; do
    if "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 12))' 2>/dev/null; then
        echo "$candidate"
        exit 0
    fi
done
echo python3
