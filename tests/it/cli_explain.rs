//! `build --explain` (issue #11, item 3): what each Dockerfile line
//! produced, and the same image as without it.

use crate::common::*;

/// The issue's multi-layer case: layer 4 replaces layer 3's /final.txt.
fn multi_layer(w: &Work) {
    static_hello(&w.ctx());
    w.file("README.md", "read me\n");
    w.file("a/final.txt", "from a\n");
    w.file("b/final.txt", "from b, longer\n");
    w.file("site/index.html", "<p>hi</p>\n");
    w.file("site/css/main.css", "p{}\n");
    w.dockerfile(
        "FROM scratch\nCOPY hello /\nCOPY README.md /\nCOPY a/final.txt /\nCOPY b/final.txt /\n\
         COPY site/ /srv/\nENV A=1 B=2\nCMD [\"/hello\"]\n",
    );
}

fn build(w: &Work, out: &str, extra: &[&str]) -> std::process::Output {
    let dest = format!("oci:{}:m", w.path(out).display());
    let mut args = vec!["build", "-o", dest.as_str()];
    args.extend_from_slice(extra);
    args.push("ctx");
    minibuild()
        .args(&args)
        .env("MINIBUILD_STORE", w.path("store"))
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .current_dir(w.dir.path())
        .output()
        .unwrap()
}

#[test]
fn explain_names_each_lines_paths_and_fields_and_keeps_the_digest() {
    let w = Work::new();
    multi_layer(&w);
    let plain = build(&w, "plain", &[]);
    assert!(plain.status.success(), "{}", stderr(&plain));
    let explained = build(&w, "explained", &["--explain"]);
    assert!(explained.status.success(), "{}", stderr(&explained));
    let text = String::from_utf8_lossy(&explained.stdout).into_owned();
    // the same image: the digest (the last line of stdout) and every blob
    let digest = String::from_utf8_lossy(&plain.stdout).trim().to_string();
    assert_eq!(text.lines().last(), Some(digest.as_str()), "{text}");
    assert_eq!(
        manifest_of(&w.path("plain"), "m"),
        manifest_of(&w.path("explained"), "m")
    );
    // without --progress, the explanation replaces the progress
    assert!(
        !stderr(&explained).contains("DONE"),
        "{}",
        stderr(&explained)
    );

    let section = |line: usize| -> String {
        let start = text
            .find(&format!("line {line}: "))
            .unwrap_or_else(|| panic!("no line {line}:\n{text}"));
        let rest = &text[start..];
        let end = rest[1..].find("\nline ").map_or(rest.len(), |i| i + 1);
        rest[..end].to_string()
    };
    let from = section(1);
    assert!(from.contains("base scratch (0 layers)"), "{from}");
    let hello = section(2);
    assert!(hello.contains("took hello → /hello"), "{hello}");
    assert!(hello.contains("landed: 1 added, 0 modified"), "{hello}");
    assert!(hello.contains("added    /hello (file "), "{hello}");
    let a = section(4);
    assert!(a.contains("took a/final.txt → /final.txt"), "{a}");
    assert!(a.contains("added    /final.txt (file 7B)"), "{a}");
    let b = section(5);
    assert!(b.contains("took b/final.txt → /final.txt"), "{b}");
    assert!(b.contains("landed: 0 added, 1 modified"), "{b}");
    assert!(b.contains("modified /final.txt (file 15B)"), "{b}");
    let site = section(6);
    assert!(
        site.contains("took site/css/main.css → /srv/css/main.css"),
        "{site}"
    );
    assert!(
        site.contains("took site/index.html → /srv/index.html"),
        "{site}"
    );
    assert!(site.contains("added    /srv/css (dir)"), "{site}");
    let env = section(7);
    assert!(
        env.contains(r#"config Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"] → ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin","A=1","B=2"]"#),
        "{env}"
    );
    let cmd = section(8);
    assert!(cmd.contains(r#"config Cmd: null → ["/hello"]"#), "{cmd}");
    // each layer line names the layer the manifest has, in order
    let m = manifest_of(&w.path("plain"), "m");
    for (i, layer) in m["layers"].as_array().unwrap().iter().enumerate() {
        let d = layer["digest"].as_str().unwrap();
        assert!(
            section(i + 2).contains(&format!("layer {d}")),
            "{d}\n{text}"
        );
    }
}

#[test]
fn explain_with_a_progress_mode_keeps_both() {
    let w = Work::new();
    multi_layer(&w);
    let o = build(&w, "out", &["--explain", "--progress", "plain"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("DONE"), "{}", stderr(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("line 5: [5/8] COPY b/final.txt /"));
}
