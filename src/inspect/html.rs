//! `--html FILE`: one self-contained page (no network: a Content Security
//! Policy forbids every fetch, and nothing outside the page is named) that
//! draws the image as linked boxes — index → manifest → config → layers —
//! with each layer's Dockerfile step and its file tree. The data is
//! embedded as JSON and the page's script renders a directory's children
//! only when it is opened, so a debian rootfs (~9,000 entries) stays usable.

use super::json::{ImageSummary, LayersReport};
use crate::dest::DestError;
use serde::Serialize;
use std::path::Path;

/// The page, with `{{TITLE}}` and `{{DATA}}` to fill in.
const TEMPLATE: &str = include_str!("page.html");

#[derive(Serialize)]
struct PageData<'a> {
    summary: &'a ImageSummary,
    layers: &'a LayersReport,
}

/// The page for an image.
pub fn page(summary: &ImageSummary, layers: &LayersReport) -> Result<String, DestError> {
    let data = serde_json::to_string(&PageData { summary, layers })
        .map_err(DestError::json("serializing the page's data"))?;
    // `<` only occurs inside JSON strings, where `\u003c` means the same:
    // the data can never close its <script> element.
    let data = data.replace('<', "\\u003c");
    let title = escape_html(&format!("How {} is made", summary.source));
    Ok(TEMPLATE
        .replacen("{{TITLE}}", &title, 1)
        .replacen("{{DATA}}", &data, 1))
}

/// Writes the page to `file` (through a temporary file beside it).
pub fn write_page(file: &Path, page: &str) -> Result<(), DestError> {
    let what = format!("writing {}", file.display());
    let dir = match file.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".tmp-")
        .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o644))
        .tempfile_in(&dir)
        .map_err(DestError::io(what.clone()))?;
    std::io::Write::write_all(&mut tmp, page.as_bytes()).map_err(DestError::io(what.clone()))?;
    tmp.persist(file).map_err(|e| DestError::Io {
        what,
        source: e.error,
    })?;
    Ok(())
}

fn escape_html(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_template_names_nothing_outside_the_page() {
        assert!(!TEMPLATE.contains("http:") && !TEMPLATE.contains("https:"));
        assert!(!TEMPLATE.contains(" src=") && !TEMPLATE.contains(" href="));
        assert_eq!(TEMPLATE.matches("{{DATA}}").count(), 1);
        assert_eq!(escape_html("<a&\">"), "&lt;a&amp;&quot;&gt;");
    }
}
