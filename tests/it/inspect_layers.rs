//! `inspect --layers`: which step made which layer, what each layer's
//! entries do (added, modified, removed), wasted bytes and efficiency.

use crate::common::inspect::{layered_image, layers_json, Item};
use crate::common::{static_hello, Work};
use serde_json::Value;

/// The multi-layer example of the README: four COPYs, the last replacing
/// the file the third wrote.
pub fn multi_layer(w: &Work) -> std::path::PathBuf {
    let ctx = w.ctx();
    static_hello(&ctx);
    w.file("README.md", "# a readme\n");
    w.file("a/final.txt", "first final\n");
    w.file("b/final.txt", "the second, longer final\n");
    w.dockerfile(
        "FROM scratch\nCOPY hello /\nCOPY README.md /\nCOPY a/final.txt /\nCOPY b/final.txt /\nCMD [\"/hello\"]\n",
    );
    w.build_oci("multi:1", &[])
}

fn entry<'a>(layer: &'a Value, path: &str) -> &'a Value {
    layer["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["path"] == path)
        .unwrap_or_else(|| panic!("no {path} in {layer}"))
}

#[test]
fn four_copies_the_last_modifying_the_third() {
    let w = Work::new();
    let out = multi_layer(&w);
    let source = format!("oci:{}:multi:1", out.display());
    let r = layers_json(&w.path("store"), &source);
    let layers = r["layers"].as_array().unwrap();
    assert_eq!(layers.len(), 4, "{r}");
    // each layer tied to its line
    for (layer, step) in layers.iter().zip([
        "COPY hello /",
        "COPY README.md /",
        "COPY a/final.txt /",
        "COPY b/final.txt /",
    ]) {
        let made_by = layer["created_by"].as_str().unwrap();
        assert!(made_by.starts_with(step), "{made_by} is not {step}");
    }
    assert_eq!(entry(&layers[0], "/hello")["change"], "added");
    let third = entry(&layers[2], "/final.txt");
    assert_eq!(third["change"], "added");
    assert_eq!(third["hidden_by"], 3);
    let fourth = entry(&layers[3], "/final.txt");
    assert_eq!(fourth["change"], "modified", "{fourth}");
    assert_eq!(fourth["replaces"], 2, "{fourth}");
    assert_eq!(
        (layers[3]["added"].clone(), layers[3]["modified"].clone()),
        (0.into(), 1.into())
    );
    let hidden = "first final\n".len() as u64;
    assert_eq!(r["totals"]["wasted_bytes"], hidden, "{}", r["totals"]);
    assert_eq!(layers[2]["wasted_bytes"], hidden);
    let ineff = &r["totals"]["inefficiencies"][0];
    assert_eq!(ineff["path"], "/final.txt");
    assert_eq!(ineff["count"], 2);
    let eff = r["totals"]["efficiency"].as_f64().unwrap();
    assert!(eff < 1.0 && eff > 0.99, "{eff}");

    // the same in text, drawn as a tree and flat, and limited by --path
    let text = w.ok(&["inspect", "--layers", &source]);
    assert!(text.contains("layer 3: COPY b/final.txt /"), "{text}");
    assert!(text.contains("└── final.txt  ~ "), "{text}");
    assert!(text.contains("(modified: replaces layer 2's)"), "{text}");
    assert!(text.contains(&format!("wasted {hidden}B")), "{text}");
    let flat = w.ok(&["layers", "--flat", "--path", "/final*", &source]);
    assert!(
        flat.contains("0 of 1 entries match --path /final*"),
        "{flat}"
    );
    assert!(
        flat.contains(" /final.txt  (modified: replaces layer 2's)"),
        "{flat}"
    );
    assert!(!flat.contains("/hello"), "{flat}");

    // the chain, in JSON: each history entry with the layer it made
    let o = w.ok(&["inspect", "--format", "json", &source]);
    let s: Value = serde_json::from_str(&o).unwrap();
    assert_eq!(s["layers"][3]["created_by"], layers[3]["created_by"]);
    assert_eq!(s["history"][3]["layer"], 3);
    assert_eq!(s["history"][4]["layer"], Value::Null);
    assert_eq!(s["history"][4]["empty_layer"], true);
    assert_eq!(s["runtime"]["Cmd"][0], "/hello");
}

#[test]
fn whiteouts_and_opaque_directories_are_removals() {
    let w = Work::new();
    let dir = w.path("wh");
    layered_image(
        &dir,
        "wh:1",
        &[
            (
                "ADD base.tar /",
                vec![
                    Item::Dir("a/"),
                    Item::File("a/x", b"0123456789"),
                    Item::File("a/y", b"yyy"),
                    Item::Dir("d/"),
                    Item::File("d/p", b"ppppp"),
                    Item::File("f", b"fffffff"),
                    Item::Symlink("l", "f"),
                ],
            ),
            (
                "RUN rm -rf /a/x /f && rm -rf /d/*",
                vec![
                    Item::File("a/.wh.x", b""),
                    Item::Dir("d/"),
                    Item::File("d/.wh..wh..opq", b""),
                    Item::File(".wh.f", b""),
                    Item::File("d/new", b"n"),
                ],
            ),
        ],
    );
    let r = layers_json(&w.path("store"), &format!("oci:{}", dir.display()));
    let top = &r["layers"][1];
    let x = entry(top, "/a/.wh.x");
    assert_eq!(
        (x["change"].as_str(), x["removes"].as_str()),
        (Some("removed"), Some("/a/x"))
    );
    assert_eq!(x["removed_entries"], 1);
    let opq = entry(top, "/d/.wh..wh..opq");
    assert_eq!(opq["change"], "removed");
    assert_eq!(opq["opaque"], true);
    assert_eq!(opq["removes"], "/d");
    assert_eq!(opq["removed_entries"], 1, "d/p, not d itself: {opq}");
    assert_eq!(entry(top, "/.wh.f")["removes"], "/f");
    assert_eq!(entry(top, "/d")["change"], "modified");
    assert_eq!(entry(top, "/d/new")["change"], "added");
    assert_eq!(top["removed"], 3);
    let base = &r["layers"][0];
    for hidden in ["/a/x", "/d/p", "/f"] {
        assert_eq!(entry(base, hidden)["hidden_by"], 1, "{hidden}");
    }
    assert_eq!(entry(base, "/a/y")["hidden_by"], Value::Null);
    assert_eq!(entry(base, "/l")["link"], "f");
    assert_eq!(r["totals"]["wasted_bytes"], 10 + 5 + 7);
    // dive's score: a/x and f count their bytes once and then 0 (removed
    // files), d/p and a/y and d/new once; the opaque marker nothing.
    let eff = r["totals"]["efficiency"].as_f64().unwrap();
    let expected = (3 + 5 + 1) as f64 / (10 + 3 + 5 + 7 + 1) as f64;
    assert!((eff - expected).abs() < 1e-9, "{eff} != {expected}");

    let text = w.ok(&["inspect", "--layers", &format!("oci:{}", dir.display())]);
    assert!(
        text.contains("(whiteout: removes /a/x, 1 entries)"),
        "{text}"
    );
    assert!(
        text.contains("(opaque: empties /d of lower layers' entries, 1 entries)"),
        "{text}"
    );
}

#[test]
fn an_index_with_several_platforms_lists_them_and_platform_picks() {
    let w = Work::new();
    let dir = w.path("multi");
    let (host, other, _) = crate::common::inspect::two_platforms(&dir);
    let source = format!("oci:{}:multi:1", dir.display());
    let text = w.ok(&["inspect", &source]);
    assert!(text.contains("lists 2 images"), "{text}");
    assert!(text.contains("plan9/riscv64"), "{text}");
    assert!(
        text.contains(&format!("manifest {}", host.digest)),
        "{text}"
    );
    let o = w.ok(&[
        "inspect",
        "--format",
        "json",
        "--platform",
        "plan9/riscv64",
        &source,
    ]);
    let s: Value = serde_json::from_str(&o).unwrap();
    assert_eq!(s["manifest"]["digest"], other.digest.to_string());
    assert_eq!(s["index"]["manifests"].as_array().unwrap().len(), 2);
    let bad = w.run(&["inspect", "--platform", "linux/s390x", &source]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(
        crate::common::stderr(&bad).contains("no image for linux/s390x"),
        "{}",
        crate::common::stderr(&bad)
    );
}
