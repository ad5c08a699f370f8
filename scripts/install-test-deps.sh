#!/usr/bin/env bash
# Installs what the test suite needs on a fresh Debian machine (run as root):
# the real Prometheus and promtool, headless Chromium and ChromeDriver, and
# the Rust lint tools.
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
prometheus --version 2>&1 | head -1
chromium --version
