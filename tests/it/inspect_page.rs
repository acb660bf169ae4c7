//! `inspect --html`: one self-contained page, rendered by headless
//! Chromium (the DOM after its script ran, and a screenshot for a human).

use crate::common::{have, run_ok, Work};
use std::process::Command;

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

    let chromium = |extra: &[&str]| {
        let mut c = Command::new("chromium");
        c.args(["--headless", "--no-sandbox", "--disable-gpu"])
            .arg(format!(
                "--user-data-dir={}",
                w.path("chromium-profile").display()
            ))
            .args(extra)
            .arg(format!("file://{}", page.display()));
        c
    };
    let dom = String::from_utf8(run_ok(&mut chromium(&["--dump-dom"])).stdout).unwrap();
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
    run_ok(&mut chromium(&[&arg, "--window-size=1200,1600"]));
    let png = std::fs::read(&shot).unwrap();
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 10_000,
        "screenshot {}",
        shot.display()
    );
    eprintln!("screenshot of the page: {}", shot.display());
}
