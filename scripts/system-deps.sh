#!/usr/bin/env bash
# Installs the Debian packages the platform and its tests need, only when missing:
#   librdkafka-dev + gcc + pkg-config  the dev Kafka broker (services/devbroker)
#   prometheus (with promtool)         the observability tests scrape the platform with a real Prometheus
#   chromium                           headless screenshots of the live view and the experiment reports
set -euo pipefail
need=()
pkg-config --exists rdkafka 2>/dev/null || need+=(librdkafka-dev pkg-config)
command -v gcc >/dev/null || need+=(gcc)
command -v promtool >/dev/null && command -v prometheus >/dev/null || need+=(prometheus)
command -v chromium >/dev/null || need+=(chromium)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "missing Debian packages: ${need[*]} — install them with: sudo apt-get install -y ${need[*]}" >&2
    exit 1
  fi
  echo "installing Debian packages: ${need[*]} (once)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
