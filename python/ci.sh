#!/usr/bin/env bash
# The Python package in CI: builds the abi3 wheel with maturin (pinned, in target/py-venv), installs it into a
# fresh venv and runs python/tests, which compare it with the CLI of the same tree (target/release/xcodec, built
# by the Rust tests before this; built here if absent). torch is not installed (its default wheels bring CUDA,
# gigabytes): the torch test is skipped and the duck-typed paths are tested with `__array__`/`__dlpack__` objects.
set -euo pipefail
cd "$(dirname "$0")/.."
t0=$SECONDS
[ -x target/release/xcodec ] || cargo build --release -p xcodec-cli
[ -x target/py-venv/bin/maturin ] || { python3 -m venv target/py-venv && target/py-venv/bin/pip install -q maturin==1.16.0; }
rm -rf target/wheels
target/py-venv/bin/maturin build --release -m python/Cargo.toml -o target/wheels
echo "python: wheel built in $((SECONDS - t0)) s"
rm -rf target/py-test
python3 -m venv target/py-test
target/py-test/bin/pip install -q target/wheels/xcodec-*.whl pytest==9.2.0 numpy==2.4.6
XCODEC_BIN="$PWD/target/release/xcodec" target/py-test/bin/python -m pytest -q python/tests
echo "python: tests done in $((SECONDS - t0)) s"
