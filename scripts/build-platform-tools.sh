#!/usr/bin/env bash
# Builds the real platform binaries the tests run, from the Go module proxy:
#   - the OpenTelemetry Collector distribution of otel-collector/builder-config.yaml
#     (Collector Builder), the same one the compose image builds;
#   - Prometheus and promtool 3.14 from the module github.com/prometheus/prometheus;
#   - Helm 4 from the module helm.sh/helm/v4 (renders and lints deploy/helm/);
#   - Sloth from the module github.com/slok/sloth (generates the SLO rules,
#     scripts/generate-slo-rules.sh).
# Each build is cached outside the clone, keyed by version (and, for the
# collector, by the manifest's content; for Prometheus, by its build tags), so
# a rerun costs seconds. The binaries are linked into target/platform-tools/
# (under $CARGO_TARGET_DIR when set), where the tests look for them.
#
# `--path NAME` (otelcol-iss, prometheus, promtool or helm) builds nothing: it
# prints where the cache holds NAME, or fails when it is not built yet, so
# that scripts/run-local.sh finds the tools whichever target directory a
# build linked them into.
#
# Grafana, Loki and Tempo are AGPL-licensed and are never built here.
set -euo pipefail
cd "$(dirname "$0")/.."

COLLECTOR_VERSION=0.159.0
# Prometheus 3.x is published as Go module versions v0.3XX.Y (3.14.0 = v0.314.0).
PROMETHEUS_VERSION=3.14.0
PROMETHEUS_MODULE_VERSION=v0.314.0
# The newest helm.sh/helm/v4 tag on the module proxy when pinned; it needs Go >= 1.26.
HELM_VERSION=4.3.2
# Generates prometheus/rules/slo-*.yml; the committed rules are this version's output.
SLOTH_VERSION=0.16.0

cache=${ISS_PLATFORM_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/iss-distance-app/platform-tools}
out=${CARGO_TARGET_DIR:-target}/platform-tools
manifest=otel-collector/builder-config.yaml
manifest_hash=$(sha256sum "$manifest" | cut -c1-16)
collector_dir="$cache/otelcol-iss-${COLLECTOR_VERSION}-${manifest_hash}"
# The build tags are part of the key: a binary built with other tags (another
# set of service-discovery plugins) is a different tool.
prometheus_tags=netgo,remove_all_sd,enable_dns_sd
prometheus_dir="$cache/prometheus-${PROMETHEUS_VERSION}-${prometheus_tags//,/-}"
helm_dir="$cache/helm-${HELM_VERSION}"
sloth_dir="$cache/sloth-${SLOTH_VERSION}"

if [[ ${1:-} == --path ]]; then
    case ${2:-} in
        otelcol-iss) path=$collector_dir/otelcol-iss ;;
        prometheus | promtool) path=$prometheus_dir/$2 ;;
        helm) path=$helm_dir/helm ;;
        sloth) path=$sloth_dir/sloth ;;
        *) echo "usage: $0 [--path otelcol-iss|prometheus|promtool|helm|sloth]" >&2; exit 2 ;;
    esac
    [[ -x $path ]] || exit 1
    echo "$path"
    exit 0
fi

mkdir -p "$cache" "$out"
command -v go >/dev/null || { echo "go not found: the platform tools are built with Go (>= 1.26)" >&2; exit 1; }
# Static binaries with Go's own resolver: the tests give them a private
# /etc/hosts, which only Go's resolver reads without cgo.
export CGO_ENABLED=0

grep -q "version: ${COLLECTOR_VERSION}\$" "$manifest" || {
    echo "$manifest does not build collector ${COLLECTOR_VERSION}" >&2; exit 1; }
if [[ ! -x "$collector_dir/otelcol-iss" ]]; then
    echo "== building the collector ${COLLECTOR_VERSION} from $manifest (cached in $collector_dir)"
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
    GOBIN="$work/bin" go install "go.opentelemetry.io/collector/cmd/builder@v${COLLECTOR_VERSION}"
    "$work/bin/builder" --config="$manifest" --output-path="$work/dist" >"$work/builder.log" 2>&1 || {
        cat "$work/builder.log" >&2; exit 1; }
    mkdir -p "$collector_dir"
    cp "$work/dist/otelcol-iss" "$collector_dir/otelcol-iss.tmp"
    mv "$collector_dir/otelcol-iss.tmp" "$collector_dir/otelcol-iss"
    rm -rf "$work"
    trap - EXIT
fi

if [[ ! -x "$prometheus_dir/prometheus" || ! -x "$prometheus_dir/promtool" ]]; then
    echo "== building Prometheus ${PROMETHEUS_VERSION} (cached in $prometheus_dir)"
    # `go install` refuses a module with replace directives: download it and
    # build in place. `remove_all_sd` leaves out the service-discovery plugins
    # (cloud SDKs) that prometheus/prometheus.yml does not use; `enable_dns_sd`
    # keeps DNS discovery, which its job for the scaled-out collectors needs.
    # Without `builtinassets` the web UI is not embedded, and the HTTP API the
    # tests use needs none.
    src=$(go mod download -json "github.com/prometheus/prometheus@${PROMETHEUS_MODULE_VERSION}" |
        sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
    [[ -d "$src" ]] || { echo "could not download the Prometheus module" >&2; exit 1; }
    work=$(mktemp -d)
    trap 'chmod -R u+w "$work"; rm -rf "$work"' EXIT
    cp -r "$src" "$work/prometheus"
    chmod -R u+w "$work/prometheus"
    version_flags="-X github.com/prometheus/common/version.Version=${PROMETHEUS_VERSION}"
    version_flags+=" -X github.com/prometheus/common/version.Revision=${PROMETHEUS_MODULE_VERSION}"
    version_flags+=" -X github.com/prometheus/common/version.Branch=module-proxy"
    # GOWORK=off: the module ships a go.work naming folders the module zip lacks.
    (cd "$work/prometheus" &&
        GOWORK=off go build -trimpath -tags "$prometheus_tags" -ldflags "$version_flags" -o "$work/bin/" ./cmd/prometheus ./cmd/promtool)
    mkdir -p "$prometheus_dir"
    for binary in prometheus promtool; do
        cp "$work/bin/$binary" "$prometheus_dir/$binary.tmp"
        mv "$prometheus_dir/$binary.tmp" "$prometheus_dir/$binary"
    done
    chmod -R u+w "$work"; rm -rf "$work"
    trap - EXIT
fi

# Builds one Go command with `go install` into a version-keyed cache folder,
# once. For modules without replace directives (Helm, Sloth); the -X flags
# set what the binary reports as its version. GOTOOLCHAIN=local: a Go older
# than the module's go line fails with Go's own message instead of fetching
# another toolchain.
go_install_cached() {
    local name=$1 dir=$2 package=$3 ldflags=$4
    [[ -x "$dir/$name" ]] && return
    echo "== building $name (cached in $dir; a few minutes, once)"
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
    GOTOOLCHAIN=local GOBIN="$work/bin" go install -trimpath -ldflags "-s -w $ldflags" "$package"
    mkdir -p "$dir"
    cp "$work/bin/$name" "$dir/$name.tmp"
    mv "$dir/$name.tmp" "$dir/$name"
    rm -rf "$work"
    trap - EXIT
}

# `helm version` prints these, as Helm's own Makefile sets them.
go_install_cached helm "$helm_dir" "helm.sh/helm/v4/cmd/helm@v${HELM_VERSION}" \
    "-X helm.sh/helm/v4/internal/version.version=v${HELM_VERSION} -X helm.sh/helm/v4/internal/version.gitTreeState=clean"

# Without the -X flag Sloth calls itself "dev", and that string lands in every
# generated file (header and sloth_version label).
go_install_cached sloth "$sloth_dir" "github.com/slok/sloth/cmd/sloth@v${SLOTH_VERSION}" \
    "-X github.com/slok/sloth/internal/info.Version=v${SLOTH_VERSION}"

ln -sf "$collector_dir/otelcol-iss" "$out/otelcol-iss"
ln -sf "$prometheus_dir/prometheus" "$out/prometheus"
ln -sf "$prometheus_dir/promtool" "$out/promtool"
ln -sf "$helm_dir/helm" "$out/helm"
ln -sf "$sloth_dir/sloth" "$out/sloth"
"$out/otelcol-iss" --version
"$out/prometheus" --version 2>&1 | head -n1
"$out/helm" version --short
echo "sloth $("$out/sloth" version 2>/dev/null)"
