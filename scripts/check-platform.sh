#!/usr/bin/env bash
# Checks the platform configs without Docker, with the real tools:
#   1. builds (or takes from the cache) the collector distribution of
#      otel-collector/builder-config.yaml and Prometheus 3.14;
#   2. `otelcol validate` on otel-collector/config.yaml, promtool 3.14 on
#      prometheus/prometheus.yml, and Debian's promtool 2.42 on the local-run
#      config (the Prometheus that scripts/run-local.sh finds on PATH);
#   3. both compose files through compose-go, the loader Docker Compose uses
#      (lab/compose: go vet, go test);
#   4. the platform tests (lab/platform): consistency with the pinned
#      Tempo, Loki and Grafana versions and the image inventory, the tools'
#      own validators, and end to end through the real collector and
#      Prometheus (pass --skip-cargo-tests when `cargo test --workspace` runs
#      them anyway, as scripts/test.sh does).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/build-platform-tools.sh
tools=${CARGO_TARGET_DIR:-target}/platform-tools

echo "== otelcol validate otel-collector/config.yaml"
"$tools/otelcol-iss" validate --config=otel-collector/config.yaml
echo "== promtool $("$tools/promtool" --version 2>&1 | head -n1)"
"$tools/promtool" check config prometheus/prometheus.yml
for t in prometheus/tests/*.yml; do
    "$tools/promtool" test rules "$t"
done
if command -v promtool >/dev/null; then
    echo "== Debian's promtool $(promtool --version 2>&1 | head -n1): the local-run config and the rules"
    promtool check config prometheus/prometheus-local.yml
    promtool check rules prometheus/rules/*.yml
fi

echo "== compose files through compose-go"
(
    cd lab/compose
    unformatted=$(gofmt -l .)
    [[ -z "$unformatted" ]] || { echo "gofmt: $unformatted" >&2; exit 1; }
    go vet ./...
    go test ./...
    go run . ../..
)

if [[ "${1:-}" != "--skip-cargo-tests" ]]; then
    echo "== platform tests"
    cargo build --workspace --bins
    cargo test -p platform
fi
