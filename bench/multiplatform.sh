#!/usr/bin/env bash
# Benchmark: one minibuild command for three platforms against three
# single-platform builds, measured in the same run on the same context.
#
# The context is what a multi-platform FROM-scratch project looks like: a
# static binary per architecture (examples/hello/hello.c cross-compiled
# when the compilers are there, else stand-in files), an ADDed rootfs
# tarball per architecture, and assets every platform shares
# (COPY assets/ — a layer that comes out the same for all three).
#
# Prints the best-of-N wall times and the ratio
#   time(--platform linux/amd64,linux/arm64,linux/arm/v7)
#   / (time(--platform linux/amd64) + time(linux/arm64) + time(linux/arm/v7))
# (issue #12's target: at most 1.1).
#
# Usage: bench/multiplatform.sh [RUNS]   (default 3; builds --release first)
set -euo pipefail
runs=${1:-3}
root=$(cd "$(dirname "$0")/.." && pwd)
cargo build --release --quiet --manifest-path "$root/Cargo.toml"
mb=$root/target/release/minibuild
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
ctx=$work/ctx
mkdir -p "$ctx/assets"

text() { # text DIR SUBDIRS FILES BYTES: compressible random text files
  python3 - "$@" <<'PY'
import base64, os, sys
root, dirs, files, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
for d in range(dirs):
    sub = os.path.join(root, "d%d" % d) if dirs > 1 else root
    os.makedirs(sub, exist_ok=True)
    for f in range(files):
        with open(os.path.join(sub, "f%d.txt" % f), "wb") as out:
            out.write(base64.b64encode(os.urandom(size * 3 // 4)))
PY
}

# per-architecture binary and rootfs
for a in amd64:gcc arm64:aarch64-linux-gnu-gcc arm/v7:arm-linux-gnueabihf-gcc; do
  dir=${a%%:*} cc=${a#*:}
  mkdir -p "$ctx/bin/$dir"
  if command -v "$cc" >/dev/null; then
    "$cc" -static -Os -o "$ctx/bin/$dir/hello" "$root/examples/hello/hello.c"
  else
    python3 -c 'import os,sys; open(sys.argv[1],"wb").write(os.urandom(800000))' "$ctx/bin/$dir/hello"
  fi
  arch=${dir%%/*}
  # a rootfs tarball: 200 files, 8 MB of text
  text "$work/rootfs-$arch/usr/lib" 1 200 40000
  tar -C "$work/rootfs-$arch" -cf "$ctx/rootfs-$arch.tar" .
done
# shared assets: 2000 files, 40 MB of text
text "$ctx/assets" 20 100 20000
cat > "$ctx/Dockerfile" <<'DF'
FROM scratch
ARG TARGETARCH
ARG TARGETVARIANT
ADD rootfs-${TARGETARCH}.tar /
COPY assets/ /usr/share/assets/
COPY bin/${TARGETARCH}${TARGETVARIANT:+/$TARGETVARIANT}/hello /hello
ENTRYPOINT ["/hello"]
DF

export SOURCE_DATE_EPOCH=1700000000
build() { # build OUT PLATFORMS: seconds
  rm -rf "$work/$1"
  local t0 t1
  t0=$(date +%s.%N)
  "$mb" --store "$work/store" -q --platform "$2" -o "oci:$work/$1:bench" "$ctx" >/dev/null
  t1=$(date +%s.%N)
  echo "$t1 - $t0" | bc -l
}
best() { # best CURRENT NEW
  if [ -z "$1" ] || [ "$(echo "$2 < $1" | bc -l)" = 1 ]; then echo "$2"; else echo "$1"; fi
}
multi='' amd='' arm64='' armv7=''
# one warm-up build, so that no measured build reads a cold page cache
build warm linux/amd64,linux/arm64,linux/arm/v7 >/dev/null
for _ in $(seq 1 "$runs"); do
  amd=$(best "$amd" "$(build amd linux/amd64)")
  multi=$(best "$multi" "$(build multi linux/amd64,linux/arm64,linux/arm/v7)")
  arm64=$(best "$arm64" "$(build arm64 linux/arm64)")
  armv7=$(best "$armv7" "$(build armv7 linux/arm/v7)")
done
sum=$(echo "$amd + $arm64 + $armv7" | bc -l)
printf 'context: %s\n' "$(du -sh "$ctx" | cut -f1)"
printf 'linux/amd64 alone     %6.2f s\n' "$amd"
printf 'linux/arm64 alone     %6.2f s\n' "$arm64"
printf 'linux/arm/v7 alone    %6.2f s\n' "$armv7"
printf 'sum of the three      %6.2f s\n' "$sum"
printf 'one 3-platform build  %6.2f s\n' "$multi"
printf 'ratio                 %6.2f (target <= 1.1)\n' "$(echo "$multi / $sum" | bc -l)"
