#!/bin/sh
# ADD of a rootfs archive against the shell pipelines it must keep up with:
#   gzip: minibuild ≤ 1.2 × `xz -dc | pigz -p2 -6`
#   zstd: minibuild ≤ 1.1 × `xz -dc | zstd -3 -T2`
# and peak memory ≤ 64 MB. Usage: bench/add_archive.sh [ROOTFS.tar.xz]
# Without an argument, a rootfs-like archive is made from /usr (xz -6).
set -eu
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
archive=${1:-}
if [ -z "$archive" ]; then
    archive=$work/rootfs.tar.xz
    tar -C / -cf - usr/lib/x86_64-linux-gnu usr/share/doc 2>/dev/null | head -c 400000000 \
        | xz -6 -T2 >"$archive" || true
fi
echo "archive: $archive ($(du -h "$archive" | cut -f1))"
cargo test --release --test layer_bench --no-run 2>/dev/null
bin=$(ls -t target/release/deps/layer_bench-* | grep -v '\.d$' | head -1)

measure() { # label, command...
    label=$1; shift
    /usr/bin/time -f "%e %M" -o "$work/time" "$@" >/dev/null 2>"$work/err" || { cat "$work/err"; exit 1; }
    read -r secs kb <"$work/time"
    echo "$label: ${secs}s, peak ${kb} KiB"
    echo "$secs"
}

for c in gzip zstd; do
    if [ $c = gzip ]; then
        base=$(measure "xz -dc | pigz -p2 -6" sh -c "xz -dc '$archive' | pigz -p2 -6 >'$work/base'" | tee /dev/stderr | tail -1)
        limit=1.2
    else
        base=$(measure "xz -dc | zstd -3 -T2" sh -c "xz -dc '$archive' | zstd -q -3 -T2 >'$work/base'" | tee /dev/stderr | tail -1)
        limit=1.1
    fi
    ours=$(MINIBUILD_BENCH_ARCHIVE=$archive MINIBUILD_BENCH_OUT=$work/layer MINIBUILD_BENCH_COMPRESSION=$c \
        measure "minibuild ADD ($c)" "$bin" --ignored --exact add_archive --test-threads=1 | tee /dev/stderr | tail -1)
    echo "$c: ratio $(echo "$ours / $base" | bc -l | cut -c1-5) (target ≤ $limit)"
done
