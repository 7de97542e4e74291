#!/usr/bin/env bash
# Installs what the test suite needs beyond npm packages: Debian's etcd and etcdctl (the reference
# for the differential tests), Debian's Chromium (the console's browser tests), and Debian's Go with
# etcd's client sources (Go programs built against clientv3 in GOPATH mode — no module proxy is
# needed), and a C compiler (the chaos harness's power cut preload, testkit/power_cut/). Idempotent;
# prints what it does.
set -euo pipefail
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
missing=()
[ -x /usr/bin/etcd ] || missing+=(etcd-server etcd-client)
[ -x /usr/bin/etcdctl ] || missing+=(etcd-client)
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ -x /usr/bin/openssl ] || missing+=(openssl)
command -v cc >/dev/null || missing+=(gcc libc6-dev)
{ command -v go >/dev/null && [ -d /usr/share/gocode/src/go.etcd.io/etcd/clientv3 ]; } || missing+=(golang-go golang-etcd-server-dev)
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-test-deps: installing Debian's ${missing[*]} (reference etcd for differential tests, a browser for the console's, Go for clientv3 programs, a C compiler for power cuts)"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
# Debian's package starts an etcd service where systemd runs; tests start their own on free ports.
echo "install-test-deps: $(/usr/bin/etcd --version | head -1); $(/usr/bin/chromium --version 2>/dev/null | head -1); $(go version)"
