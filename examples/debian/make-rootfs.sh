#!/usr/bin/env bash
# Makes examples/debian/rootfs.tar.xz: a debian minbase root filesystem,
# as debuerreotype's base images start from. Needs mmdebstrap (Debian
# package) and a Debian mirror; run as root, or it uses unshare mode.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
suite="${1:-bookworm}"
mirror="${MIRROR:-http://deb.debian.org/debian}"
mode=root
[ "$(id -u)" = 0 ] || mode=unshare
mmdebstrap --variant=minbase --mode="$mode" "$suite" "$here/rootfs.tar.xz" "$mirror"
ls -l "$here/rootfs.tar.xz"
