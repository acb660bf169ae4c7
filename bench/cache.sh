#!/usr/bin/env bash
# Benchmark of the build cache, measured in one run; prints ratios.
#
#   rootfs ADD     cold build vs unchanged rebuild of FROM scratch / ADD rootfs.tar.xz /
#                  (a generated debian-like rootfs: ROOTFS_FILES files, ROOTFS_MB MB)
#   COPY context   cold vs unchanged rebuild of COPY . /app (FILES files, MB MB of
#                  incompressible data), then a rebuild after changing one file
#   COPY --from    cold vs unchanged rebuild of COPY --from=src /app/ of that image
#   second store   an empty store with --cache-from a local registry vs its cold build
#
# Each figure is the best of RUNS runs (each run prepared alike: a fresh
# store for a cold build, a newly changed file for the one-file case).
#
# Usage: bench/cache.sh   (from the environment:
#   FILES=20000 MB=400 ROOTFS_FILES=12000 ROOTFS_MB=300 RUNS=2 BIN=target/release/minibuild)
# The registry part needs docker-registry on PATH (skipped without it).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
FILES=${FILES:-20000}
MB=${MB:-400}
ROOTFS_FILES=${ROOTFS_FILES:-12000}
ROOTFS_MB=${ROOTFS_MB:-300}
BIN=${BIN:-}
if [ -z "$BIN" ]; then
    (cd "$ROOT" && cargo build --release --quiet)
    BIN=$ROOT/target/release/minibuild
fi
WORK=$(mktemp -d)
REG_PID=
cleanup() {
    if [ -n "$REG_PID" ]; then kill "$REG_PID" 2>/dev/null || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT
export SOURCE_DATE_EPOCH=0

# seconds taken by one build (its output discarded); the disk is synced
# first, so no build pays for the writeback of what the one before wrote
timed() {
    local t0 t1
    sync
    t0=$(date +%s.%N)
    "$BIN" "$@" >/dev/null 2>"$WORK/last.log" || { cat "$WORK/last.log"; exit 1; }
    t1=$(date +%s.%N)
    echo "$t1 - $t0" | bc -l
}
# the least seconds of RUNS runs of one build (the first run after other
# work can pay for memory the VM has not touched yet); before each,
# `$1 RUN` prepares it (a fresh store, a changed file, or nothing: `:`)
RUNS=${RUNS:-2}
best() {
    local prepare=$1 least="" t i
    shift
    for i in $(seq "$RUNS"); do
        "$prepare" "$i"
        t=$(timed "$@")
        if [ -z "$least" ] || [ "$(echo "$t < $least" | bc -l)" = 1 ]; then least=$t; fi
    done
    echo "$least"
}
fresh_store() { rm -rf "$S"; }
no_cache() { "$BIN" --store "$S" prune --cache >/dev/null; }
change_one() { head -c $((1000 + $1)) /dev/urandom > "$WORK/copy/app/d000/f00000"; }
ratio() { printf '%.3f' "$(echo "$1 / $2" | bc -l)"; }
cached_steps() { grep -c ' CACHED ' "$WORK/last.log" || true; }

# FILES files of MB MB under $1 (random bytes: what gzip cannot shrink)
make_files() {
    local dir=$1 files=$2 mb=$3 size
    size=$(( mb * 1024 * 1024 / files ))
    python3 - "$dir" "$files" "$size" <<'PY'
import os, sys
d, n, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
for i in range(n):
    sub = os.path.join(d, "d%03d" % (i % 200))
    os.makedirs(sub, exist_ok=True)
    with open(os.path.join(sub, "f%05d" % i), "wb") as f:
        f.write(os.urandom(size))
PY
}

# a debian-like rootfs: directories, text-like files (compressible), symlinks
make_rootfs() {
    local out=$1 files=$2 mb=$3
    python3 - "$WORK/rootfs" "$files" "$(( mb * 1024 * 1024 / files ))" <<'PY'
import os, random, sys
d, n, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
random.seed(1)
words = [bytes(random.choice(b"abcdefghijklmnopqrstuvwxyz") for _ in range(random.randint(2, 9))) for _ in range(4000)]
for top in ["usr/bin", "usr/lib/x86_64-linux-gnu", "usr/share/doc", "etc", "var/lib/dpkg/info"]:
    os.makedirs(os.path.join(d, top), exist_ok=True)
tops = ["usr/bin", "usr/lib/x86_64-linux-gnu", "usr/share/doc", "etc", "var/lib/dpkg/info"]
for i in range(n):
    path = os.path.join(d, tops[i % len(tops)], "p%03d" % (i % 97), "file%05d" % i)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(b" ".join(random.choice(words) for _ in range(size // 6)) + os.urandom(size // 4))
for i in range(200):
    os.symlink("file%05d" % i, os.path.join(d, "usr/bin", "link%03d" % i))
PY
    tar -C "$WORK/rootfs" -cf - . | xz -T2 -1 > "$out"
    rm -rf "$WORK/rootfs"
}

echo "generating: rootfs $ROOTFS_FILES files / $ROOTFS_MB MB, context $FILES files / $MB MB"
mkdir -p "$WORK/add" "$WORK/copy"
make_rootfs "$WORK/add/rootfs.tar.xz" "$ROOTFS_FILES" "$ROOTFS_MB"
printf 'FROM scratch\nADD rootfs.tar.xz /\nCMD ["bash"]\n' > "$WORK/add/Dockerfile"
make_files "$WORK/copy/app" "$FILES" "$MB"
printf 'FROM scratch\nCOPY app/ /app/\n' > "$WORK/copy/Dockerfile"

S="$WORK/store"
add_cold=$(best fresh_store --store "$S" build -t add:1 "$WORK/add")
add_warm=$(best : --store "$S" build --progress plain -t add:1 "$WORK/add")
[ "$(cached_steps)" = 1 ] || { echo "the rootfs ADD did not hit"; cat "$WORK/last.log"; exit 1; }
copy_cold=$(best fresh_store --store "$S" build -t copy:1 "$WORK/copy")
copy_warm=$(best : --store "$S" build --progress plain -t copy:1 "$WORK/copy")
[ "$(cached_steps)" = 1 ] || { echo "the COPY did not hit"; cat "$WORK/last.log"; exit 1; }
mkdir -p "$WORK/from"
printf 'FROM copy:1 AS src\nFROM scratch\nCOPY --from=src /app/ /app2/\n' > "$WORK/from/Dockerfile"
from_cold=$(best no_cache --store "$S" build -t from:1 "$WORK/from")
from_warm=$(best : --store "$S" build --progress plain -t from:1 "$WORK/from")
[ "$(cached_steps)" = 1 ] || { echo "the COPY --from did not hit"; cat "$WORK/last.log"; exit 1; }
copy_one=$(best change_one --store "$S" build -t copy:1 "$WORK/copy")

printf '%-34s %9s %9s %7s\n' "case" "cold s" "rebuild s" "ratio"
printf '%-34s %9.2f %9.2f %7s  (target <= 0.05)\n' "rootfs ADD, unchanged" "$add_cold" "$add_warm" "$(ratio "$add_warm" "$add_cold")"
printf '%-34s %9.2f %9.2f %7s  (target <= 0.10)\n' "COPY $FILES files, unchanged" "$copy_cold" "$copy_warm" "$(ratio "$copy_warm" "$copy_cold")"
printf '%-34s %9.2f %9.2f %7s  (target <= 1.10)\n' "COPY, one file changed" "$copy_cold" "$copy_one" "$(ratio "$copy_one" "$copy_cold")"
printf '%-34s %9.2f %9.2f %7s\n' "COPY --from of those, unchanged" "$from_cold" "$from_warm" "$(ratio "$from_warm" "$from_cold")"

if ! command -v docker-registry >/dev/null; then
    echo "second store: skipped (no docker-registry)"
    exit 0
fi
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
printf 'version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: %s\nhttp:\n  addr: 127.0.0.1:%s\n' "$WORK/registry" "$PORT" > "$WORK/registry.yml"
docker-registry serve "$WORK/registry.yml" >/dev/null 2>&1 &
REG_PID=$!
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$PORT/v2/" >/dev/null && break; sleep 0.1; done
CACHE="docker://127.0.0.1:$PORT/bench/cache:copy"
timed --store "$S" build --cache-to "$CACHE" -t copy:1 "$WORK/copy" >/dev/null
fresh_cold2() { rm -rf "$WORK/cold2"; }
fresh_store2() { rm -rf "$WORK/store2"; }
two_cold=$(best fresh_cold2 --store "$WORK/cold2" build -t copy:1 "$WORK/copy")
two_from=$(best fresh_store2 --store "$WORK/store2" build --progress plain --cache-from "$CACHE" -t copy:1 "$WORK/copy")
[ "$(cached_steps)" = 1 ] || { echo "--cache-from did not hit"; cat "$WORK/last.log"; exit 1; }
printf '%-34s %9.2f %9.2f %7s  (target <= 0.15)\n' "second store, --cache-from registry" "$two_cold" "$two_from" "$(ratio "$two_from" "$two_cold")"
