#!/usr/bin/env bash
# The project's one test command: formatting, lints, every test, and the
# platform checks with the real OpenTelemetry Collector and Prometheus 3.14
# (built from the Go module proxy, cached by version). Run from anywhere;
# exits non-zero on the first failure.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
for tool in promtool chromium chromedriver go unshare st kubernetes-validate; do
  command -v "$tool" >/dev/null || missing+=("$tool")
done
if ((${#missing[@]})); then
  if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
    scripts/install-test-deps.sh
  else
    echo "missing test tools: ${missing[*]}; run: sudo scripts/install-test-deps.sh" >&2
    exit 1
  fi
fi

# The collector, Prometheus and Helm the platform tests run (seconds when cached).
scripts/build-platform-tools.sh
cargo fmt --all -- --check
cargo clippy --workspace --all-targets -- -D warnings
cargo clippy -p bare-stack --features contrib --all-targets -- -D warnings  # the contrib-peer measuring stick
cargo clippy -p telemetry --features bound-instruments --all-targets -- -D warnings  # the bound-instruments benchmark
# The end-to-end tests start the real service binaries, so build them first.
cargo build --workspace --bins
cargo test --workspace
target=${CARGO_TARGET_DIR:-target}
cargo build -p bare-stack --features contrib --bin contrib-peer  # the smoke's contrib-peer variant; built alone so its actix features stay out of the services' build
"$target/debug/bench" --smoke --bin-dir "$target/debug" --out "$target/bench-smoke" >/dev/null  # harness smoke: seconds per scenario, no timing assertions
scripts/check-platform.sh --skip-cargo-tests  # cargo test above ran the platform tests
python3 -m unittest discover -s scripts/data -p 'test_*.py'  # the TLE refresh script, offline
scripts/check-licenses.py
