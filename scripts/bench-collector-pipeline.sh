#!/usr/bin/env bash
# What the collector pipeline itself costs: CPU per request and resident
# memory of each collector tier while the four services serve the load
# generator's traffic (lab/loadgen, the compose load profile's mix of URLs),
# at one or more open-loop rates, for
#   single                - the default collector (otel-collector/config.yaml)
#   single-no-connectors  - the same without the span_metrics and service_graph
#                           connectors (a copy derived here), to show their share
#   pipeline-100          - an agent and two gateways (agent.yaml, gateway.yaml),
#                           keeping 100 % of traces (tail sampling on, deciding "keep")
#   pipeline-10           - the same, keeping 10 % of ordinary traces
#   pipeline-100-memory-queue - pipeline-100 with the gateways' sending queues
#                           in memory instead of on disk (a derived copy; not
#                           run unless named in VARIANTS), to show the disk's share
# Every point starts fresh collectors and services. Points run rate by rate,
# the variants' order rotated from one rate to the next, so that a busy
# neighbour on a shared machine does not hit one variant only. The collectors
# export to a sink collector (debug exporter) standing in for Tempo,
# Prometheus and Loki. Figures go to stdout as two Markdown tables; progress
# to stderr.
#
#   cargo build --release -p frontend -p gateway -p geolocator -p iss-distance -p loadgen
#   scripts/build-platform-tools.sh
#   scripts/bench-collector-pipeline.sh [rates=5] [seconds=60]    # e.g. 5,50,200,1000 60
# VARIANTS="single pipeline-100" runs a subset; LOGS=dir keeps the processes'
# output (the last point's) there. MEMORY_LIMIT_MIB=n sets every measured
# collector's memory_limiter to n MiB (spike n/4) instead of its file's value.
# PROFILE=debug uses the debug builds: the services then answer slower, but
# export the same telemetry.
set -euo pipefail
cd "$(dirname "$0")/.."
IFS=, read -r -a rates <<<"${1:-5}"
seconds=${2:-60}
read -r -a variants <<<"${VARIANTS:-single single-no-connectors pipeline-100 pipeline-10}"
target=${CARGO_TARGET_DIR:-target}
bin=$target/${PROFILE:-release}
otelcol=$target/platform-tools/otelcol-iss
for b in frontend gateway geolocator iss-distance loadgen; do
    [[ -x $bin/$b ]] || { echo "missing $bin/$b: cargo build --release (or PROFILE=debug) first" >&2; exit 1; }
done
[[ -x $otelcol ]] || { echo "missing $otelcol: scripts/build-platform-tools.sh" >&2; exit 1; }
for rate in "${rates[@]}"; do
    [[ $rate =~ ^[1-9][0-9]*$ ]] || { echo "rates are whole requests/s, comma-separated: $rate" >&2; exit 1; }
done
for variant in "${variants[@]}"; do
    case $variant in
    single | single-no-connectors | pipeline-100 | pipeline-10 | pipeline-100-memory-queue) ;;
    *) echo "unknown variant: $variant" >&2; exit 1 ;;
    esac
done
# The measuring window closes this long after the load: the gateways'
# decision_wait (20s) and the queue flush (2s), so that the last requests'
# sampling and export count.
drain=25

work=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    if [[ -n ${LOGS:-} ]]; then mkdir -p "$LOGS" && cp "$work"/*.log "$LOGS"/; fi
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
    # shellcheck disable=SC2016 # $0 and $@ are the inner shell's arguments
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
# VmRSS (now) and VmHWM (peak) in MiB.
rss_mib() {
    awk '/^VmRSS:/ { printf "%.0f", $2 / 1024 }' "/proc/$1/status"
}
hwm_mib() {
    awk '/^VmHWM:/ { printf "%.0f", $2 / 1024 }' "/proc/$1/status"
}
# The machine's busy CPU seconds, all cores (/proc/stat).
machine() {
    awk -v hz="$(getconf CLK_TCK)" '$1 == "cpu" { printf "%.3f", ($2 + $3 + $4 + $7 + $8) / hz }' /proc/stat
}
# What a collector refused, failed to export or evicted before deciding
# (its own metrics, http://<host>:8888/metrics), as "total (metric=count, ..)":
# non-zero means the collector did not keep up, and its figures are not what
# carrying all the telemetry costs.
lost() {
    curl -sf "http://$1:8888/metrics" | awk '
        $1 ~ /^otelcol_(receiver_refused|exporter_send_failed|exporter_enqueue_failed|processor_refused)_/ ||
        $1 ~ /dropped_too_early/ {
            name = $1; sub(/\{.*/, "", name); sub(/^otelcol_/, "", name)
            if ($NF > 0) { by[name] += $NF; s += $NF }
        }
        END {
            printf "%d", s
            sep = " ("
            for (name in by) { printf "%s%s=%d", sep, name, by[name]; sep = ", " }
            if (s > 0) printf ")"
        }'
}

# The sink takes messages of up to 64 MiB: the gateways send requests of up
# to 8192 spans, beyond gRPC's default 4 MiB at the higher rates, which the
# sink would refuse (see docs/BENCHMARKS.md), and the collectors would then be
# measured dropping data instead of sending it.
cat >"$work/sink.yaml" <<'EOF'
receivers:
  otlp:
    protocols:
      grpc: {endpoint: 127.0.0.1:24317, max_recv_msg_size_mib: 64}
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

# config.yaml without the connectors, the pipeline they feed and its processor.
python3 - otel-collector/config.yaml "$work/no-connectors.yaml" <<'EOF'
import sys, yaml
config = yaml.safe_load(open(sys.argv[1]))
del config["connectors"]
del config["processors"]["attributes/collector_instance"]
pipelines = config["service"]["pipelines"]
del pipelines["metrics/from_spans"]
pipelines["traces"]["exporters"] = [
    e for e in pipelines["traces"]["exporters"] if e not in ("span_metrics", "service_graph")
]
yaml.safe_dump(config, open(sys.argv[2], "w"), sort_keys=False)
EOF
# gateway.yaml with its sending queues in memory (no file_storage).
python3 - otel-collector/gateway.yaml "$work/gateway-memory-queue.yaml" <<'EOF'
import sys, yaml
config = yaml.safe_load(open(sys.argv[1]))
for exporter in config["exporters"].values():
    exporter.get("sending_queue", {}).pop("storage", None)
config["service"]["extensions"].remove("file_storage/queue")
del config["extensions"]["file_storage/queue"]
yaml.safe_dump(config, open(sys.argv[2], "w"), sort_keys=False)
EOF

# Starts the collectors of variant $1 at rate $2 (fresh queue directories);
# their names in tier_names, pids in tiers[], listen hosts in hosts[], and the
# services' OTLP endpoint in $otlp. Above 250 req/s the tail sampler is sized
# for the rate as gateway.yaml's comment prescribes (each of the two gateways
# holds rate / 2 x decision_wait traces; twice that), through its variables:
# its default of 5000 traces would evict undecided traces.
declare -A tiers hosts
start_collectors() {
    local variant=$1 rate=$2 share g limits=() sizing=()
    tier_names=()
    if [[ -n ${MEMORY_LIMIT_MIB:-} ]]; then
        limits=(OTELCOL_MEMORY_LIMIT_MIB="$MEMORY_LIMIT_MIB" OTELCOL_MEMORY_SPIKE_LIMIT_MIB=$((MEMORY_LIMIT_MIB / 4)))
    fi
    if ((rate * 20 > 5000)); then
        sizing=(OTELCOL_SAMPLING_NUM_TRACES=$((rate * 20)) OTELCOL_SAMPLING_EXPECTED_TRACES_PER_SEC="$rate")
    fi
    case $variant in
    single | single-no-connectors)
        local config=otel-collector/config.yaml
        [[ $variant == single ]] || config=$work/no-connectors.yaml
        collector "$variant" "$config" "${backends[@]}" \
            OTELCOL_OTLP_GRPC_ENDPOINT=127.0.0.77:4317 OTELCOL_OTLP_HTTP_ENDPOINT=127.0.0.77:4318 \
            OTELCOL_HEALTH_CHECK_ENDPOINT=127.0.0.77:13133 OTELCOL_TELEMETRY_HOST=127.0.0.77 \
            "${limits[@]}"
        tier_names=(collector)
        tiers[collector]=$last_pid
        hosts[collector]=127.0.0.77
        otlp=http://127.0.0.77:4317
        ;;
    pipeline-*)
        share=${variant#pipeline-}
        share=${share%-memory-queue}
        local config=otel-collector/gateway.yaml
        [[ $variant != *-memory-queue ]] || config=$work/gateway-memory-queue.yaml
        rm -rf "$work/queue"
        for g in 78 79; do
            collector "gateway-$share-$g" "$config" "${backends[@]}" \
                OTELCOL_OTLP_GRPC_ENDPOINT=127.0.0.$g:4317 OTELCOL_OTLP_HTTP_ENDPOINT=127.0.0.$g:4318 \
                OTELCOL_HEALTH_CHECK_ENDPOINT=127.0.0.$g:13133 OTELCOL_TELEMETRY_HOST=127.0.0.$g \
                OTELCOL_QUEUE_DIRECTORY="$work/queue/$g" OTELCOL_SAMPLING_PERCENTAGE="$share" \
                OTELCOL_INSTANCE_ID="gateway-$g" "${limits[@]}" "${sizing[@]}"
            tiers[gateway-$g]=$last_pid
            hosts[gateway-$g]=127.0.0.$g
        done
        collector "agent-$share" otel-collector/agent.yaml \
            OTELCOL_OTLP_GRPC_ENDPOINT=127.0.0.80:4317 OTELCOL_OTLP_HTTP_ENDPOINT=127.0.0.80:4318 \
            OTELCOL_HEALTH_CHECK_ENDPOINT=127.0.0.80:13133 OTELCOL_TELEMETRY_HOST=127.0.0.80 \
            "${limits[@]}"
        tiers[agent]=$last_pid
        hosts[agent]=127.0.0.80
        tier_names=(agent gateway-78 gateway-79)
        otlp=http://127.0.0.80:4317
        ;;
    esac
    for name in "${tier_names[@]}"; do wait_http "http://${hosts[$name]}:13133/"; done
}

# The four services, exporting to $otlp (an OTLP gRPC endpoint).
start_services() {
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

# Runs the load at $1 req/s: the compose load profile's URLs (found places,
# coordinates, an unknown place: 404, an empty one: 400), over its 4
# connections at its rate and over loadgen's default 32 above it, where 4
# keep-alive connections would queue requests. Report in $work/loadgen.json.
load() {
    local rate=$1 connections=32 f=http://127.0.0.1:15000
    ((rate > 5)) || connections=4
    "$bin/loadgen" --rate="$rate" --duration="${seconds}s" --connections="$connections" --quiet \
        --json="$work/loadgen.json" >"$work/loadgen.txt" \
        --url="$f/?location={city}" --url="$f/?location={city}" --url="$f/?location={city}" \
        --url="$f/?location=51.5,%20-0.12" --url="$f/?location=Atlantis" --url="$f/?location="
}

tier_table=$work/tiers.md
load_table=$work/load.md
cat >"$tier_table" <<'EOF'
| rate (req/s) | variant | tier | CPU per request (ms) | CPU (% of one core) | peak RSS (MiB, VmHWM) | RSS after the drain (MiB) | refused, failed or evicted |
|---|---|---|---|---|---|---|---|
EOF
cat >"$load_table" <<'EOF'
| rate (req/s) | variant | requests answered (2xx, 4xx) | not answered (timeout, connect, io) | p99 ms (2xx, from the due time) | elapsed s | services' CPU per request (ms, 4 services) | machine busy (% of all cores) | load average at start |
|---|---|---|---|---|---|---|---|---|
EOF

# One point: fresh collectors and services, the load, the drain, the figures.
measure() {
    local rate=$1 variant=$2 name i
    local -A before after
    echo "$(date -u +%T) rate $rate, $variant" >&2
    start_collectors "$variant" "$rate"
    start_services
    local loadavg m0 m1 t0 t1
    loadavg=$(cut -d' ' -f1-3 /proc/loadavg)
    for name in "${tier_names[@]}"; do before[$name]=$(cpu "${tiers[$name]}"); done
    for i in "${!service_pids[@]}"; do before[svc$i]=$(cpu "${service_pids[i]}"); done
    m0=$(machine)
    t0=$(date +%s.%N)
    load "$rate"
    sleep "$drain"
    t1=$(date +%s.%N)
    m1=$(machine)
    for name in "${tier_names[@]}"; do after[$name]=$(cpu "${tiers[$name]}"); done
    for i in "${!service_pids[@]}"; do after[svc$i]=$(cpu "${service_pids[i]}"); done

    # Requests that reached the frontend: answered with any status. Requests
    # that timed out (some while still queued in the load generator) are
    # counted apart and make the point suspect.
    local answered unanswered p99 elapsed
    read -r answered unanswered p99 elapsed < <(python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
status = sum(n for kind, n in r["errors_by_kind"].items() if kind.startswith("status"))
print(r["ok"] + status, r["errors"] - status, r["latency_ms"]["p99"], round(r["elapsed_s"], 1))
' "$work/loadgen.json")
    ((answered > 0)) || { echo "no request answered at rate $rate ($variant)" >&2; exit 1; }

    local window services=0 tier_sum=0 rss_sum=0 hwm_sum=0 lost_sum=0
    window=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
    for i in "${!service_pids[@]}"; do
        services=$(awk -v s="$services" -v a="${after[svc$i]}" -v b="${before[svc$i]}" 'BEGIN { print s + a - b }')
    done
    for name in "${tier_names[@]}"; do
        local pid=${tiers[$name]} used rss hwm lost_n
        used=$(awk -v a="${after[$name]}" -v b="${before[$name]}" 'BEGIN { print a - b }')
        rss=$(rss_mib "$pid")
        hwm=$(hwm_mib "$pid")
        lost_n=$(lost "${hosts[$name]}")
        tier_sum=$(awk -v s="$tier_sum" -v u="$used" 'BEGIN { print s + u }')
        rss_sum=$((rss_sum + rss))
        hwm_sum=$((hwm_sum + hwm))
        lost_sum=$((lost_sum + ${lost_n%% *}))
        awk -v r="$rate" -v v="$variant" -v t="$name" -v u="$used" -v n="$answered" -v w="$window" \
            -v h="$hwm" -v m="$rss" -v l="$lost_n" \
            'BEGIN { printf "| %s | %s | %s | %.3f | %.1f | %s | %s | %s |\n", r, v, t, u * 1000 / n, u * 100 / w, h, m, l }' \
            >>"$tier_table"
    done
    if ((${#tier_names[@]} > 1)); then
        awk -v r="$rate" -v v="$variant" -v u="$tier_sum" -v n="$answered" -v w="$window" \
            -v h="$hwm_sum" -v m="$rss_sum" -v l="$lost_sum" \
            'BEGIN { printf "| %s | %s | **whole pipeline** | **%.3f** | **%.1f** | **%s** | **%s** | %s |\n", r, v, u * 1000 / n, u * 100 / w, h, m, l }' \
            >>"$tier_table"
    fi
    awk -v r="$rate" -v v="$variant" -v a="$answered" -v x="$unanswered" -v p="$p99" -v e="$elapsed" \
        -v s="$services" -v n="$answered" -v b="$m1" -v b0="$m0" -v w="$window" -v c="$(nproc)" \
        -v la="$loadavg" \
        'BEGIN { printf "| %s | %s | %s | %s | %s | %s | %.3f | %.0f | %s |\n",
            r, v, a, x, p, e, s * 1000 / n, (b - b0) * 100 / (w * c), la }' \
        >>"$load_table"

    stop "${service_pids[@]}"
    local collector_pids=()
    for name in "${tier_names[@]}"; do collector_pids+=("${tiers[$name]}"); done
    stop "${collector_pids[@]}"
}

for r in "${!rates[@]}"; do
    for v in "${!variants[@]}"; do
        measure "${rates[r]}" "${variants[(v + r) % ${#variants[@]}]}"
    done
done
cat "$tier_table"
echo
cat "$load_table"
