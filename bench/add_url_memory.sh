#!/usr/bin/env bash
# Benchmark: ADD of a large URL body streams in bounded memory.
#
# A loopback HTTP server (python3 -m http.server on 127.0.0.1) serves a
# file of SIZE_MB megabytes of random-ish data; minibuild builds
#   FROM scratch
#   ADD --checksum=sha256:... http://127.0.0.1:PORT/body /body
# into an oci: layout (compression none, so the time is the transfer's),
# and /usr/bin/time reports its peak resident memory.
#
# Prints the body size, minibuild's peak RSS and the ratio RSS / body
# (issue #14: the body is never held whole, so the ratio falls as the body
# grows; at 2048 MB it should be well under 0.1).
#
# Usage: bench/add_url_memory.sh [SIZE_MB]   (default 2048; builds --release
# first unless $MINIBUILD names a binary)
set -euo pipefail
size_mb=${1:-2048}
root=$(cd "$(dirname "$0")/.." && pwd)
if [ -z "${MINIBUILD:-}" ]; then
  cargo build --release --quiet --manifest-path "$root/Cargo.toml"
  MINIBUILD=$root/target/release/minibuild
fi
work=$(mktemp -d)
server=
cleanup() { [ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
mkdir -p "$work/srv" "$work/ctx"
# 1 MB of random bytes repeated: not compressible by chance, cheap to make
head -c 1048576 /dev/urandom > "$work/chunk"
for _ in $(seq "$size_mb"); do cat "$work/chunk"; done > "$work/srv/body"
sum=$(sha256sum "$work/srv/body" | cut -c1-64)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
(cd "$work/srv" && exec python3 -m http.server "$port" --bind 127.0.0.1 >/dev/null 2>&1) &
server=$!
for _ in $(seq 50); do
  python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$port/')" 2>/dev/null && break
  sleep 0.1
done
printf 'FROM scratch\nADD --checksum=sha256:%s http://127.0.0.1:%s/body /body\n' "$sum" "$port" > "$work/ctx/Dockerfile"
rss_kb=$( { /usr/bin/time -f '%M' env MINIBUILD_STORE="$work/store" "$MINIBUILD" build -q \
  --compression none -o "oci:$work/out:big" "$work/ctx" >/dev/null; } 2>&1 | tail -1 )
body_kb=$((size_mb * 1024))
echo "body:     ${size_mb} MB"
echo "peak RSS: $((rss_kb / 1024)) MB"
python3 -c "print(f'ratio RSS/body: {$rss_kb / $body_kb:.4f}')"
