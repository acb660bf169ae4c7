#!/usr/bin/env bash
# Benchmark of every workload of issue #16, measured in one run, each against
# the shell pipeline that is its limit (and buildah where it can do it):
#
#   hello        the examples/hello image (FROM scratch, one COPY)
#   copy         COPY of a generated context of COPY_FILES files / COPY_MB MB
#                vs `tar -c | pigz -p2`
#   add-zstd     ADD rootfs.tar.zst (a tar of /usr/lib and /usr/share files,
#                ROOTFS_MB MB), --compression zstd, vs `zstd -dc | zstd -3 -T2`
#                and vs that pipeline hashing what minibuild hashes
#   add-gzip     the same with gzip layers vs `zstd -dc | pigz -p2 -6`
#   add-xz       ADD of the first XZ_MB MB of that tar as a multi-block xz
#                (`xz -T0`, the debian-like ADD) vs `xz -dc | pigz -p2 -6` and
#                `| zstd -3 -T2`, and vs the same content as a single-block
#                xz (`xz -T1`) with uncompressed, zstd and gzip layers; and the
#                same at `xz -2`, whose smaller dictionaries let two decoders
#                run beside a zstd compressor too (-6's do not)
#
# Each row: wall seconds, the pipeline's seconds, their ratio, minibuild's
# peak RSS (/usr/bin/time -v) and the layer's size beside the pipeline's
# output size. Every input is generated here into a temporary directory and
# removed at the end.
#
# Usage: bench/speed.sh   (sizes from the environment:)
#   ROOTFS_MB=4500 COPY_FILES=20000 COPY_MB=400 XZ_MB=256 XZ_LEVEL=6
#   BUILDAH=1 (0: skip buildah) BUILDAH_BIG=0 (1: buildah on the rootfs too)
#   REPEAT=1: the COPY and rootfs rows run their build and their pipeline
#   this many times, interleaved, and keep the best of each (on a VM whose
#   steal time swings, single runs of the same work differ by 15%)
set -euo pipefail
ROOTFS_MB=${ROOTFS_MB:-4500}
COPY_FILES=${COPY_FILES:-20000}
COPY_MB=${COPY_MB:-400}
XZ_MB=${XZ_MB:-256}
XZ_LEVEL=${XZ_LEVEL:-6}
BUILDAH=${BUILDAH:-1}
BUILDAH_BIG=${BUILDAH_BIG:-0}
REPEAT=${REPEAT:-1}
root=$(cd "$(dirname "$0")/.." && pwd)
cargo build --release --quiet --manifest-path "$root/Cargo.toml"
mb=$root/target/release/minibuild
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
command -v buildah >/dev/null || BUILDAH=0

min() { awk -v a="$1" -v b="$2" 'BEGIN { print (a < b ? a : b) }'; }

# measure NAME CMD...: runs CMD under /usr/bin/time; sets T (s) and M (MB)
measure() {
  local name=$1
  shift
  /usr/bin/time -f '%e %M' -o "$work/time.$name" "$@" >"$work/out.$name" 2>"$work/err.$name" || {
    echo "$name failed:" >&2
    cat "$work/err.$name" >&2
    exit 1
  }
  read -r T M <"$work/time.$name"
  M=$((M / 1024))
}

# build NAME CTX [FLAGS...]: a minibuild build into a fresh store; sets T, M,
# and L (the size in MB of the image's biggest layer)
build() {
  local name=$1 ctx=$2
  shift 2
  rm -rf "$work/store" "$work/oci"
  measure "$name" env MINIBUILD_STORE="$work/store" SOURCE_DATE_EPOCH=0 \
    "$mb" build --quiet -o "oci:$work/oci:$name" "$@" "$ctx"
  L=$(python3 - "$work/oci" <<'PY'
import json, sys, os
root = sys.argv[1]
index = json.load(open(os.path.join(root, "index.json")))
digest = index["manifests"][0]["digest"].split(":")[1]
manifest = json.load(open(os.path.join(root, "blobs/sha256", digest)))
print("%.1f" % (max(l["size"] for l in manifest["layers"]) / 1e6))
PY
)
}

# pipeline NAME SHELL-PIPELINE: sets T, M, and P (the MB it wrote)
pipeline() {
  local name=$1
  measure "$name" bash -c "$2 | wc -c"
  P=$(awk '{printf "%.1f", $1 / 1e6}' "$work/out.$name")
}

# pair NAME CTX "FLAGS" PIPELINE: REPEAT interleaved runs of the build and
# of its pipeline, the best time of each; sets BT BM BL (the build's T M L)
# and PT PP (the pipeline's T P)
pair() {
  local name=$1 ctx=$2 flags=$3 pipe=$4 i
  BT= PT=
  for ((i = 0; i < REPEAT; i++)); do
    # shellcheck disable=SC2086 # FLAGS are words
    build "$name" "$ctx" $flags
    BT=$(min "$T" "${BT:-$T}") BM=$M BL=$L
    pipeline "$name-pipe" "$pipe"
    PT=$(min "$T" "${PT:-$T}") PP=$P
  done
}

# buildah_bud NAME CTX: sets B (s), or "-" without buildah
buildah_bud() {
  B=-
  [ "$BUILDAH" = 1 ] || return 0
  rm -rf "$work/buildah"
  measure "buildah-$1" buildah --root "$work/buildah/root" --runroot "$work/buildah/run" \
    --storage-driver vfs bud --isolation chroot -q -t "bench-$1" "$2"
  B=$T
}

rows=()
row() { # row WORKLOAD MB_S PIPE_S PEAK_MB LAYER_MB PIPE_MB BUILDAH_S
  local ratio size_ratio vs_buildah
  ratio=$(awk -v a="$2" -v b="$3" 'BEGIN { if (b > 0) printf "%.2f", a / b; else printf "-" }')
  size_ratio=$(awk -v a="$5" -v b="$6" 'BEGIN { if (b > 0) printf "%.3f", a / b; else printf "-" }')
  vs_buildah=-
  [ "$7" = - ] || vs_buildah=$(awk -v a="$2" -v b="$7" 'BEGIN { printf "%.2f", a / b }')
  rows+=("| $1 | $2 | $3 | $ratio | $4 | $5 | $6 | $size_ratio | $7 | $vs_buildah |")
}

echo "generating inputs in $work (rootfs $ROOTFS_MB MB, copy $COPY_FILES files / $COPY_MB MB, xz $XZ_MB MB)" >&2
# the rootfs: real files of /usr/lib and /usr/share up to ROOTFS_MB
find /usr/lib /usr/share -xdev -type f -size -64M -printf '%s %p\n' 2>/dev/null |
  awk -v max=$((ROOTFS_MB * 1000000)) -v xz=$((XZ_MB * 1000000)) -v w="$work" '
    { sum += $1; path = substr($0, index($0, " ") + 2)
      if (sum > max) full = 1; if (full) next  # (no exit: find would get SIGPIPE)
      print path > (w "/rootfs.list")
      if (sum <= xz) print path > (w "/xz.list") }'
tar -C / -cf "$work/rootfs.tar" -T "$work/rootfs.list" 2>/dev/null || true
tar -C / -cf "$work/xz.tar" -T "$work/xz.list" 2>/dev/null || true
zstd -q -3 -T2 "$work/rootfs.tar" -o "$work/rootfs.tar.zst"
xz -T0 -"$XZ_LEVEL" -c "$work/xz.tar" >"$work/blocks.tar.xz"
xz -T1 -"$XZ_LEVEL" -c "$work/xz.tar" >"$work/one.tar.xz"
xz -T0 -2 -c "$work/xz.tar" >"$work/blocks2.tar.xz"
xz -T1 -2 -c "$work/xz.tar" >"$work/one2.tar.xz"
rm "$work/rootfs.tar"
mkdir -p "$work/add-zst" "$work/add-xz-T2" "$work/add-xz-T1" "$work/add-xz2-T2" "$work/add-xz2-T1"
mv "$work/rootfs.tar.zst" "$work/add-zst/"
mv "$work/blocks.tar.xz" "$work/add-xz-T2/rootfs.tar.xz"
mv "$work/one.tar.xz" "$work/add-xz-T1/rootfs.tar.xz"
mv "$work/blocks2.tar.xz" "$work/add-xz2-T2/rootfs.tar.xz"
mv "$work/one2.tar.xz" "$work/add-xz2-T1/rootfs.tar.xz"
for d in add-zst:rootfs.tar.zst add-xz-T2:rootfs.tar.xz add-xz-T1:rootfs.tar.xz \
  add-xz2-T2:rootfs.tar.xz add-xz2-T1:rootfs.tar.xz; do
  printf 'FROM scratch\nADD %s /\n' "${d#*:}" >"$work/${d%%:*}/Dockerfile"
done
# the COPY context: files cut from the xz tar's real bytes, in 200 directories
python3 - "$work/xz.tar" "$work/copy/data" "$COPY_FILES" "$COPY_MB" <<'PY'
import os, sys
src, root, files, mb = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
data = open(src, "rb").read()
size = mb * 1000000 // files
for i in range(files):
    d = os.path.join(root, "d%03d" % (i % 200))
    os.makedirs(d, exist_ok=True)
    at = (i * 7919 * 4096) % max(1, len(data) - size)
    with open(os.path.join(d, "f%05d" % i), "wb") as f:
        f.write(data[at:at + size])
PY
rm "$work/xz.tar"
printf 'FROM scratch\nCOPY data /data\n' >"$work/copy/Dockerfile"
mkdir -p "$work/hello"
cc -static -Os -o "$work/hello/hello" "$root/examples/hello/hello.c"
cp "$root/examples/hello/Dockerfile" "$work/hello/"

echo "measuring" >&2
# hello: best of 5 (milliseconds), vs buildah
best=
for _ in 1 2 3 4 5; do
  build hello "$work/hello"
  best=$(min "$T" "${best:-$T}")
done
hm=$M hl=$L
buildah_bud hello "$work/hello"
row "hello (s, best of 5)" "$best" 0 "$hm" "$hl" 0 "$B"

runs=
[ "$REPEAT" = 1 ] || runs=", best of $REPEAT"
pair copy "$work/copy" "" "tar -C '$work/copy' -cf - data | pigz -p2 -6"
buildah_bud copy "$work/copy"
row "COPY $COPY_FILES files / $COPY_MB MB, gzip$runs" "$BT" "$PT" "$BM" "$BL" "$PP" "$B"

zst=$work/add-zst/rootfs.tar.zst
pair add-zstd "$work/add-zst" "--compression zstd" "zstd -dc '$zst' | zstd -3 -T2 -c"
B=-
[ "$BUILDAH_BIG" = 1 ] && buildah_bud add "$work/add-zst"
row "ADD rootfs.tar.zst ($ROOTFS_MB MB), zstd layer$runs" "$BT" "$PT" "$BM" "$BL" "$PP" "$B"
# the same work as a pipeline: minibuild also hashes the archive (its cache
# key), the tar (the diff_id) and the blob (its digest); openssl's sha256 is
# as fast as minibuild's (SHA-NI where the CPU has it), GNU sha256sum is not
hashed=
for ((i = 0; i < REPEAT; i++)); do
  pipeline add-zstd-hashed "{ openssl dgst -sha256 '$zst' >/dev/null & zstd -dc '$zst' |
    tee >(openssl dgst -sha256 >/dev/null) | zstd -3 -T2 -c | tee >(openssl dgst -sha256 >/dev/null); wait; }"
  hashed=$(min "$T" "${hashed:-$T}")
done
row "ADD rootfs.tar.zst, zstd layer, vs that pipeline with the same three sha256 (openssl)$runs" "$BT" "$hashed" "$BM" "$BL" "$P" -

pair add-gzip "$work/add-zst" "" "zstd -dc '$zst' | pigz -p2 -6"
row "ADD rootfs.tar.zst ($ROOTFS_MB MB), gzip layer$runs" "$BT" "$PT" "$BM" "$BL" "$PP" "$B"

build add-xz-T2 "$work/add-xz-T2"
x2=$T x2m=$M x2l=$L
pipeline add-xz-pipe "xz -T0 -dc '$work/add-xz-T2/rootfs.tar.xz' | pigz -p2 -6"
row "ADD xz -T0 ($XZ_MB MB, -$XZ_LEVEL), gzip layer, vs \`xz -T0 -dc \| pigz -p2 -6\`" "$x2" "$T" "$x2m" "$x2l" "$P" -
build add-xz-T2-zstd "$work/add-xz-T2" --compression zstd
x2z=$T x2zm=$M x2zl=$L
pipeline add-xz-pipe-zstd "xz -T0 -dc '$work/add-xz-T2/rootfs.tar.xz' | zstd -3 -T2 -c"
row "ADD xz -T0 ($XZ_MB MB, -$XZ_LEVEL), zstd layer, vs \`xz -T0 -dc \| zstd -3 -T2\`" "$x2z" "$T" "$x2zm" "$x2zl" "$P" -
# the same content as a single-block xz: the ratio is the parallel decoder's
# gain; with uncompressed layers decoding is what is measured, with zstd
# layers an -6 archive's two decoders do not fit beside the compressor and
# it takes the plain decoder, with gzip layers the two cores are shared with
# deflate
# vs_single NAME LABEL BLOCKS_DIR ONE_DIR COMPRESSION: a row of the multi-block
# build against the single-block one
vs_single() {
  build "$1-T2" "$3" --compression "$5"
  local t=$T m=$M l=$L
  build "$1-T1" "$4" --compression "$5"
  row "$2" "$t" "$T" "$m" "$l" - -
}
vs_single add-xz-none "ADD xz -T0 vs single-block xz, none layers (isolates decoding)" \
  "$work/add-xz-T2" "$work/add-xz-T1" none
build add-xz-T1-zstd "$work/add-xz-T1" --compression zstd
row "ADD xz -T0 vs single-block xz, zstd layers" "$x2z" "$T" "$x2zm" "$x2zl" - -
build add-xz-T1 "$work/add-xz-T1"
row "ADD xz -T0 vs single-block xz, gzip layers" "$x2" "$T" "$x2m" "$x2l" - -
# xz -2: blocks of 6 MiB, 2 MiB dictionaries: two decoders fit beside zstd
for c in none zstd; do
  vs_single "add-xz2-$c" "ADD xz -T0 -2 vs single-block xz -2, $c layers" \
    "$work/add-xz2-T2" "$work/add-xz2-T1" "$c"
done

echo
echo "| workload | minibuild s | pipeline s | ratio | peak MB | layer MB | pipeline MB | size ratio | buildah s | vs buildah |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
printf '%s\n' "${rows[@]}"
echo
echo "($(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) at the end)"
