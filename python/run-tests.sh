#!/usr/bin/env bash
# Builds the Python module into the repository's .venv and runs its checks:
# ruff, mypy.stubtest against the hand-written stub, and pytest (which replays
# tests/scenarios/*.json). Works from a fresh clone, non-interactively.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
venv="$root/.venv"

if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
py="$venv/bin/python"

# pyarrow, polars and pandas read and feed the Arrow tables in the tests; they
# install from wheels.
"$py" -m pip install --quiet --disable-pip-version-check --upgrade \
    "maturin>=1.9,<2" pytest mypy ruff pyarrow polars pandas

cd "$here"
# maturin develop installs into the active environment.
export VIRTUAL_ENV="$venv"
export PATH="$venv/bin:$PATH"
maturin develop --quiet

ruff check "$here"
ruff format --check "$here"
# The benchmarks' peer scripts, with their own settings (benches/peers/ruff.toml).
ruff check "$root/benches/peers"
ruff format --check "$root/benches/peers"
# stubtest imports the built module and compares it with pysrc/jifen/_jifen.pyi.
"$py" -m mypy.stubtest jifen._jifen
"$py" -m mypy "$here/pysrc/jifen" "$here/tests" "$here/examples"
"$py" -m pytest "$here/tests" -q
