#!/usr/bin/env bash
# What the collector pipeline itself costs: CPU per request and resident
# memory of each collector tier while the four services serve the load
# generator's traffic (tools/loadgen), for
#   single    - the default collector (otel-collector/config.yaml)
#   pipeline  - an agent and two gateways (agent.yaml, gateway.yaml), keeping
#               100 % of traces (tail sampling on, deciding "keep")
#   sampled   - the same, keeping 10 % of ordinary traces
# The collectors export to a sink collector (debug exporter) standing in for
# Tempo, Prometheus and Loki. Figures go to stdout as a Markdown table.
#
#   cargo build --release -p frontend -p gateway -p geolocator -p iss-distance -p loadgen
#   scripts/build-platform-tools.sh
#   scripts/bench-collector-pipeline.sh [rate=5] [seconds=60]
# PROFILE=debug uses the debug builds: the services then answer slower, but
# they export the same telemetry, and only the collectors are measured.
set -euo pipefail
cd "$(dirname "$0")/.."
rate=${1:-5}
seconds=${2:-60}
target=${CARGO_TARGET_DIR:-target}
bin=$target/${PROFILE:-release}
otelcol=$target/platform-tools/otelcol-iss
for b in frontend gateway geolocator iss-distance loadgen; do
    [[ -x $bin/$b ]] || { echo "missing $bin/$b: cargo build --release (or PROFILE=debug) first" >&2; exit 1; }
done
[[ -x $otelcol ]] || { echo "missing $otelcol: scripts/build-platform-tools.sh" >&2; exit 1; }

work=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

# The agent finds the gateways by DNS: a private /etc/hosts in which one name
# has both gateways' addresses (as the compose alias and the headless Service).
cat >"$work/hosts" <<EOF
127.0.0.1 localhost
127.0.0.78 otel-gateway
127.0.0.79 otel-gateway
EOF

# Starts a collector with a private /etc/hosts; its pid in $last_pid.
collector() {
    local name=$1 config=$2
    shift 2
    env -i PATH="$PATH" "$@" unshare --mount --map-root-user -- /bin/sh -c \
        'mount --bind "$0" /etc/hosts && exec "$@"' "$work/hosts" \
        "$otelcol" --config="$config" >"$work/$name.log" 2>&1 &
    last_pid=$!
    pids+=("$last_pid")
}

# Stops processes and waits until they are gone (their ports are free).
stop() {
    kill "$@" 2>/dev/null || true
    for pid in "$@"; do
        while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
    done
}

wait_http() {
    for _ in $(seq 1 300); do
        curl -sf "$1" >/dev/null && return 0
        sleep 0.2
    done
    echo "not ready: $1" >&2
    return 1
}

# CPU seconds (user + system) of a process, from /proc/<pid>/stat.
cpu() {
    awk -v hz="$(getconf CLK_TCK)" '{ printf "%.3f", ($14 + $15) / hz }' "/proc/$1/stat"
}
rss_mib() {
    awk '/^VmRSS:/ { printf "%.0f", $2 / 1024 }' "/proc/$1/status"
}

cat >"$work/sink.yaml" <<'EOF'
receivers:
  otlp:
    protocols:
      grpc: {endpoint: 127.0.0.1:24317}
      http: {endpoint: 127.0.0.1:24318}
exporters:
  debug: {verbosity: basic}
service:
  pipelines:
    traces: {receivers: [otlp], exporters: [debug]}
    metrics: {receivers: [otlp], exporters: [debug]}
    logs: {receivers: [otlp], exporters: [debug]}
  telemetry:
    metrics: {level: none}
EOF
collector sink "$work/sink.yaml"
backends=(TEMPO_OTLP_GRPC_ENDPOINT=127.0.0.1:24317
    PROMETHEUS_OTLP_ENDPOINT=http://127.0.0.1:24318
    LOKI_OTLP_ENDPOINT=http://127.0.0.1:24318)

# The four services, exporting to $1 (an OTLP gRPC endpoint).
start_services() {
    local otlp=$1 svc
    local common=(PATH="$PATH" HOST=127.0.0.1 ISS_POSITION_SOURCE=sgp4 GEOCODER=gazetteer
        OTEL_EXPORTER_OTLP_ENDPOINT="$otlp" OTEL_EXPORTER_OTLP_PROTOCOL=grpc
        OTEL_METRIC_EXPORT_INTERVAL=10000 RUST_LOG=warn)
    service_pids=()
    env -i "${common[@]}" PORT=15002 "$bin/geolocator" >"$work/geolocator.log" 2>&1 &
    service_pids+=("$!")
    env -i "${common[@]}" PORT=15003 "$bin/iss-distance" >"$work/iss-distance.log" 2>&1 &
    service_pids+=("$!")
    env -i "${common[@]}" PORT=15001 GEOLOCATOR_SERVICE_URL=http://127.0.0.1:15002 \
        ISS_DISTANCE_SERVICE_URL=http://127.0.0.1:15003 "$bin/gateway" >"$work/gateway.log" 2>&1 &
    service_pids+=("$!")
    env -i "${common[@]}" PORT=15000 GATEWAY_URL=http://127.0.0.1:15001 \
        "$bin/frontend" >"$work/frontend.log" 2>&1 &
    service_pids+=("$!")
    pids+=("${service_pids[@]}")
    for port in 15000 15001 15002 15003; do wait_http "http://127.0.0.1:$port/readyz"; done
}
stop_services() {
    stop "${service_pids[@]}"
}

# Runs the load; prints how many requests were made.
load() {
    "$bin/loadgen" --rate="$rate" --duration="${seconds}s" --connections=4 --quiet --json=- \
        --url='http://127.0.0.1:15000/?location={city}' \
        --url='http://127.0.0.1:15000/?location=Atlantis' >"$work/loadgen.json"
    python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(r["requests"])' "$work/loadgen.json"
}

echo "| tier | variant | rate (req/s) | CPU per request (ms, this process) | RSS after the run (MiB) |"
echo "|---|---|---|---|---|"

measure() {
    local variant=$1 otlp=$2
    shift 2
    local names=("$@") before=() after=() n i
    start_services "$otlp"
    for i in "${!names[@]}"; do before[i]=$(cpu "${tiers[${names[i]}]}"); done
    n=$(load)
    # The measuring window closes after the gateways' decision_wait (20s) and
    # the queue flush (2s), so the last requests' sampling and export count.
    sleep 25
    for i in "${!names[@]}"; do after[i]=$(cpu "${tiers[${names[i]}]}"); done
    for i in "${!names[@]}"; do
        local pid=${tiers[${names[i]}]}
        awk -v a="${after[i]}" -v b="${before[i]}" -v n="$n" -v t="${names[i]}" -v v="$variant" \
            -v r="$rate" -v m="$(rss_mib "$pid")" \
            'BEGIN { printf "| %s | %s | %s | %.3f | %s |\n", t, v, r, (a - b) * 1000 / n, m }'
    done
    stop_services
}

declare -A tiers
# single collector
collector single otel-collector/config.yaml "${backends[@]}" \
    OTELCOL_OTLP_GRPC_ENDPOINT=127.0.0.77:4317 OTELCOL_OTLP_HTTP_ENDPOINT=127.0.0.77:4318 \
    OTELCOL_HEALTH_CHECK_ENDPOINT=127.0.0.77:13133 OTELCOL_TELEMETRY_HOST=127.0.0.77
tiers[collector]=$last_pid
wait_http http://127.0.0.77:13133/
measure "no tail sampling (config.yaml)" http://127.0.0.77:4317 collector
stop "${tiers[collector]}"

for share in 100 10; do
    for g in 78 79; do
        collector "gateway-$share-$g" otel-collector/gateway.yaml "${backends[@]}" \
            OTELCOL_OTLP_GRPC_ENDPOINT=127.0.0.$g:4317 OTELCOL_OTLP_HTTP_ENDPOINT=127.0.0.$g:4318 \
            OTELCOL_HEALTH_CHECK_ENDPOINT=127.0.0.$g:13133 OTELCOL_TELEMETRY_HOST=127.0.0.$g \
            OTELCOL_QUEUE_DIRECTORY="$work/queue-$share-$g" OTELCOL_SAMPLING_PERCENTAGE=$share
        tiers[gateway-$g]=$last_pid
        wait_http "http://127.0.0.$g:13133/"
    done
    collector "agent-$share" otel-collector/agent.yaml \
        OTELCOL_OTLP_GRPC_ENDPOINT=127.0.0.80:4317 OTELCOL_OTLP_HTTP_ENDPOINT=127.0.0.80:4318 \
        OTELCOL_HEALTH_CHECK_ENDPOINT=127.0.0.80:13133 OTELCOL_TELEMETRY_HOST=127.0.0.80
    tiers[agent]=$last_pid
    wait_http http://127.0.0.80:13133/
    measure "tail sampling, keep $share %" http://127.0.0.80:4317 agent gateway-78 gateway-79
    stop "${tiers[agent]}" "${tiers[gateway-78]}" "${tiers[gateway-79]}"
done
