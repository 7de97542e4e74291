#!/usr/bin/env bash
# Installs what the test suite needs beyond npm packages: Debian's etcd (the reference for the
# differential tests). Idempotent; prints what it does.
set -euo pipefail
if [ ! -x /usr/bin/etcd ]; then
  echo "install-test-deps: installing Debian's etcd-server and etcd-client (reference etcd for differential tests)"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq etcd-server etcd-client >/dev/null
fi
# Debian's package starts an etcd service where systemd runs; tests start their own on free ports.
echo "install-test-deps: $(/usr/bin/etcd --version | head -1)"
