#!/usr/bin/env python3
"""Benchmark: a debian base image (`FROM scratch` / `ADD rootfs.tar.xz /` /
`CMD ["bash"]`) built by minibuild, against peers measured in the same run:

  pipeline-gzip  xz -dc rootfs.tar.xz | pigz -p2 -6      (what the layer costs at best)
  pipeline-zstd  xz -dc rootfs.tar.xz | zstd -3 -T2
  buildah        buildah bud + push to oci: (vfs, chroot isolation, fresh storage)
  minibuild      minibuild -o oci:DIR (gzip, then --compression zstd)

Prints each best-of-N wall time, minibuild's peak memory (max RSS), and the
ratios the targets are stated in. Usage:

  bench/debian.py [ROOTFS.tar.xz] [--runs N] [--no-buildah]

Without ROOTFS it uses examples/debian/rootfs.tar.xz (make it with
examples/debian/make-rootfs.sh). Builds minibuild with `cargo build --release`.
"""
import os, resource, shutil, subprocess, sys, tempfile, time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def timed(cmd, shell=False, cwd=None):
    """Runs cmd; (wall seconds, max RSS in KiB of the children it waited for)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t0 = time.perf_counter()
    r = subprocess.run(cmd, shell=shell, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    dt = time.perf_counter() - t0
    if r.returncode != 0:
        sys.exit("benchmark step failed: %s\n%s" % (cmd, r.stderr.decode(errors="replace")))
    return dt, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, before


def peak_rss_kib(cmd):
    """Max RSS of one command, measured alone in a fresh python child."""
    code = ("import resource,subprocess,sys;"
            "r=subprocess.run(sys.argv[1:],stdout=subprocess.DEVNULL,stderr=subprocess.DEVNULL);"
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss if r.returncode==0 else -1)")
    out = subprocess.run([sys.executable, "-c", code] + cmd, capture_output=True, text=True)
    return int(out.stdout.strip() or -1)


def best(n, fn):
    return min(fn() for _ in range(n))


def main():
    args = [a for a in sys.argv[1:]]
    runs = 3
    if "--runs" in args:
        i = args.index("--runs"); runs = int(args[i + 1]); del args[i:i + 2]
    with_buildah = "--no-buildah" not in args
    args = [a for a in args if a != "--no-buildah"]
    rootfs = os.path.abspath(args[0] if args else os.path.join(ROOT, "examples/debian/rootfs.tar.xz"))
    if not os.path.exists(rootfs):
        sys.exit("no %s: make it with examples/debian/make-rootfs.sh" % rootfs)
    for tool in ["xz", "pigz", "zstd"] + (["buildah"] if with_buildah else []):
        if not shutil.which(tool):
            sys.exit("benchmark needs %s" % tool)

    subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
    mb = os.path.join(ROOT, "target/release/minibuild")
    work = tempfile.mkdtemp(prefix="mb-bench-")
    ctx = os.path.join(work, "ctx")
    os.makedirs(ctx)
    shutil.copy(rootfs, os.path.join(ctx, "rootfs.tar.xz"))
    with open(os.path.join(ctx, "Dockerfile"), "w") as f:
        f.write('FROM scratch\nADD rootfs.tar.xz /\nCMD ["bash"]\n')
    q = lambda p: "'" + p.replace("'", "'\\''") + "'"
    try:
        res = {}
        res["pipeline-gzip"] = best(runs, lambda: timed("xz -dc %s | pigz -p2 -6 > /dev/null" % q(rootfs), shell=True)[0])
        res["pipeline-zstd"] = best(runs, lambda: timed("xz -dc %s | zstd -3 -T2 -q -c > /dev/null" % q(rootfs), shell=True)[0])

        def mb_build(extra):
            out = os.path.join(work, "out")
            shutil.rmtree(out, ignore_errors=True)
            return timed([mb, "-q", "-o", "oci:%s:debian:bench" % out] + extra + [ctx])[0]
        res["minibuild-gzip"] = best(runs, lambda: mb_build([]))
        res["minibuild-zstd"] = best(runs, lambda: mb_build(["--compression", "zstd"]))
        out = os.path.join(work, "out")
        rss = peak_rss_kib([mb, "-q", "-o", "oci:%s:debian:rss" % out, ctx])

        if with_buildah:
            def bb():
                store = os.path.join(work, "buildah")
                shutil.rmtree(store, ignore_errors=True)
                base = ["buildah", "--root", store + "/root", "--runroot", store + "/run", "--storage-driver", "vfs"]
                t1 = timed(base + ["bud", "--isolation", "chroot", "-t", "debian:bench", ctx])[0]
                t2 = timed(base + ["push", "debian:bench", "oci:%s/oci:debian:bench" % store])[0]
                subprocess.run(base + ["rmi", "-a", "-f"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                return t1 + t2
            res["buildah"] = best(min(runs, 2), bb)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    size = os.path.getsize(rootfs)
    print("debian rootfs: %s (%.1f MB xz), best of %d runs, %d cores" % (rootfs, size / 1e6, runs, os.cpu_count()))
    for k, v in res.items():
        print("  %-16s %7.2f s" % (k, v))
    print("  minibuild peak memory (max RSS): %.1f MB" % (rss / 1024))
    print("ratios:")
    g = res["minibuild-gzip"] / res["pipeline-gzip"]
    z = res["minibuild-zstd"] / res["pipeline-zstd"]
    print("  minibuild gzip / (xz -dc | pigz -p2 -6)  = %.2fx   (target <= 0.6x, #16)" % g)
    print("  minibuild zstd / (xz -dc | zstd -3 -T2)  = %.2fx   (target <= 1.1x)" % z)
    if "buildah" in res:
        print("  buildah / minibuild gzip                 = %.1fx faster (target >= 8x)" % (res["buildah"] / res["minibuild-gzip"]))
    print("  peak memory %.1f MB (target <= 64 MB)" % (rss / 1024))


if __name__ == "__main__":
    main()
