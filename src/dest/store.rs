//! Where the local image store lives.

use super::error::DestError;
use std::path::PathBuf;

/// The local store path: `$MINIBUILD_STORE`, else `$XDG_DATA_HOME/minibuild`,
/// else `~/.local/share/minibuild`.
pub fn default_store_path() -> Result<PathBuf, DestError> {
    store_path_from(
        std::env::var_os("MINIBUILD_STORE"),
        std::env::var_os("XDG_DATA_HOME"),
        std::env::var_os("HOME"),
    )
}

fn store_path_from(
    store: Option<std::ffi::OsString>,
    xdg: Option<std::ffi::OsString>,
    home: Option<std::ffi::OsString>,
) -> Result<PathBuf, DestError> {
    let set = |v: Option<std::ffi::OsString>| v.filter(|s| !s.is_empty()).map(PathBuf::from);
    if let Some(p) = set(store) {
        return Ok(p);
    }
    if let Some(p) = set(xdg) {
        return Ok(p.join("minibuild"));
    }
    if let Some(p) = set(home) {
        return Ok(p.join(".local").join("share").join("minibuild"));
    }
    Err(DestError::invalid(
        "finding the local image store",
        "none of MINIBUILD_STORE, XDG_DATA_HOME or HOME is set",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precedence() {
        let s = |v: &str| Some(std::ffi::OsString::from(v));
        assert_eq!(
            store_path_from(s("/a"), s("/x"), s("/h")).unwrap(),
            PathBuf::from("/a")
        );
        assert_eq!(
            store_path_from(None, s("/x"), s("/h")).unwrap(),
            PathBuf::from("/x/minibuild")
        );
        assert_eq!(
            store_path_from(s(""), None, s("/h")).unwrap(),
            PathBuf::from("/h/.local/share/minibuild")
        );
        assert!(store_path_from(None, None, None).is_err());
    }
}
