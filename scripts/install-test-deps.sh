#!/usr/bin/env bash
# Installs what the test suite needs beyond npm packages: Debian's etcd (the reference for the
# differential tests) and Debian's Chromium (the console's browser tests). Idempotent; prints what
# it does.
set -euo pipefail
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
missing=()
[ -x /usr/bin/etcd ] || missing+=(etcd-server etcd-client)
[ -x /usr/bin/chromium ] || missing+=(chromium)
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-test-deps: installing Debian's ${missing[*]} (reference etcd for differential tests, a browser for the console's)"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
# Debian's package starts an etcd service where systemd runs; tests start their own on free ports.
echo "install-test-deps: $(/usr/bin/etcd --version | head -1); $(/usr/bin/chromium --version 2>/dev/null | head -1)"
