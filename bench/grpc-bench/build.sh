#!/usr/bin/env bash
# Builds the gRPC load generator (main.go beside this script; from the project's shared tools, with its
# "measuring"/"measured" lines added) with Debian's Go and etcd client sources only:
# GOPATH mode, GOPATH=/usr/share/gocode (golang-etcd-server-dev ships go.etcd.io/etcd/clientv3 there), no module proxy.
# Usage: build.sh OUTDIR — writes OUTDIR/grpc-bench and prints its path; idempotent (skips an up-to-date binary).
set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
out=${1:?usage: build.sh OUTDIR}
mkdir -p "$out" && out=$(cd "$out" && pwd) || { echo "build.sh: cannot create $out" >&2; exit 1; }
bin="$out/grpc-bench"
if [ -x "$bin" ] && [ "$bin" -nt "$here/main.go" ] && [ "$bin" -nt "$here/build.sh" ]; then echo "$bin"; exit 0; fi
if ! command -v go >/dev/null 2>&1 || [ ! -d /usr/share/gocode/src/go.etcd.io/etcd/clientv3 ]; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y golang-go golang-etcd-server-dev >"$out/apt.log" 2>&1 \
    || { echo "build.sh: apt-get install golang-go golang-etcd-server-dev failed (see $out/apt.log)" >&2; tail -5 "$out/apt.log" >&2; exit 1; }
fi
export PATH="$PATH:/usr/lib/go/bin"
if ! (cd "$out" && GO111MODULE=off GOPATH=/usr/share/gocode GOFLAGS= GOPROXY=off GOCACHE="${GOCACHE:-$out/gocache}" \
      go build -o "$bin.tmp" "$here/main.go") >"$out/build.log" 2>&1; then
  echo "build.sh: go build failed (see $out/build.log)" >&2; cat "$out/build.log" >&2; exit 1
fi
mv -f "$bin.tmp" "$bin" && echo "$bin"
