//! The local store through the binary: `images`, `inspect`, `rm`, `prune`,
//! `save`, `push` (to a layout), blobs shared between tags, and every
//! archive the binary writes read by skopeo and loaded by podman.

use crate::common::{have, manifest_of, podman, stdout_ok, tags, validate, Work, PODMAN_RUN};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

const HELLO: &str = "Hello from a minibuild image!";

/// Every blob file's name in a layout.
fn blob_files(layout: &Path) -> BTreeSet<String> {
    std::fs::read_dir(layout.join("blobs/sha256"))
        .unwrap()
        .map(|e| format!("sha256:{}", e.unwrap().file_name().to_string_lossy()))
        .collect()
}

/// The digests an image's manifest reaches (itself, config, layers).
fn image_digests(layout: &Path, name: &str, manifest_digest: &str) -> BTreeSet<String> {
    let m = manifest_of(layout, name);
    let mut all = BTreeSet::from([manifest_digest.to_string()]);
    all.insert(m["config"]["digest"].as_str().unwrap().to_string());
    for l in m["layers"].as_array().unwrap() {
        all.insert(l["digest"].as_str().unwrap().to_string());
    }
    all
}

fn short(digest: &str) -> &str {
    &digest["sha256:".len().."sha256:".len() + 12]
}

#[test]
fn store_commands_images_inspect_rm_prune_save_push() {
    let w = Work::new();
    let store = w.path("store");
    let ctx = w.hello_context("one");
    let ctx_s = ctx.to_str().unwrap();
    let d1 = w
        .ok(&["build", "-q", "-t", "hello:1", ctx_s])
        .trim()
        .to_string();
    w.hello_context("two");
    // the default command is build; two tags for one image
    let d2 = w
        .ok(&["-q", "-t", "hello:2", "-t", "hello:two", ctx_s])
        .trim()
        .to_string();
    assert!(d1.starts_with("sha256:") && d2.starts_with("sha256:") && d1 != d2);
    assert_eq!(
        tags(&store),
        BTreeMap::from([
            ("hello:1".to_string(), d1.clone()),
            ("hello:2".to_string(), d2.clone()),
            ("hello:two".to_string(), d2.clone()),
        ])
    );
    validate(&store);

    // Blobs are shared: the hello layer is stored once for both images, and
    // the store holds exactly the blobs the tags reach.
    let m1 = manifest_of(&store, "hello:1");
    let m2 = manifest_of(&store, "hello:2");
    assert_eq!(m1["layers"][0], m2["layers"][0], "the hello layer differs");
    assert_ne!(m1["layers"][1], m2["layers"][1]);
    let reach1 = image_digests(&store, "hello:1", &d1);
    let reach2 = image_digests(&store, "hello:2", &d2);
    let union: BTreeSet<String> = reach1.union(&reach2).cloned().collect();
    assert_eq!(blob_files(&store), union);

    // images: a header and one aligned row per tag, sorted by name.
    let images = w.ok(&["images"]);
    let lines: Vec<&str> = images.lines().collect();
    assert_eq!(lines.len(), 4, "{images}");
    let cols: Vec<Vec<&str>> = lines
        .iter()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(
        cols[0],
        ["NAME", "DIGEST", "SIZE", "CREATED", "PLATFORMS"],
        "{images}"
    );
    let size_col = lines[0].find("SIZE").unwrap();
    for (row, (name, digest)) in
        cols[1..]
            .iter()
            .zip([("hello:1", &d1), ("hello:2", &d2), ("hello:two", &d2)])
    {
        assert_eq!(row.len(), 5, "{images}");
        assert_eq!(
            row[4],
            minibuild::oci::Platform::host().to_string(),
            "{images}"
        );
        assert_eq!(row[0], name, "{images}");
        assert_eq!(row[1], short(digest), "{images}");
        // the static hello is some hundred kB; the size counts every blob once
        assert!(row[2].ends_with("kB"), "{images}");
        assert!(
            row[3].len() == 20 && row[3].ends_with('Z') && row[3].as_bytes()[10] == b'T',
            "not an RFC 3339 time: {images}"
        );
    }
    // the columns line up under their headers
    let digest_col = lines[0].find("DIGEST").unwrap();
    for (l, row) in lines[1..].iter().zip(&cols[1..]) {
        assert_eq!(l.find(row[1]), Some(digest_col), "{images}");
        assert_eq!(l.find(row[2]), Some(size_col), "{images}");
    }

    // inspect: manifest, config, each layer with its size and diff_id, history.
    let text = w.ok(&["inspect", "hello:1"]);
    let config = crate::common::config_of(&store, "hello:1");
    assert!(text.contains(&format!("manifest {d1}")), "{text}");
    assert!(
        text.contains(m1["config"]["digest"].as_str().unwrap()),
        "{text}"
    );
    assert!(text.contains("platform linux/"), "{text}");
    assert!(text.contains(r#"Cmd        ["/hello"]"#), "{text}");
    assert!(text.contains("layers (2,"), "{text}");
    for (i, layer) in m1["layers"].as_array().unwrap().iter().enumerate() {
        let line = text
            .lines()
            .find(|l| l.trim_start().starts_with(&format!("{i}: ")))
            .unwrap_or_else(|| panic!("no layer {i} in {text}"));
        assert!(line.contains(layer["digest"].as_str().unwrap()), "{line}");
        let size = minibuild::dest::commands::human_size(layer["size"].as_u64().unwrap());
        assert!(line.contains(&size), "{line} lacks {size}");
        let diff_id = config["rootfs"]["diff_ids"][i].as_str().unwrap();
        assert!(text.contains(&format!("diff_id {diff_id}")), "{text}");
    }
    for step in ["COPY hello /hello", "COPY msg /msg", r#"CMD ["/hello"]"#] {
        assert!(text.contains(step), "history lacks {step}: {text}");
    }
    let missing = w.run(&["inspect", "nope:1"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        crate::common::stderr(&missing).contains("no image named \"nope:1\""),
        "{}",
        crate::common::stderr(&missing)
    );

    // save: to a layout, and to both archives (read back below).
    let saved = w.path("saved");
    let said = w.ok(&["save", "hello:1", &format!("oci:{}", saved.display())]);
    assert!(said.contains("hello:1 → oci:"), "{said}");
    assert_eq!(
        tags(&saved),
        BTreeMap::from([("hello:1".into(), d1.clone())])
    );
    validate(&saved);
    assert_eq!(blob_files(&saved), reach1);

    // push works for any destination; REF in the destination renames.
    let pushed = w.path("pushed");
    w.ok(&[
        "push",
        "hello:two",
        &format!("oci:{}:renamed:v2", pushed.display()),
    ]);
    assert_eq!(
        tags(&pushed),
        BTreeMap::from([("renamed:v2".into(), d2.clone())])
    );
    validate(&pushed);

    // rm removes one name; the image stays while another name reaches it.
    assert_eq!(w.ok(&["rm", "hello:2"]).trim(), "untagged hello:2");
    assert!(!tags(&store).contains_key("hello:2"));
    let again = w.run(&["rm", "hello:2"]);
    assert_eq!(again.status.code(), Some(1));
    assert!(crate::common::stderr(&again).contains("no image named"));
    assert_eq!(w.ok(&["prune"]).trim(), "removed 0 blobs, 0B freed");
    assert_eq!(blob_files(&store), union);

    // Once no name reaches image 2, prune removes exactly its own blobs.
    w.ok(&["rm", "hello:two"]);
    let own: BTreeSet<String> = reach2.difference(&reach1).cloned().collect();
    assert_eq!(own.len(), 3, "manifest, config and the msg layer");
    let freed: u64 = own
        .iter()
        .map(|d| {
            std::fs::metadata(store.join("blobs/sha256").join(&d[7..]))
                .unwrap()
                .len()
        })
        .sum();
    // (--cache: the build cache would keep the layer)
    let pruned = w.ok(&["prune", "--cache"]);
    assert_eq!(
        pruned.trim(),
        format!(
            "removed 3 blobs, {} freed",
            minibuild::dest::commands::human_size(freed)
        )
    );
    assert_eq!(blob_files(&store), reach1);
    assert_eq!(
        tags(&store),
        BTreeMap::from([("hello:1".into(), d1.clone())])
    );
    validate(&store);

    if have("podman") {
        let out = crate::common::podman_run(w.dir.path(), &store, "hello:1", &[]);
        assert_eq!(out.trim(), HELLO);
    }
}

/// The `Loaded image:` names podman reports for an archive.
fn podman_load(work: &Path, archive: &Path) -> String {
    let out = stdout_ok(podman(work).arg("load").arg("-i").arg(archive));
    out.lines()
        .filter_map(|l| l.strip_prefix("Loaded image: "))
        .collect::<Vec<_>>()
        .join(",")
}

fn skopeo_inspect(transport: &str, file: &Path) -> Value {
    let text = stdout_ok(
        Command::new("skopeo")
            .arg("inspect")
            .arg(format!("{transport}:{}", file.display())),
    );
    serde_json::from_str(&text).unwrap()
}

/// The content of the file `name` in a tar.
fn tar_file(file: &Path, name: &str) -> Vec<u8> {
    let mut ar = tar::Archive::new(std::fs::File::open(file).unwrap());
    for e in ar.entries().unwrap() {
        let mut e = e.unwrap();
        if e.path().unwrap().to_string_lossy() == name {
            let mut out = Vec::new();
            std::io::Read::read_to_end(&mut e, &mut out).unwrap();
            return out;
        }
    }
    panic!("no {name} in {}", file.display());
}

/// The file names in a tar.
fn tar_names(file: &Path) -> BTreeSet<String> {
    let mut ar = tar::Archive::new(std::fs::File::open(file).unwrap());
    ar.entries()
        .unwrap()
        .map(|e| e.unwrap().path().unwrap().to_string_lossy().into_owned())
        .collect()
}

#[test]
fn every_archive_is_read_by_skopeo_and_loaded_by_podman() {
    if !have("skopeo") || !have("podman") {
        return;
    }
    let w = Work::new();
    let ctx = w.hello_context("archives");
    let oci_a = w.path("a.oci.tar");
    let docker_a = w.path("a.docker.tar");
    let tagged = w.path("tagged.oci.tar");
    let layout = w.path("layout");
    // Several destinations in one build; REF overrides -t.
    let digest = w
        .ok(&[
            "build",
            "-q",
            "-t",
            "hello:arch",
            "-o",
            &format!("oci-archive:{}:quay.io/demo/hello:oa", oci_a.display()),
            "-o",
            &format!("docker-archive:{}:hello:da", docker_a.display()),
            "-o",
            &format!("oci-archive:{}", tagged.display()),
            "-o",
            &format!("oci:{}", layout.display()),
            ctx.to_str().unwrap(),
        ])
        .trim()
        .to_string();
    assert_eq!(
        tags(&layout),
        BTreeMap::from([("hello:arch".into(), digest.clone())])
    );
    validate(&layout);

    // Archives get the usual file mode (0666 less the umask), not 0600.
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&oci_a), mode(&w.path("ctx/msg")), "archive mode");

    // An OCI archive carries the layout and a Docker manifest.json.
    let names = tar_names(&oci_a);
    for n in ["oci-layout", "index.json", "manifest.json"] {
        assert!(names.contains(n), "{n} missing: {names:?}");
    }
    // manifest.json is what docker load reads: the config, the layers in
    // order and the name, each a path inside the archive.
    let docker_manifest = tar_file(&oci_a, "manifest.json");
    let dm: Value = serde_json::from_slice(&docker_manifest).unwrap();
    let entry = &dm.as_array().unwrap()[0];
    assert_eq!(
        entry["RepoTags"],
        serde_json::json!(["quay.io/demo/hello:oa"])
    );
    let paths: Vec<&str> = std::iter::once(&entry["Config"])
        .chain(entry["Layers"].as_array().unwrap())
        .map(|p| p.as_str().unwrap())
        .collect();
    assert_eq!(paths.len(), 3, "{dm}");
    for p in &paths {
        assert!(names.contains(*p), "{p} is not in the archive: {names:?}");
    }
    let v = skopeo_inspect("oci-archive", &oci_a);
    assert_eq!(v["Digest"], digest.as_str(), "{v}");
    assert_eq!(v["Layers"].as_array().unwrap().len(), 2, "{v}");
    let v = skopeo_inspect("docker-archive", &docker_a);
    assert_eq!(v["Layers"].as_array().unwrap().len(), 2, "{v}");
    assert_eq!(
        v["Architecture"],
        Value::from(minibuild::oci::Platform::host().architecture)
    );
    let v = skopeo_inspect("oci-archive", &tagged);
    assert_eq!(v["Digest"], digest.as_str(), "{v}");

    let root = w.dir.path();
    assert_eq!(podman_load(root, &oci_a), "quay.io/demo/hello:oa");
    assert_eq!(podman_load(root, &docker_a), "docker.io/library/hello:da");
    assert_eq!(podman_load(root, &tagged), "docker.io/library/hello:arch");
    for name in ["quay.io/demo/hello:oa", "hello:da", "hello:arch"] {
        let out = stdout_ok(podman(root).args(PODMAN_RUN).arg(name));
        assert_eq!(out.trim(), HELLO, "{name}");
    }

    // save writes the same archives from the store.
    w.ok(&["-q", "-t", "stored:1", ctx.to_str().unwrap()]);
    let saved_oci = w.path("saved.oci.tar");
    let saved_docker = w.path("saved.docker.tar");
    w.ok(&[
        "save",
        "stored:1",
        &format!("oci-archive:{}", saved_oci.display()),
    ]);
    w.ok(&[
        "save",
        "stored:1",
        &format!("docker-archive:{}", saved_docker.display()),
    ]);
    assert_eq!(
        skopeo_inspect("oci-archive", &saved_oci)["Layers"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        skopeo_inspect("docker-archive", &saved_docker)["Layers"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let root2 = w.path("p2");
    assert_eq!(
        podman_load(&root2, &saved_oci),
        "docker.io/library/stored:1"
    );
    assert_eq!(
        podman_load(&root2, &saved_docker),
        "docker.io/library/stored:1"
    );
    let out = stdout_ok(podman(&root2).args(PODMAN_RUN).arg("stored:1"));
    assert_eq!(out.trim(), HELLO);
}

#[test]
fn two_tags_in_one_layout_both_run() {
    if !have("podman") {
        return;
    }
    let w = Work::new();
    let layout = w.path("two");
    let mut digests = BTreeMap::new();
    for name in ["one", "two"] {
        let ctx = w.hello_context(name);
        let d = w.ok(&[
            "build",
            "-q",
            "-o",
            &format!("oci:{}:{name}", layout.display()),
            ctx.to_str().unwrap(),
        ]);
        digests.insert(name.to_string(), d.trim().to_string());
    }
    assert_ne!(digests["one"], digests["two"]);
    assert_eq!(tags(&layout), digests);
    validate(&layout);
    for name in ["one", "two"] {
        let out = crate::common::podman_run(w.dir.path(), &layout, name, &[]);
        assert_eq!(out.trim(), HELLO, "{name}");
    }
    // and podman saw two different images
    let ids = stdout_ok(podman(w.dir.path()).args(["images", "-q", "--no-trunc"]));
    let ids: BTreeSet<&str> = ids.lines().collect();
    assert_eq!(ids.len(), 2, "{ids:?}");
}
