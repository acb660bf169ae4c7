//! The executor driven as a library, as another Rust program would.

use crate::common::handmade::{tiny_image, tiny_index};
use minibuild::dest::Layout;
use minibuild::executor::{build, BuildOptions};
use minibuild::oci::Platform;

/// A library caller building for another platform gets that platform's
/// base layers from an index, not the host's (the platform used to be
/// dropped on the way to the layout, archive and registry readers).
#[test]
fn the_platform_asked_for_reaches_the_base_image() {
    let dir = tempfile::tempdir().unwrap();
    let base = Layout::create(&dir.path().join("base")).unwrap();
    let host = tiny_image(&base, "host");
    let foreign = tiny_image(&base, "foreign");
    let index = tiny_index(&base, &[host.clone(), foreign.clone()]);
    base.tag(&index, &"multi".into()).unwrap();
    let foreign_layer = {
        let m: serde_json::Value = base.read_json(&foreign.digest).unwrap();
        m["layers"][0]["digest"]
            .as_str()
            .unwrap()
            .parse::<minibuild::digest::Digest>()
            .unwrap()
    };

    let ctx = dir.path().join("ctx");
    std::fs::create_dir_all(&ctx).unwrap();
    let src = format!("FROM oci:{}:multi\n", dir.path().join("base").display());
    let mut opts = BuildOptions::new(&ctx, 0);
    opts.platform = Platform {
        architecture: "riscv64".into(),
        os: "plan9".into(),
        variant: None,
    };
    let out = Layout::create(&dir.path().join("out")).unwrap();
    let built = build(&src, &opts, &out, None, &Default::default()).unwrap();
    assert_eq!(built.image.layers.len(), 1);
    assert_eq!(built.image.layers[0].digest, foreign_layer);
}
