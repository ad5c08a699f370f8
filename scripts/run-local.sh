#!/usr/bin/env bash
# Runs the whole stack on this machine without Docker or network: builds the
# four services, starts them on offline defaults (gazetteer geocoder, SGP4 ISS
# position), prints the frontend URL once each process it started answers
# its readiness check, and stops everything cleanly on Ctrl-C (or SIGTERM).
# A port already taken, or a process that exits while starting, stops the run
# with a message naming it (and, for a process, the end of its output).
# Telemetry, at the best level this machine allows:
#   - the pipeline: when the real collector and Prometheus 3.14 are built
#     (scripts/build-platform-tools.sh, once; cached, and found in its cache
#     whatever target directory built them), the services push OTLP
#     to the collector running otel-collector/config.yaml with the local.yaml
#     overlay (traces and logs printed by its debug exporter into a file to
#     `tail -f`), which pushes metrics to Prometheus 3.14 running
#     prometheus/prometheus.yml (UI at http://127.0.0.1:$PROMETHEUS_PORT);
#   - otherwise Debian's Prometheus, when on PATH, scraping the services'
#     /metrics with prometheus/prometheus-local.yml;
#   - and in any case OTEL_*_EXPORTER=console prints spans, metrics and logs
#     on the services' stdout (see the README).
# There is no Grafana here, so no GRAFANA_URL is set: the page links a trace
# to Grafana only when the caller's environment names one.
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
#   ISS_POSITION_SOURCE, GEOCODER, GRAFANA_URL, OTEL_*, RUST_LOG: passed to the services
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
# The collector listens on its own loopback address (see the pipeline below).
collector_ip=127.0.0.91
readiness_seconds=30

# The collector and Prometheus 3.14: linked under the target directory by
# scripts/build-platform-tools.sh, or else in its version-keyed cache (where
# .ci/run's build leaves them), which the script itself locates.
platform_tool() { # name: prints the binary's path, fails when it is not built
  local linked=${CARGO_TARGET_DIR:-target}/platform-tools/$1
  if [[ -x $linked ]]; then
    echo "$linked"
  else
    scripts/build-platform-tools.sh --path "$1"
  fi
}

# The pipeline, as the tests run it: the collector and Prometheus 3.14 in a
# private mount namespace whose /etc/hosts resolves the compose names
# (prometheus -> $address, otel-collector -> $collector_ip), so their config
# files run unchanged; tempo and loki point where nothing listens (the
# overlay does not use them).
pipeline=0
if [[ ${RUN_PIPELINE:-1} != 0 && ${RUN_PROMETHEUS:-1} != 0 ]]; then
  if otelcol=$(platform_tool otelcol-iss) && prometheus3=$(platform_tool prometheus); then
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
debian_prometheus=0
if ((!pipeline)) && [[ ${RUN_PROMETHEUS:-1} != 0 ]] && command -v prometheus >/dev/null; then
  debian_prometheus=1
fi

# Whether something accepts connections on address:port. bash's /dev/tcp
# needs no curl; its "Connection refused" is noise while polling.
listening() { # address, port
  (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null
}

# The process listening on a port, as `ss` shows it (when it can).
holder_of() { # port
  command -v ss >/dev/null || return 0
  ss -Hltnp "sport = :$1" 2>/dev/null |
    sed -n 's/.*users:(("\([^"]*\)",pid=\([0-9]*\).*/\1 (pid \2)/p' | head -n1
}

# Every port this run listens on must be free: a service that cannot bind
# exits, and an earlier run's service would answer in its place.
taken=0
check_free() { # address, port, what, the way out
  if listening "$1" "$2"; then
    local holder
    holder=$(holder_of "$2")
    echo "port $2 on $1 ($3) is already in use${holder:+ by $holder}: stop that process, or $4" >&2
    taken=1
  fi
}
check_free "$address" "$frontend_port" frontend "set FRONTEND_PORT to another port"
check_free "$address" "$gateway_port" gateway "set GATEWAY_PORT to another port"
check_free "$address" "$geolocator_port" geolocator "set GEOLOCATOR_PORT to another port"
check_free "$address" "$iss_distance_port" iss-distance "set ISS_DISTANCE_PORT to another port"
if ((pipeline || debian_prometheus)); then
  check_free "$address" "$prometheus_port" Prometheus "set PROMETHEUS_PORT to another port"
fi
if ((pipeline)); then
  # Fixed: the collector's config names them; an earlier run may still hold them.
  for port in 4317 4318 13133 8888; do
    check_free "$collector_ip" "$port" "the collector" "run without it (RUN_PIPELINE=0)"
  done
fi
if ((taken)); then
  echo "not started: a port it needs is taken" >&2
  exit 1
fi

run_dir=$(mktemp -d)
pids=()
declare -A pid_of=()
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

# Starts a program in the background with its output on this terminal and in
# $run_dir/<name>.log (for the report if it dies); $! is the program itself.
launch() { # name, program, args...
  local name=$1
  shift
  "$@" > >(tee "$run_dir/$name.log") 2>&1 &
  pids+=($!)
  pid_of[$name]=$!
}

start() { # name, port, extra env...
  local name=$1 port=$2
  shift 2
  launch "$name" env PORT="$port" "$@" "$BIN_DIR/$name"
}

# Whether GET <path> on address:port answers 200.
answers_200() { # address, port, path
  local status
  status=$({
    exec 3<>"/dev/tcp/$1/$2" &&
      printf 'GET %s HTTP/1.0\r\nHost: %s\r\n\r\n' "$3" "$1" >&3 &&
      read -r -t 2 _ status _ <&3 &&
      echo "$status"
  } 2>/dev/null) || return 1
  [[ $status == 200 ]]
}

# Reports a process that is gone or never became ready, with the end of its
# output, and ends the run (the EXIT trap stops the rest).
fail() { # name, what happened
  echo "$1 $2; the end of its output ($run_dir/$1.log):" >&2
  tail -n 20 "$run_dir/$1.log" 2>/dev/null | sed 's/^/  | /' >&2
  exit 1
}

# Polls the process this run started, not just the port: it must still run
# and answer its readiness check.
wait_ready() { # name, address, port, path
  local name=$1 pid=${pid_of[$1]} deadline=$((SECONDS + readiness_seconds)) status=0
  while ((SECONDS < deadline)); do
    if ! kill -0 "$pid" 2>/dev/null; then
      wait "$pid" || status=$?
      fail "$name" "exited (status $status) before it was ready"
    fi
    answers_200 "$2" "$3" "$4" && return 0
    sleep 0.1
  done
  fail "$name" "did not answer GET $4 on $2:$3 within ${readiness_seconds} s"
}

if ((pipeline)); then
  printf '127.0.0.1 localhost\n%s prometheus\n%s otel-collector\n127.0.0.92 tempo\n127.0.0.93 loki\n' \
    "$address" "$collector_ip" > "$run_dir/hosts"
  # A plain command, not a function: started with &, its PID is the process
  # itself (unshare execs sh, which execs the program), so the trap's kill
  # reaches it.
  with_compose_hosts=(unshare "${unshare_args[@]}" --
    /bin/sh -c 'mount --bind "$0" /etc/hosts && exec "$@"' "$run_dir/hosts")
  launch prometheus "${with_compose_hosts[@]}" "$prometheus3" \
    --config.file=prometheus/prometheus.yml --storage.tsdb.path="$run_dir/prometheus-data" \
    --web.listen-address="$address:$prometheus_port" --web.enable-otlp-receiver \
    --enable-feature=exemplar-storage --log.level=warn
  # The collector's debug exporter is verbose: its output goes to its log only.
  OTELCOL_OTLP_GRPC_ENDPOINT=$collector_ip:4317 OTELCOL_OTLP_HTTP_ENDPOINT=$collector_ip:4318 \
  OTELCOL_HEALTH_CHECK_ENDPOINT=$collector_ip:13133 OTELCOL_TELEMETRY_HOST=$collector_ip \
  PROMETHEUS_OTLP_ENDPOINT="http://$address:$prometheus_port/api/v1/otlp" \
    "${with_compose_hosts[@]}" "$otelcol" \
      --config=otel-collector/config.yaml --config=otel-collector/local.yaml \
      > "$run_dir/otel-collector.log" 2>&1 &
  pids+=($!)
  pid_of[otel-collector]=$!
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

if ((pipeline)); then
  wait_ready prometheus "$address" "$prometheus_port" /-/ready
  wait_ready otel-collector "$collector_ip" 13133 /
fi
wait_ready iss-distance "$address" "$iss_distance_port" /readyz
wait_ready geolocator "$address" "$geolocator_port" /readyz
wait_ready gateway "$address" "$gateway_port" /readyz
wait_ready frontend "$address" "$frontend_port" /readyz

if ((pipeline)); then
  echo "Collector: traces and logs in $run_dir/otel-collector.log (tail -f it)"
  echo "Prometheus: http://$address:$prometheus_port/ (Prometheus 3.14, metrics pushed over OTLP)"
elif ((debian_prometheus)); then
  echo "Without the collector: Prometheus from PATH scrapes the services' /metrics." >&2
  sed -e "s/127.0.0.1:5000/$address:$frontend_port/; s/127.0.0.1:5001/$address:$gateway_port/" \
      -e "s/127.0.0.1:5002/$address:$geolocator_port/; s/127.0.0.1:5003/$address:$iss_distance_port/" \
      prometheus/prometheus-local.yml > "$run_dir/prometheus.yml"
  cp -r prometheus/rules "$run_dir/" 2>/dev/null || true
  launch prometheus prometheus --config.file="$run_dir/prometheus.yml" \
    --storage.tsdb.path="$run_dir/data" \
    --web.listen-address="$address:$prometheus_port" --log.level=warn
  wait_ready prometheus "$address" "$prometheus_port" /-/ready
  echo "Prometheus: http://$address:$prometheus_port/"
fi

echo "Frontend: http://$address:$frontend_port/"
echo "All services ready; press Ctrl-C to stop."
# Whichever process ends first (or a signal) ends the run, and the trap stops the rest.
status=0
wait -n -p ended "${pids[@]}" || status=$?
for name in "${!pid_of[@]}"; do
  if [[ ${pid_of[$name]} == "${ended:-}" ]]; then
    fail "$name" "exited unexpectedly (status $status)"
  fi
done
echo "a process exited unexpectedly (status $status)" >&2
exit 1
