#!/usr/bin/env bash
# Checks the platform configs without Docker.
#   1. promtool (Debian 12: Prometheus 2.42) on what 2.42 can parse: the local
#      config, the rule files and the rule unit tests.
#   2. The consistency tests (checks/platform/tests/consistency.rs): compose,
#      collector, Prometheus 3.x-only keys, Tempo, Loki, Grafana and the
#      dashboards, checked structurally against each other and against
#      checks/platform/emitted-metrics.txt.
# The end-to-end test with a real Prometheus (tests/prometheus_e2e.rs) needs
# the service binaries: pass --e2e to build them and run it too.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v promtool >/dev/null; then
    echo "promtool not found: apt-get install --no-install-recommends prometheus" >&2
    exit 1
fi
echo "== promtool $(promtool --version 2>&1 | head -n1)"
promtool check config prometheus/prometheus-local.yml
promtool check rules prometheus/rules/*.yml
for t in prometheus/tests/*.yml; do
    promtool test rules "$t"
done
# prometheus/prometheus.yml has the 3.x-only `otlp:` block, which 2.42 rejects:
# it is covered by the consistency tests below, not by promtool.

echo "== consistency tests"
cargo test -p platform-checks --test consistency --test promtool

if [[ "${1:-}" == "--e2e" ]]; then
    echo "== end to end with a real Prometheus"
    cargo build --workspace --bins
    cargo test -p platform-checks --test prometheus_e2e -- --nocapture
fi
