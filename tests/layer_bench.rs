//! The ADD benchmark's driver (run by `bench/add_archive.sh`, not by
//! `cargo test`): writes one layer from the archive named by
//! `MINIBUILD_BENCH_ARCHIVE` with `MINIBUILD_BENCH_COMPRESSION` (gzip | zstd)
//! into `MINIBUILD_BENCH_OUT`, and prints the descriptor.

use minibuild::layer::{write_layer, Compression, LayerOptions, Source};

#[test]
#[ignore = "a benchmark: run bench/add_archive.sh"]
fn add_archive() {
    let archive = std::env::var("MINIBUILD_BENCH_ARCHIVE").expect("MINIBUILD_BENCH_ARCHIVE");
    let out = std::env::var("MINIBUILD_BENCH_OUT").expect("MINIBUILD_BENCH_OUT");
    let name = std::env::var("MINIBUILD_BENCH_COMPRESSION").unwrap_or_else(|_| "gzip".into());
    let compression = Compression::parse(&name, None).unwrap();
    let sources = [Source::Archive {
        path: archive.into(),
        dest_dir: "/".into(),
        chown: None,
    }];
    let opts = LayerOptions {
        compression,
        clamp_mtime: None,
        progress: std::env::var_os("MINIBUILD_BENCH_PROGRESS").is_some(),
    };
    let start = std::time::Instant::now();
    let (desc, _file) = write_layer(&sources, || std::fs::File::create(&out), &opts).unwrap();
    eprintln!("{desc:?} in {:.2?}", start.elapsed());
}
