//! `--sbom` and `--provenance`: the documents (checked against what the
//! test itself put in the image, and with the SPDX tools), reproducible
//! with SOURCE_DATE_EPOCH, attached as OCI 1.1 artifacts in layouts and at
//! a registry without a referrers API (the fallback tag), kept by `prune`
//! while their image is.

use crate::common::ci::{fake_debian_rootfs, go_binary, installed_packages, DPKG_STATUS};
use crate::common::{blob, have, minibuild, read_json, run_ok, stderr, Registry, Work};
use serde_json::Value;
use std::path::Path;
use std::process::Command;

const EPOCH: &str = "1700000000";

/// Builds with SOURCE_DATE_EPOCH set; stdout.
fn build(w: &Work, args: &[&str]) -> String {
    let o = minibuild()
        .args(args)
        .env("SOURCE_DATE_EPOCH", EPOCH)
        .env("MINIBUILD_STORE", w.path("store"))
        .current_dir(w.dir.path())
        .output()
        .unwrap();
    assert!(o.status.success(), "minibuild {args:?}: {}", stderr(&o));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// A fake Debian base in the store as `fakedeb:12`, and a context that
/// copies a file (and, `with_go`, a Go binary when go is here) onto it.
fn debian_context(w: &Work, with_go: bool) -> (String, bool) {
    let base = w.path("base");
    std::fs::create_dir_all(&base).unwrap();
    fake_debian_rootfs(&base.join("rootfs.tar"));
    std::fs::write(base.join("Dockerfile"), "FROM scratch\nADD rootfs.tar /\n").unwrap();
    build(w, &["build", "-t", "fakedeb:12", base.to_str().unwrap()]);
    w.file("app.conf", "answer = 42\n");
    let go = with_go.then(|| go_binary(w.dir.path())).flatten();
    let mut df = "FROM fakedeb:12\nCOPY app.conf /etc/app.conf\n".to_string();
    if let Some(bin) = &go {
        std::fs::copy(bin, w.ctx().join("sbomdemo")).unwrap();
        df.push_str("COPY sbomdemo /usr/local/bin/sbomdemo\n");
    }
    w.dockerfile(&df);
    (w.ctx().display().to_string(), go.is_some())
}

fn purls(doc: &Value) -> Vec<String> {
    doc["packages"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["externalRefs"].as_array().cloned().unwrap_or_default())
        .map(|r| r["referenceLocator"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn the_spdx_sbom_lists_the_packages_files_go_modules_and_base() {
    let w = Work::new();
    let (ctx, with_go) = debian_context(&w, true);
    let digest = build(
        &w,
        &["build", "--sbom", "--sbom-dir", "sbom", "-t", "app:1", &ctx],
    );
    let file = w.path("sbom/sbom.spdx.json");
    let doc = read_json(&file);
    assert_eq!(doc["spdxVersion"], "SPDX-2.3");
    assert_eq!(doc["creationInfo"]["created"], "2023-11-14T22:13:20Z");
    let packages = doc["packages"].as_array().unwrap();
    // every installed package of the status file, by name and version
    let mut debs: Vec<(String, String)> = packages
        .iter()
        .filter(|p| {
            p["SPDXID"]
                .as_str()
                .unwrap()
                .starts_with("SPDXRef-Package-deb")
        })
        .map(|p| {
            (
                p["name"].as_str().unwrap().to_string(),
                p["versionInfo"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    debs.sort();
    assert_eq!(debs, installed_packages(DPKG_STATUS));
    let purls = purls(&doc);
    assert!(
        purls.contains(
            &"pkg:deb/debian/libc6@2.36-9%2Bdeb12u4?arch=amd64&upstream=glibc".to_string()
        ),
        "{purls:?}"
    );
    // the base by digest; the files minibuild wrote, not the base's
    let base = packages.iter().find(|p| p["name"] == "fakedeb:12").unwrap();
    let base_digest = crate::common::tags(&w.path("store"))["fakedeb:12"].clone();
    assert_eq!(base["versionInfo"], base_digest.as_str());
    let files: Vec<&str> = doc["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["fileName"].as_str().unwrap())
        .collect();
    assert!(files.contains(&"./etc/app.conf"), "{files:?}");
    assert!(!files.contains(&"./var/lib/dpkg/status"), "{files:?}");
    let conf = doc["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["fileName"] == "./etc/app.conf")
        .unwrap();
    let want = format!("{:x}", sha2_of(b"answer = 42\n"));
    assert!(conf["checksums"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["algorithm"] == "SHA256" && c["checksumValue"] == want.as_str()));
    if with_go {
        assert!(
            purls
                .iter()
                .any(|p| p.starts_with("pkg:golang/example.org/sbomdemo@")),
            "{purls:?}"
        );
    }
    assert_eq!(doc["packages"][0]["versionInfo"], digest.trim());
    if have("pyspdxtools") {
        run_ok(Command::new("pyspdxtools").arg("-i").arg(&file));
    }
}

fn sha2_of(bytes: &[u8]) -> impl std::fmt::LowerHex {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
}

/// Checks `file` against the CycloneDX 1.5 JSON schema, with the validator
/// cyclonedx-python-lib bundles (`pip install
/// 'cyclonedx-python-lib[json-validation]'`; in CI it must be there).
fn validate_cyclonedx(file: &Path) {
    const CHECK: &str = r#"import sys
from cyclonedx.validation.json import JsonStrictValidator
from cyclonedx.schema import SchemaVersion
text = open(sys.argv[1]).read()
errors = JsonStrictValidator(SchemaVersion.V1_5).validate_str(text, all_errors=True)
if errors is not None:
    errors = [errors] if isinstance(errors, Exception) else list(errors)
if errors:
    print("\n".join(str(e) for e in errors))
    sys.exit(1)
"#;
    let present = Command::new("python3")
        .args(["-c", "import cyclonedx.validation.json, jsonschema"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !present {
        assert!(
            !crate::common::in_ci(),
            "cyclonedx-python-lib[json-validation] is required in CI but is not installed"
        );
        eprintln!("skipping the CycloneDX schema check: pip install 'cyclonedx-python-lib[json-validation]'");
        return;
    }
    let o = Command::new("python3")
        .args(["-c", CHECK])
        .arg(file)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "{} is not valid CycloneDX 1.5:\n{}{}",
        file.display(),
        String::from_utf8_lossy(&o.stdout),
        stderr(&o)
    );
}

#[test]
fn cyclonedx_lists_the_same_packages() {
    let w = Work::new();
    // with a Go binary (when go is here): its modules are components too
    let (ctx, with_go) = debian_context(&w, true);
    build(
        &w,
        &["build", "--sbom=cyclonedx", "--sbom-dir", "sbom", &ctx],
    );
    let doc = read_json(&w.path("sbom/sbom.cdx.json"));
    let purls: Vec<&str> = doc["components"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["purl"].as_str())
        .collect();
    assert_eq!(
        purls.iter().any(|p| p.starts_with("pkg:golang/")),
        with_go,
        "{purls:?}"
    );
    assert_eq!(doc["bomFormat"], "CycloneDX");
    assert_eq!(doc["specVersion"], "1.5");
    let serial = doc["serialNumber"].as_str().unwrap();
    assert_eq!(serial.len(), "urn:uuid:".len() + 36, "{serial}");
    let mut libs: Vec<(String, String)> = doc["components"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| {
            c["purl"]
                .as_str()
                .is_some_and(|p| p.starts_with("pkg:deb/"))
        })
        .map(|c| {
            (
                c["name"].as_str().unwrap().into(),
                c["version"].as_str().unwrap().into(),
            )
        })
        .collect();
    libs.sort();
    assert_eq!(libs, installed_packages(DPKG_STATUS));
    validate_cyclonedx(&w.path("sbom/sbom.cdx.json"));
    let o = w.run(&["build", "--sbom=xml", &ctx]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("unknown SBOM format"), "{}", stderr(&o));
}

#[test]
fn two_builds_give_byte_identical_attestations() {
    let w = Work::new();
    let (ctx, _) = debian_context(&w, false);
    for dir in ["one", "two"] {
        let sbom = format!("{dir}/sbom");
        let prov = format!("{dir}/prov");
        build(
            &w,
            &[
                "build",
                "--sbom-dir",
                &sbom,
                "--provenance=mode=max",
                "--provenance-dir",
                &prov,
                "-t",
                "app:1",
                &ctx,
            ],
        );
    }
    for f in ["sbom/sbom.spdx.json", "prov/provenance.intoto.json"] {
        let a = std::fs::read(w.path(&format!("one/{f}"))).unwrap();
        let b = std::fs::read(w.path(&format!("two/{f}"))).unwrap();
        assert!(a == b, "{f} differs between two builds");
    }
    let st = read_json(&w.path("one/prov/provenance.intoto.json"));
    assert_eq!(st["_type"], "https://in-toto.io/Statement/v1");
    assert_eq!(st["predicateType"], "https://slsa.dev/provenance/v1");
    let deps = st["predicate"]["buildDefinition"]["resolvedDependencies"]
        .as_array()
        .unwrap();
    let base_digest = crate::common::tags(&w.path("store"))["fakedeb:12"].clone();
    assert!(
        deps.iter().any(|d| d["uri"] == "docker-image://fakedeb:12"
            && format!("sha256:{}", d["digest"]["sha256"].as_str().unwrap()) == base_digest),
        "{deps:?}"
    );
    assert!(
        deps.iter().any(|d| d["uri"] == "context:app.conf"),
        "{deps:?}"
    );
    assert_eq!(
        st["predicate"]["runDetails"]["builder"]["version"]["minibuild"],
        env!("CARGO_PKG_VERSION")
    );
}

/// The artifact entries of a layout's index.json, by artifactType.
fn artifacts(layout: &Path) -> Vec<Value> {
    let index = read_json(&layout.join("index.json"));
    index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d.get("artifactType").is_some())
        .cloned()
        .collect()
}

#[test]
fn artifacts_name_the_image_as_subject_and_leave_it_unchanged() {
    let w = Work::new();
    w.file("a.txt", "a\n");
    w.dockerfile("FROM scratch\nCOPY a.txt /\n");
    let ctx = w.ctx().display().to_string();
    let plain = build(&w, &["build", "-o", "oci:plain:x", &ctx]);
    let attested = build(
        &w,
        &["build", "--sbom", "--provenance", "-o", "oci:out:x", &ctx],
    );
    assert_eq!(plain, attested, "attaching changed the image");
    let out = w.path("out");
    let found = artifacts(&out);
    let types: Vec<&str> = found
        .iter()
        .map(|a| a["artifactType"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        ["application/spdx+json", "application/vnd.in-toto+json"]
    );
    for a in &found {
        let m: Value = serde_json::from_slice(&blob(&out, a["digest"].as_str().unwrap())).unwrap();
        assert_eq!(m["subject"]["digest"], attested.trim());
        assert_eq!(m["artifactType"], a["artifactType"]);
        assert_eq!(
            m["config"]["mediaType"],
            "application/vnd.oci.empty.v1+json"
        );
    }
    let shown = String::from_utf8_lossy(&w.run(&["inspect", "oci:out:x"]).stdout).into_owned();
    assert!(
        shown.contains("referrers (artifacts about this image"),
        "{shown}"
    );
    assert!(shown.contains("application/spdx+json"), "{shown}");
    // an oci-archive carries them too
    build(&w, &["build", "--sbom", "-o", "oci-archive:img.tar", &ctx]);
    let mut tar = tar::Archive::new(std::fs::File::open(w.path("img.tar")).unwrap());
    let index: Value = tar
        .entries()
        .unwrap()
        .map(|e| e.unwrap())
        .find(|e| e.path().unwrap().to_str() == Some("index.json"))
        .map(|e| serde_json::from_reader(e).unwrap())
        .unwrap();
    assert!(
        index["manifests"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["artifactType"] == "application/spdx+json"),
        "{index}"
    );
}

#[test]
fn prune_keeps_artifacts_while_their_image_is_kept() {
    let w = Work::new();
    w.file("a.txt", "a\n");
    w.dockerfile("FROM scratch\nCOPY a.txt /\n");
    let ctx = w.ctx().display().to_string();
    build(&w, &["build", "--sbom", "-t", "keep:1", &ctx]);
    let store = w.path("store");
    let sbom = artifacts(&store);
    assert_eq!(sbom.len(), 1);
    let sbom_digest = sbom[0]["digest"].as_str().unwrap().to_string();
    let listed = w.ok(&["images"]);
    assert!(
        !listed.contains("<none>"),
        "images lists the SBOM:\n{listed}"
    );
    w.ok(&["prune"]);
    assert_eq!(artifacts(&store).len(), 1);
    assert!(!blob(&store, &sbom_digest).is_empty());
    w.ok(&["rm", "keep:1"]);
    w.ok(&["prune"]);
    assert!(artifacts(&store).is_empty());
    let hex = sbom_digest.trim_start_matches("sha256:");
    assert!(!store.join("blobs/sha256").join(hex).exists());
}

#[test]
fn a_registry_without_referrers_api_gets_the_fallback_tag() {
    if !have("docker-registry") || !have("skopeo") {
        return;
    }
    let reg = Registry::start();
    let w = Work::new();
    w.file("a.txt", "a\n");
    w.dockerfile("FROM scratch\nCOPY a.txt /\n");
    let ctx = w.ctx().display().to_string();
    let dest = format!("docker://{}/ci/attested:1", reg.host());
    let plain = build(&w, &["build", "-o", "oci:plain:x", &ctx]);
    let out = build(
        &w,
        &[
            "build",
            "--sbom",
            "--provenance",
            "--iidfile",
            "iid",
            "-o",
            &dest,
            &ctx,
        ],
    );
    assert_eq!(plain.trim(), out.trim());
    let digest = std::fs::read_to_string(w.path("iid")).unwrap();
    let inspect = |reference: &str| -> Value {
        let o = run_ok(Command::new("skopeo").args([
            "inspect",
            "--raw",
            "--tls-verify=false",
            reference,
        ]));
        serde_json::from_slice(&o.stdout).unwrap()
    };
    // the image is what was built, unchanged
    let image = run_ok(Command::new("skopeo").args(["inspect", "--tls-verify=false", &dest]));
    let image: Value = serde_json::from_slice(&image.stdout).unwrap();
    assert_eq!(image["Digest"], digest.as_str());
    let tag = format!(
        "docker://{}/ci/attested:sha256-{}",
        reg.host(),
        digest.trim_start_matches("sha256:")
    );
    let index = inspect(&tag);
    assert_eq!(
        index["mediaType"],
        "application/vnd.oci.image.index.v1+json"
    );
    let listed = index["manifests"].as_array().unwrap();
    let types: Vec<&str> = listed
        .iter()
        .map(|d| d["artifactType"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        ["application/spdx+json", "application/vnd.in-toto+json"]
    );
    for d in listed {
        let by_digest = format!(
            "docker://{}/ci/attested@{}",
            reg.host(),
            d["digest"].as_str().unwrap()
        );
        let m = inspect(&by_digest);
        assert_eq!(m["subject"]["digest"], digest.as_str());
    }
    // a second push keeps one entry per artifact
    build(&w, &["build", "--sbom", "--provenance", "-o", &dest, &ctx]);
    assert_eq!(inspect(&tag)["manifests"].as_array().unwrap().len(), 2);
}

/// `mode=max` lists the context the build could read: what `.dockerignore`
/// (or `<dockerfile>.dockerignore`) excludes is neither hashed nor listed;
/// an exception brings a file back.
#[test]
fn provenance_max_lists_only_what_dockerignore_lets_in() {
    let w = Work::new();
    w.file("app.conf", "answer = 42\n");
    w.file("secret.key", "do not list me\n");
    w.file("logs/a.log", "noise\n");
    w.file("logs/keep.log", "kept\n");
    w.file(".dockerignore", "secret.key\nlogs\n!logs/keep.log\n");
    w.dockerfile("FROM scratch\nCOPY app.conf /\n");
    let ctx = w.ctx().display().to_string();
    build(
        &w,
        &[
            "build",
            "--provenance=mode=max",
            "--provenance-dir",
            "prov",
            &ctx,
        ],
    );
    let st = read_json(&w.path("prov/provenance.intoto.json"));
    let listed: Vec<String> = st["predicate"]["buildDefinition"]["resolvedDependencies"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|d| {
            d["uri"]
                .as_str()?
                .strip_prefix("context:")
                .map(String::from)
        })
        .collect();
    assert_eq!(
        listed,
        [".dockerignore", "Dockerfile", "app.conf", "logs/keep.log"],
        "{st}"
    );
}

/// A multi-platform build's SBOMs: each platform's lists the base image
/// that platform's build read (its manifest of the base's index), not
/// every platform's.
#[test]
fn each_platforms_sbom_lists_its_own_base_only() {
    let w = Work::new();
    w.file("amd64", "amd64 bits");
    w.file("arm64", "arm64 bits");
    w.dockerfile("FROM scratch\nARG TARGETARCH\nCOPY ${TARGETARCH} /arch\n");
    let ctx = w.ctx().display().to_string();
    let base = w.path("base");
    let base_dest = format!("oci:{}:arch:multi", base.display());
    let both = "linux/amd64,linux/arm64";
    build(&w, &["build", "--platform", both, "-o", &base_dest, &ctx]);
    w.file("app.conf", "answer = 42\n");
    w.dockerfile(&format!("FROM {base_dest}\nCOPY app.conf /\n"));
    build(
        &w,
        &[
            "build",
            "--platform",
            both,
            "--sbom-dir",
            "sbom",
            "-t",
            "app:1",
            &ctx,
        ],
    );
    for platform in ["linux/amd64", "linux/arm64"] {
        use crate::common::platform::{index_of, platform_of};
        let index = index_of(&base, "arch:multi");
        let entries = index["manifests"].as_array().unwrap();
        let entry = entries.iter().find(|e| platform_of(e) == platform).unwrap();
        let own = entry["digest"].as_str().unwrap().to_string();
        let file = format!("sbom/{}.sbom.spdx.json", platform.replace('/', "-"));
        let doc = read_json(&w.path(&file));
        let bases: Vec<&str> = doc["packages"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["SPDXID"].as_str().unwrap().starts_with("SPDXRef-Base-"))
            .map(|p| p["versionInfo"].as_str().unwrap())
            .collect();
        assert_eq!(bases, [own.as_str()], "{platform}: {doc}");
    }
}
