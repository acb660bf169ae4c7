#!/usr/bin/env bash
# Benchmark: FROM an image archive is read in place (issue #14).
#
# Makes a base of one SIZE_MB layer of random bytes (uncompressed), saves it
# as oci-archive and docker-archive, then builds `FROM <archive>` + a small
# COPY into a fresh store, against the pipeline an unpacking reader amounts
# to (tar -xf the oci-archive, then FROM oci:DIR), in the same run. For each
# it prints the wall time and the bytes written (wchar of /proc/PID/io, read
# before the process is reaped), and the ratios in-place / unpack. The
# in-place reader writes the layer once (into the store); unpacking writes
# it at least twice.
#
# Usage: bench/archive_from.sh [SIZE_MB]   (default 300; builds --release
# first unless $MINIBUILD names a binary)
set -euo pipefail
size_mb=${1:-300}
root=$(cd "$(dirname "$0")/.." && pwd)
if [ -z "${MINIBUILD:-}" ]; then
  cargo build --release --quiet --manifest-path "$root/Cargo.toml"
  MINIBUILD=$root/target/release/minibuild
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/base" "$work/app"
head -c "$((size_mb * 1048576))" /dev/urandom > "$work/base/big.bin"
printf 'FROM scratch\nCOPY big.bin /\n' > "$work/base/Dockerfile"
"$MINIBUILD" build --store "$work/s0" --compression none -t big:1 "$work/base" > /dev/null 2>&1
rm "$work/base/big.bin"
for kind in oci docker; do
  "$MINIBUILD" save --store "$work/s0" big:1 "$kind-archive:$work/big-$kind.tar" > /dev/null 2>&1
done
echo small > "$work/app/small.txt"

# runs a command; prints "SECONDS BYTES_WRITTEN"
measure() {
  python3 - "$@" <<'PY'
import os, subprocess, sys, time
t = time.time()
p = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
os.waitid(os.P_PID, p.pid, os.WEXITED | os.WNOWAIT)
wall = time.time() - t
io = dict(l.split(": ") for l in open(f"/proc/{p.pid}/io").read().splitlines() if l)
if p.wait() != 0:
    sys.exit(f"failed: {sys.argv[1:]}")
print(f"{wall:.2f} {io['wchar']}")
PY
}

build_from() { # SOURCE STORE
  printf 'FROM %s\nCOPY small.txt /\n' "$1" > "$work/app/Dockerfile"
  rm -rf "$2"
  sync
  measure "$MINIBUILD" build --store "$2" -t app:1 "$work/app"
}

# the unpacking pipeline: tar -xf, then FROM the layout
unpack_then_from() {
  rm -rf "$work/unpacked" "$work/s2"
  mkdir "$work/unpacked"
  sync
  read -r t1 w1 < <(measure tar -xf "$work/big-oci.tar" -C "$work/unpacked")
  read -r t2 w2 < <(build_from "oci:$work/unpacked" "$work/s2")
  echo "$(echo "$t1 + $t2" | bc) $((w1 + w2))"
}

read -r ut uw < <(unpack_then_from)
printf '%-34s %6.2f s %8d MB\n' "unpack + FROM oci:DIR" "$ut" "$((uw / 1000000))"
for kind in oci docker; do
  read -r t w < <(build_from "$kind-archive:$work/big-$kind.tar" "$work/s1")
  printf '%-34s %6.2f s %8d MB   time ratio %.2f, bytes ratio %.2f\n' \
    "FROM $kind-archive: (in place)" "$t" "$((w / 1000000))" \
    "$(echo "$t / $ut" | bc -l)" "$(echo "$w / $uw" | bc -l)"
done
