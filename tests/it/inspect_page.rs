//! `inspect --html`: one self-contained page, rendered by headless
//! Chromium (the DOM after its script ran, and a screenshot for a human).

use crate::common::inspect::chromium;
use crate::common::{have, Work};

#[test]
fn the_page_draws_the_boxes_and_the_layer_of_final_txt() {
    if !have("chromium") {
        return;
    }
    let w = Work::new();
    let out = crate::inspect_layers::multi_layer(&w);
    let page = w.path("page.html");
    let source = format!("oci:{}:multi:1", out.display());
    w.ok(&["inspect", "--html", &page.display().to_string(), &source]);
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "the page names a URL"
    );
    assert!(
        html.contains("Content-Security-Policy"),
        "fetching is forbidden"
    );

    let dom = chromium(&w, &page, &["--dump-dom"]);
    for text in [
        "index.json entry",
        "manifest for linux/",
        "<h2>config</h2>",
        "<h2>layer 0</h2>",
        "<h2>layer 3</h2>",
        "COPY b/final.txt /",
    ] {
        assert!(dom.contains(text), "{text} not in the rendered page");
    }
    // the layer of /final.txt: layer 3's box shows it modified, replacing layer 2's
    let layer3 = &dom[dom.find("id=\"layer-3\"").expect("layer 3's box")..];
    let at = layer3
        .find("data-path=\"/final.txt\"")
        .expect("/final.txt in layer 3");
    assert!(
        layer3[..at].rfind("class=\"modified").is_some(),
        "{}",
        &layer3[..at + 40]
    );
    assert!(layer3.contains("replaces layer 2"), "{layer3}");
    let layer2 = &dom[dom.find("id=\"layer-2\"").unwrap()..dom.find("id=\"layer-3\"").unwrap()];
    assert!(layer2.contains("[hidden by layer 3]"), "{layer2}");

    let shot = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("inspect-page.png");
    let arg = format!("--screenshot={}", shot.display());
    chromium(&w, &page, &[&arg, "--window-size=1200,1600"]);
    let png = std::fs::read(&shot).unwrap();
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 10_000,
        "screenshot {}",
        shot.display()
    );
    eprintln!("screenshot of the page: {}", shot.display());
}

#[test]
fn a_rootfs_sized_layer_stays_collapsed_until_opened() {
    if !have("chromium") {
        return;
    }
    // ~9,000 entries, as a debian minbase rootfs has
    let w = Work::new();
    let names: Vec<(String, String)> = (0..90)
        .flat_map(|d| (0..100).map(move |f| (format!("d{d:03}/"), format!("d{d:03}/f{f:03}"))))
        .collect();
    let mut items = Vec::new();
    for (dir, file) in &names {
        if file.ends_with("f000") {
            items.push(crate::common::inspect::Item::Dir(dir));
        }
        items.push(crate::common::inspect::Item::File(file, b"x"));
    }
    let dir = w.path("big");
    crate::common::inspect::layered_image(&dir, "big:1", &[("ADD rootfs.tar /", items)]);
    let page = w.path("big.html");
    let started = std::time::Instant::now();
    w.ok(&[
        "inspect",
        "--html",
        &page.display().to_string(),
        &format!("oci:{}", dir.display()),
    ]);
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(
        html.contains("\"path\":\"/d089/f099\""),
        "every entry is in the data"
    );
    let started_browser = std::time::Instant::now();
    let dom = chromium(&w, &page, &["--dump-dom"]);
    eprintln!(
        "9,090 entries: page written in {:?}, rendered in {:?}",
        started_browser - started,
        started_browser.elapsed()
    );
    // the 90 top directories are drawn, what is in them only when opened
    let items = dom.matches("<li").count();
    assert!((90..200).contains(&items), "{items} list items drawn");
    assert!(
        dom.contains("d089/ (100)"),
        "the last directory, with its count"
    );
    assert!(
        !dom.contains("data-path=\"/d089/f099\""),
        "files drawn before opening"
    );
}
