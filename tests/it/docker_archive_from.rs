//! `FROM docker-archive:FILE[:REF]`: a `docker save` archive (minibuild's,
//! podman's) is read as a base, through the same reader `inspect` uses.

use crate::common::{config_of, merged_fs, validate, Work};

#[test]
fn a_docker_archive_is_a_base() {
    let w = Work::new();
    let base = crate::inspect_layers::multi_layer(&w);
    let file = crate::common::inspect::save_from(&w, &base, "multi:1", "docker-archive");
    w.file("extra.txt", "on top\n");
    w.dockerfile(&format!(
        "FROM docker-archive:{}:multi:1\nCOPY extra.txt /\n",
        file.display()
    ));
    let out_dir = w.path("out2");
    let dest = format!("oci:{}:top:1", out_dir.display());
    w.ok(&["build", "-o", &dest, &w.ctx().display().to_string()]);
    validate(&out_dir);
    let base_ids = config_of(&base, "multi:1")["rootfs"]["diff_ids"].clone();
    let ids = config_of(&out_dir, "top:1")["rootfs"]["diff_ids"].clone();
    assert_eq!(ids.as_array().unwrap().len(), 5, "{ids}");
    assert_eq!(
        ids.as_array().unwrap()[..4],
        base_ids.as_array().unwrap()[..]
    );
    let fs = merged_fs(&out_dir, "top:1");
    assert_eq!(
        fs["final.txt"].size,
        "the second, longer final\n".len() as u64
    );
    assert!(fs.contains_key("extra.txt") && fs.contains_key("hello"));

    // a name the archive does not have is refused, naming it
    w.dockerfile(&format!(
        "FROM docker-archive:{}:other:2\nCOPY extra.txt /\n",
        file.display()
    ));
    let o = w.run(&["build", "-o", &dest, &w.ctx().display().to_string()]);
    assert_eq!(o.status.code(), Some(1));
    let err = crate::common::stderr(&o);
    assert!(err.contains("no image named \"other:2\""), "{err}");
}
