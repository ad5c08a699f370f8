#!/usr/bin/env bash
# Runs the whole stack on this machine without Docker or network: builds the
# four services, starts them on offline defaults (gazetteer geocoder, SGP4 ISS
# position), starts Prometheus too when its binary is on PATH, prints the
# frontend URL, and stops everything cleanly on Ctrl-C (or SIGTERM).
#
# Environment (all optional):
#   PROFILE=release|dev      cargo profile to build (default release)
#   BIN_DIR=<dir>            use already-built binaries from <dir>, skip the build
#   FRONTEND_PORT, GATEWAY_PORT, GEOLOCATOR_PORT, ISS_DISTANCE_PORT (5000..5003)
#   RUN_PROMETHEUS=0         do not start Prometheus even if it is installed
#   PROMETHEUS_PORT          (9090)
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
export HOST=127.0.0.1

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
    if exec 3<>"/dev/tcp/127.0.0.1/$port" 2>/dev/null; then
      printf 'GET /readyz HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' >&3
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

start iss-distance "$iss_distance_port"
start geolocator "$geolocator_port"
start gateway "$gateway_port" \
  GEOLOCATOR_SERVICE_URL="http://127.0.0.1:$geolocator_port/" \
  ISS_DISTANCE_SERVICE_URL="http://127.0.0.1:$iss_distance_port/"
start frontend "$frontend_port" GATEWAY_URL="http://127.0.0.1:$gateway_port/"

wait_ready iss-distance "$iss_distance_port"
wait_ready geolocator "$geolocator_port"
wait_ready gateway "$gateway_port"
wait_ready frontend "$frontend_port"

if [[ ${RUN_PROMETHEUS:-1} != 0 ]] && command -v prometheus >/dev/null; then
  prometheus_dir=$(mktemp -d)
  sed -e "s/127.0.0.1:5000/127.0.0.1:$frontend_port/; s/127.0.0.1:5001/127.0.0.1:$gateway_port/" \
      -e "s/127.0.0.1:5002/127.0.0.1:$geolocator_port/; s/127.0.0.1:5003/127.0.0.1:$iss_distance_port/" \
      prometheus/prometheus-local.yml > "$prometheus_dir/prometheus.yml"
  cp -r prometheus/rules "$prometheus_dir/" 2>/dev/null || true
  prometheus --config.file="$prometheus_dir/prometheus.yml" --storage.tsdb.path="$prometheus_dir/data" \
    --web.listen-address="127.0.0.1:$prometheus_port" --log.level=warn &
  pids+=($!)
  echo "Prometheus: http://127.0.0.1:$prometheus_port/"
fi

echo "Frontend: http://127.0.0.1:$frontend_port/"
echo "All services ready; press Ctrl-C to stop."
# Whichever process ends first (or a signal) ends the run, and the trap stops the rest.
wait -n "${pids[@]}"
echo "a service exited unexpectedly" >&2
exit 1
