#!/usr/bin/env bash
# Runs the whole stack on this machine without Docker or network: builds the
# four services, starts them on offline defaults (gazetteer geocoder, SGP4 ISS
# position), prints the frontend URL, and stops everything cleanly on Ctrl-C
# (or SIGTERM). Telemetry, at the best level this machine allows:
#   - the pipeline: when the real collector and Prometheus 3.14 are built
#     (scripts/build-platform-tools.sh, once; cached), the services push OTLP
#     to the collector running otel-collector/config.yaml with the local.yaml
#     overlay (traces and logs printed by its debug exporter into a file to
#     `tail -f`), which pushes metrics to Prometheus 3.14 running
#     prometheus/prometheus.yml (UI at http://127.0.0.1:$PROMETHEUS_PORT);
#   - otherwise Debian's Prometheus, when on PATH, scraping the services'
#     /metrics with prometheus/prometheus-local.yml;
#   - and in any case OTEL_*_EXPORTER=console prints spans, metrics and logs
#     on the services' stdout (see the README).
#
# Environment (all optional):
#   PROFILE=release|dev      cargo profile to build (default release)
#   BIN_DIR=<dir>            use already-built binaries from <dir>, skip the build
#   BIND_ADDRESS             loopback address everything listens on (127.0.0.1)
#   FRONTEND_PORT, GATEWAY_PORT, GEOLOCATOR_PORT, ISS_DISTANCE_PORT (5000..5003)
#   RUN_PIPELINE=0           no collector / Prometheus 3 even if they are built
#   RUN_PROMETHEUS=0         no Prometheus at all
#   PROMETHEUS_PORT          (9090)
#   OTELCOL_DEBUG_VERBOSITY  basic | normal (default) | detailed
#   ISS_POSITION_SOURCE, GEOCODER, OTEL_*, RUST_LOG: passed to the services
set -euo pipefail
cd "$(dirname "$0")/.."

profile=${PROFILE:-release}
if [[ -z "${BIN_DIR:-}" ]]; then
  cargo build --profile "$profile" --bins -p frontend -p gateway -p geolocator -p iss-distance
  target_dir=${CARGO_TARGET_DIR:-target}
  BIN_DIR="$target_dir/$([[ $profile == dev ]] && echo debug || echo "$profile")"
fi

frontend_port=${FRONTEND_PORT:-5000}
gateway_port=${GATEWAY_PORT:-5001}
geolocator_port=${GEOLOCATOR_PORT:-5002}
iss_distance_port=${ISS_DISTANCE_PORT:-5003}
prometheus_port=${PROMETHEUS_PORT:-9090}
# Offline by default: no live ISS API, no Nominatim.
export ISS_POSITION_SOURCE=${ISS_POSITION_SOURCE:-sgp4}
export GEOCODER=${GEOCODER:-gazetteer}
address=${BIND_ADDRESS:-127.0.0.1}
export HOST=$address

pids=()
stop_all() {
  trap - INT TERM EXIT
  if ((${#pids[@]})); then
    echo "stopping: ${pids[*]}" >&2
    kill -TERM "${pids[@]}" 2>/dev/null || true
    wait "${pids[@]}" 2>/dev/null || true
  fi
}
trap 'stop_all; exit 130' INT
trap 'stop_all; exit 143' TERM
trap stop_all EXIT

start() { # name, port, extra env...
  local name=$1 port=$2
  shift 2
  env PORT="$port" "$@" "$BIN_DIR/$name" &
  pids+=($!)
}

# Polls GET /readyz without needing curl: bash's /dev/tcp is enough on loopback.
wait_ready() { # name, port
  local name=$1 port=$2 deadline=$((SECONDS + 30))
  while ((SECONDS < deadline)); do
    if exec 3<>"/dev/tcp/$address/$port" 2>/dev/null; then
      printf 'GET /readyz HTTP/1.0\r\nHost: %s\r\n\r\n' "$address" >&3
      local status
      read -r _ status _ <&3 || true
      exec 3>&-
      [[ $status == 200 ]] && return 0
    fi
    sleep 0.1
  done
  echo "$name did not become ready on port $port" >&2
  return 1
}

# The pipeline, as the tests run it: the collector and Prometheus 3.14 in a
# private mount namespace whose /etc/hosts resolves the compose names
# (prometheus -> $address, otel-collector -> 127.0.0.91), so their config
# files run unchanged; tempo and loki point where nothing listens (the
# overlay does not use them).
tools_dir=${CARGO_TARGET_DIR:-target}/platform-tools
pipeline=0
if [[ ${RUN_PIPELINE:-1} != 0 && ${RUN_PROMETHEUS:-1} != 0 ]]; then
  if [[ -x $tools_dir/otelcol-iss && -x $tools_dir/prometheus ]]; then
    unshare_args=(--mount)
    [[ $(id -u) == 0 ]] || unshare_args+=(--map-root-user)
    if unshare "${unshare_args[@]}" true 2>/dev/null; then
      pipeline=1
    else
      echo "no private mount namespace here (unshare --mount failed): running without the collector" >&2
    fi
  else
    echo "The collector and Prometheus 3.14 are not built: run scripts/build-platform-tools.sh (once, cached) for the full local pipeline." >&2
  fi
fi

run_dir=$(mktemp -d)
if ((pipeline)); then
  collector_ip=127.0.0.91
  printf '127.0.0.1 localhost\n%s prometheus\n%s otel-collector\n127.0.0.92 tempo\n127.0.0.93 loki\n' \
    "$address" "$collector_ip" > "$run_dir/hosts"
  # A plain command, not a function: started with &, its PID is the process
  # itself (unshare execs sh, which execs the program), so the trap's kill
  # reaches it.
  with_compose_hosts=(unshare "${unshare_args[@]}" --
    /bin/sh -c 'mount --bind "$0" /etc/hosts && exec "$@"' "$run_dir/hosts")
  "${with_compose_hosts[@]}" "$tools_dir/prometheus" \
    --config.file=prometheus/prometheus.yml --storage.tsdb.path="$run_dir/prometheus-data" \
    --web.listen-address="$address:$prometheus_port" --web.enable-otlp-receiver \
    --web.enable-remote-write-receiver --enable-feature=exemplar-storage --log.level=warn &
  pids+=($!)
  OTELCOL_OTLP_GRPC_ENDPOINT=$collector_ip:4317 OTELCOL_OTLP_HTTP_ENDPOINT=$collector_ip:4318 \
  OTELCOL_HEALTH_CHECK_ENDPOINT=$collector_ip:13133 OTELCOL_TELEMETRY_HOST=$collector_ip \
  PROMETHEUS_OTLP_ENDPOINT="http://$address:$prometheus_port/api/v1/otlp" \
    "${with_compose_hosts[@]}" "$tools_dir/otelcol-iss" \
      --config=otel-collector/config.yaml --config=otel-collector/local.yaml \
      > "$run_dir/otel-collector.log" 2>&1 &
  pids+=($!)
  # The services push to the collector, metrics every 5 s so graphs move.
  export OTEL_EXPORTER_OTLP_ENDPOINT=${OTEL_EXPORTER_OTLP_ENDPOINT:-http://$collector_ip:4317}
  export OTEL_METRIC_EXPORT_INTERVAL=${OTEL_METRIC_EXPORT_INTERVAL:-5000}
fi

start iss-distance "$iss_distance_port"
start geolocator "$geolocator_port"
start gateway "$gateway_port" \
  GEOLOCATOR_SERVICE_URL="http://$address:$geolocator_port/" \
  ISS_DISTANCE_SERVICE_URL="http://$address:$iss_distance_port/"
start frontend "$frontend_port" GATEWAY_URL="http://$address:$gateway_port/"

wait_ready iss-distance "$iss_distance_port"
wait_ready geolocator "$geolocator_port"
wait_ready gateway "$gateway_port"
wait_ready frontend "$frontend_port"

if ((pipeline)); then
  echo "Collector: traces and logs in $run_dir/otel-collector.log (tail -f it)"
  echo "Prometheus: http://$address:$prometheus_port/ (Prometheus 3.14, metrics pushed over OTLP)"
elif [[ ${RUN_PROMETHEUS:-1} != 0 ]] && command -v prometheus >/dev/null; then
  echo "Without the collector: Prometheus from PATH scrapes the services' /metrics." >&2
  sed -e "s/127.0.0.1:5000/$address:$frontend_port/; s/127.0.0.1:5001/$address:$gateway_port/" \
      -e "s/127.0.0.1:5002/$address:$geolocator_port/; s/127.0.0.1:5003/$address:$iss_distance_port/" \
      prometheus/prometheus-local.yml > "$run_dir/prometheus.yml"
  cp -r prometheus/rules "$run_dir/" 2>/dev/null || true
  prometheus --config.file="$run_dir/prometheus.yml" --storage.tsdb.path="$run_dir/data" \
    --web.listen-address="$address:$prometheus_port" --log.level=warn &
  pids+=($!)
  echo "Prometheus: http://$address:$prometheus_port/"
fi

echo "Frontend: http://$address:$frontend_port/"
echo "All services ready; press Ctrl-C to stop."
# Whichever process ends first (or a signal) ends the run, and the trap stops the rest.
wait -n "${pids[@]}"
echo "a service exited unexpectedly" >&2
exit 1
