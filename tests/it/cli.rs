//! End-to-end: the binary builds the three used-by images, stores them,
//! reports errors with file, line and caret; peers read and run the result.

use crate::common::*;
use std::collections::BTreeMap;

#[test]
fn hello_from_scratch_builds_validates_and_runs() {
    let w = Work::new();
    let ctx = w.ctx();
    static_hello(&ctx);
    w.dockerfile("FROM scratch\nCOPY ./hello /\nENTRYPOINT [\"/hello\"]\n");
    let out = w.build_oci("hello:scratch", &["-t", "hello:scratch"]);
    validate(&out);
    let cfg = config_of(&out, "hello:scratch");
    assert_eq!(cfg["config"]["Entrypoint"], serde_json::json!(["/hello"]));
    assert_eq!(
        cfg["config"]["Env"],
        serde_json::json!(["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"])
    );
    assert_eq!(cfg["rootfs"]["diff_ids"].as_array().unwrap().len(), 1);
    let hist = cfg["history"].as_array().unwrap();
    assert_eq!(hist[0]["created_by"], "COPY ./hello / # buildkit");
    assert_eq!(hist[1]["empty_layer"], true);
    let fs = merged_fs(&out, "hello:scratch");
    let hello = &fs["hello"];
    assert_eq!(
        (hello.kind.as_str(), hello.mode, hello.uid),
        ("file", 0o755, 0)
    );
    let index = read_json(&out.join("index.json"));
    assert_eq!(
        index["manifests"][0]["annotations"]["io.containerd.image.name"],
        "docker.io/library/hello:scratch"
    );
    if have("skopeo") {
        let o = run_ok(
            std::process::Command::new("skopeo")
                .args(["inspect", &format!("oci:{}:hello:scratch", out.display())]),
        );
        assert!(String::from_utf8_lossy(&o.stdout).contains("\"Layers\""));
    }
    if have("umoci") {
        let bundle = w.path("bundle");
        run_ok(
            std::process::Command::new("umoci")
                .args([
                    "unpack",
                    "--rootless",
                    "--image",
                    &format!("{}:hello:scratch", out.display()),
                ])
                .arg(&bundle),
        );
        assert!(bundle.join("rootfs/hello").is_file());
    }
    if have("podman") && have("runc") {
        let said = podman_run(w.dir.path(), &out, "hello:scratch", &[]);
        assert_eq!(said.trim(), "Hello from a minibuild image!");
    }
}

#[test]
fn default_output_is_the_store_and_the_card_command_works_as_typed() {
    let w = Work::new();
    static_hello(&w.ctx());
    w.dockerfile("FROM scratch\nCOPY ./hello /\nENTRYPOINT [\"/hello\"]\n");
    // exactly the card's command, run inside the context
    let o = minibuild()
        .args(["-f", "Dockerfile", "-t", "hello:scratch", "."])
        .env("MINIBUILD_STORE", w.path("store"))
        .current_dir(w.ctx())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("[2/3] COPY ./hello /"), "{err}");
    assert!(err.contains("layer sha256:"), "{err}");
    assert!(err.contains("config Entrypoint"), "{err}");
    let store = w.path("store");
    validate(&store);
    let m = manifest_of(&store, "hello:scratch");
    assert_eq!(m["layers"].as_array().unwrap().len(), 1);
    // a second tag keeps the first; rebuilding replaces the same name only
    std::fs::copy(w.ctx().join("hello"), w.ctx().join("app")).unwrap();
    w.dockerfile("FROM scratch\nADD app /\nCMD [\"/app\"]\n");
    let o = w.run(&["-t", "app:1", w.ctx().to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let tagged = tags(&store);
    let names: Vec<&str> = tagged.keys().map(String::as_str).collect();
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(names.contains(&"hello:scratch") && names.contains(&"app:1"));
    validate(&store);
    if have("podman") && have("runc") {
        let said = podman_run(w.dir.path(), &store, "app:1", &[]);
        assert_eq!(said.trim(), "Hello from a minibuild image!");
    }
}

#[test]
fn same_context_twice_gives_same_layers_and_epoch_gives_same_image() {
    let w = Work::new();
    w.file("a/b.txt", "b");
    w.file("c.txt", "c");
    w.dockerfile("FROM scratch\nCOPY . /app/\nCMD [\"/app/c.txt\"]\n");
    let build = |dir: &str, epoch: Option<&str>| {
        let dest = format!("oci:{}:x", w.path(dir).display());
        let mut c = minibuild();
        c.args(["-o", &dest, w.ctx().to_str().unwrap()]);
        if let Some(e) = epoch {
            c.env("SOURCE_DATE_EPOCH", e);
        }
        let o = c.output().unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
        String::from_utf8_lossy(&o.stdout).trim().to_string()
    };
    build("o1", None);
    build("o2", None);
    assert_eq!(
        manifest_of(&w.path("o1"), "x")["layers"],
        manifest_of(&w.path("o2"), "x")["layers"]
    );
    let d1 = build("o3", Some("1700000000"));
    let d2 = build("o4", Some("1700000000"));
    assert_eq!(d1, d2, "image digests differ with SOURCE_DATE_EPOCH");
    let cfg = config_of(&w.path("o3"), "x");
    assert_eq!(cfg["created"], "2023-11-14T22:13:20Z");
    // file mtimes are clamped to the epoch
    let m = manifest_of(&w.path("o3"), "x");
    let tar = layer_tar(&w.path("o3"), &m["layers"][0]);
    let mut ar = tar::Archive::new(&tar[..]);
    for e in ar.entries().unwrap() {
        assert!(e.unwrap().header().mtime().unwrap() <= 1_700_000_000);
    }
}

#[test]
fn metadata_instructions_with_variables_fill_the_config() {
    let w = Work::new();
    w.file("app", "#!/bin/sh\n");
    w.dockerfile(
        r#"ARG BASE=scratch
FROM ${BASE}
ARG VERSION=1.0
ARG PORT
ENV APP_HOME=/srv/app NAME="my app"
ENV abc=bye def=$abc
WORKDIR $APP_HOME
WORKDIR sub
COPY app ./
LABEL org.example.version=$VERSION "title"="${NAME}"
USER ${USER_ID:-1000}:${GROUP_ID:-1000}
EXPOSE 80 ${PORT}/udp
VOLUME ["/data", "$APP_HOME/cache"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["/srv/app/sub/app"]
CMD run --help
"#,
    );
    let out = w.build_oci("meta:1", &["--build-arg", "PORT=5353"]);
    validate(&out);
    let c = config_of(&out, "meta:1");
    let cfg = &c["config"];
    assert_eq!(
        cfg["Env"],
        serde_json::json!([
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "APP_HOME=/srv/app",
            "NAME=my app",
            "abc=bye",
            "def="
        ])
    );
    assert_eq!(cfg["WorkingDir"], "/srv/app/sub");
    assert_eq!(cfg["Labels"]["org.example.version"], "1.0");
    assert_eq!(cfg["Labels"]["title"], "my app");
    assert_eq!(cfg["User"], "1000:1000");
    let ports: BTreeMap<String, serde_json::Value> =
        serde_json::from_value(cfg["ExposedPorts"].clone()).unwrap();
    assert_eq!(ports.keys().collect::<Vec<_>>(), vec!["5353/udp", "80/tcp"]);
    let vols: BTreeMap<String, serde_json::Value> =
        serde_json::from_value(cfg["Volumes"].clone()).unwrap();
    assert_eq!(
        vols.keys().collect::<Vec<_>>(),
        vec!["/data", "/srv/app/cache"]
    );
    assert_eq!(cfg["StopSignal"], "SIGTERM");
    assert_eq!(cfg["Entrypoint"], serde_json::json!(["/srv/app/sub/app"]));
    assert_eq!(
        cfg["Cmd"],
        serde_json::json!(["/bin/sh", "-c", "run --help"])
    );
    let fs = merged_fs(&out, "meta:1");
    assert_eq!(fs["srv/app/sub"].kind, "dir");
    assert_eq!(fs["srv/app/sub/app"].kind, "file");
    let hist: Vec<&str> = c["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["created_by"].as_str().unwrap())
        .collect();
    assert!(hist.contains(&"WORKDIR /srv/app/sub"), "{hist:?}");
    assert!(hist.contains(&"ENV abc=bye def="), "{hist:?}");
    assert!(hist.contains(&"EXPOSE [5353/udp 80/tcp]"), "{hist:?}");
}

#[test]
fn run_is_refused_with_file_line_and_caret() {
    let w = Work::new();
    w.dockerfile("FROM scratch\n\nRUN echo hi\n");
    let o = w.run(&[w.ctx().to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(err.contains("RUN is not supported"), "{err}");
    assert!(err.contains("Dockerfile:3:1"), "{err}");
    assert!(err.contains("3 | RUN echo hi"), "{err}");
    assert!(err.contains("^^^"), "{err}");
    // nothing was stored
    assert!(
        !w.path("store/index.json").exists() || {
            let i = read_json(&w.path("store/index.json"));
            i["manifests"].as_array().unwrap().is_empty()
        }
    );
}

#[test]
fn syntax_errors_point_at_the_line() {
    let w = Work::new();
    w.dockerfile("FROM scratch\nCOPPY hello /\n");
    let o = w.run(&[w.ctx().to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(err.contains("Dockerfile:2:1"), "{err}");
    assert!(err.contains("unknown instruction"), "{err}");
    assert!(err.contains("did you mean COPY"), "{err}");

    w.dockerfile("FROM scratch\nCOPY missing.txt /\n");
    let o = w.run(&[w.ctx().to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(err.contains("Dockerfile:2"), "{err}");
    assert!(err.contains("missing.txt"), "{err}");
}

#[test]
fn usage_errors_exit_2() {
    let w = Work::new();
    let o = w.run(&["--no-such-flag"]);
    assert_eq!(o.status.code(), Some(2));
    let o = w.run(&["--build-arg", "=x", "."]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let o = w.run(&["-o", "nowhere:x", "."]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
}

#[test]
fn layer_compression_choices_give_their_media_types() {
    let w = Work::new();
    static_hello(&w.ctx());
    w.dockerfile("FROM scratch\nCOPY hello /\nENTRYPOINT [\"/hello\"]\n");
    for (choice, level, media_type) in [
        ("gzip", "9", "application/vnd.oci.image.layer.v1.tar+gzip"),
        ("zstd", "19", "application/vnd.oci.image.layer.v1.tar+zstd"),
        ("none", "", "application/vnd.oci.image.layer.v1.tar"),
    ] {
        let out = w.path(&format!("out-{choice}"));
        let dest = format!("oci:{}:c", out.display());
        let mut args = vec!["--compression", choice, "-o", &dest];
        if !level.is_empty() {
            args.extend(["--compression-level", level]);
        }
        let ctx = w.ctx().to_string_lossy().to_string();
        args.push(&ctx);
        let o = w.run(&args);
        assert!(o.status.success(), "{choice}: {}", stderr(&o));
        validate(&out);
        let m = manifest_of(&out, "c");
        assert_eq!(m["layers"][0]["mediaType"], media_type);
        assert_eq!(merged_fs(&out, "c")["hello"].mode, 0o755);
        if have("podman") && have("runc") {
            let said = podman_run(w.dir.path(), &out, "c", &[]);
            assert_eq!(said.trim(), "Hello from a minibuild image!", "{choice}");
        }
    }
    let o = w.run(&["--compression", "lz4", w.ctx().to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
}

/// A closed stdout (the reader of the digest went away) ends the build
/// quietly: no panic, success.
#[test]
fn a_closed_stdout_ends_quietly() {
    let w = Work::new();
    w.file("a", "a");
    w.dockerfile("FROM scratch\nCOPY a /\n");
    let mut child = minibuild()
        .args(["build", "-o"])
        .arg(format!("oci:{}:t", w.path("out").display()))
        .arg(w.ctx())
        .env("MINIBUILD_STORE", w.path("store"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}
