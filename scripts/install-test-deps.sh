#!/usr/bin/env bash
# Installs what the test suite needs on a fresh Debian machine (run as root):
# Debian's Prometheus and promtool (the local run without Docker), headless
# Chromium and ChromeDriver, the Rust lint tools, Schemathesis and
# kubernetes-validate (PyPI), and then builds the real
# OpenTelemetry Collector, Prometheus 3.14 and Helm 4 with Go (cached by version; see
# scripts/build-platform-tools.sh). Go >= 1.26 must be installed already:
# Debian's own Go is too old for the collector.
set -euo pipefail
packages=(prometheus chromium chromium-driver)
if [[ ${CI:-} == true ]] || ! command -v prometheus >/dev/null || ! command -v chromedriver >/dev/null || ! command -v chromium >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
fi
if command -v rustup >/dev/null; then
  rustup component add rustfmt clippy >/dev/null 2>&1 || true
fi
# Schemathesis (the `st` command) drives each JSON API from its OpenAPI document.
schemathesis_version=4.32.5
if ! st --version 2>/dev/null | grep -q "$schemathesis_version"; then
  python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore "schemathesis==$schemathesis_version"
fi
st --version
# kubernetes-validate checks the Helm chart's rendered manifests against the
# Kubernetes schemas it ships (lab/platform/tests/helm.rs pins the same version).
kubernetes_validate_version=1.37.0
if [[ $(kubernetes-validate --version 2>/dev/null) != "$kubernetes_validate_version" ]]; then
  python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore "kubernetes-validate==$kubernetes_validate_version"
  # A pyenv Python needs its shims refreshed before a new command is on PATH.
  command -v kubernetes-validate >/dev/null || ! command -v pyenv >/dev/null || pyenv rehash
fi
kubernetes-validate --version
prometheus --version 2>&1 | head -1
chromium --version
command -v go >/dev/null || { echo "Go >= 1.26 is needed to build the collector, Prometheus 3.14 and Helm 4: https://go.dev/doc/install" >&2; exit 1; }
"$(dirname "$0")/build-platform-tools.sh"
