//! Unit tests of the `writer` module.

use super::*;

fn e(path: &str, kind: EntryKind, mode: u32) -> Entry {
    Entry {
        path: path.to_string(),
        kind,
        mode,
        uid: 0,
        gid: 0,
        mtime: 10,
        xattrs: Vec::new(),
    }
}

/// Runs both passes like write_layer does, uncompressed: the tar bytes.
fn tar_of(sources: &[Source]) -> Result<Vec<u8>, LayerError> {
    let opts = LayerOptions::default();
    let limits = ArchiveLimits::default();
    let mut out = Vec::new();
    match write_sources(&mut out, sources, &opts, &limits, None)? {
        PassOutcome::Done { .. } => Ok(out),
        PassOutcome::Duplicates(plan) => {
            let mut out = Vec::new();
            match write_sources(&mut out, sources, &opts, &limits, Some(&plan))? {
                PassOutcome::Done { .. } => Ok(out),
                PassOutcome::Duplicates(_) => panic!("duplicates twice"),
            }
        }
    }
}

/// (path, type, mode, content) of each entry.
fn listing(tar: &[u8]) -> Vec<(String, char, u32, Vec<u8>)> {
    let mut ar = tar::Archive::new(tar);
    ar.entries()
        .unwrap()
        .map(|en| {
            let mut en = en.unwrap();
            let mut data = Vec::new();
            en.read_to_end(&mut data).unwrap();
            let h = en.header();
            (
                String::from_utf8(en.path_bytes().to_vec()).unwrap(),
                h.entry_type().as_byte() as char,
                h.mode().unwrap(),
                data,
            )
        })
        .collect()
}

#[test]
fn parents_are_synthesized_before_children() {
    let sources = [Source::Entry(
        e("/usr/local/bin/tool", EntryKind::File { size: 2 }, 0o755),
        Data::Bytes(b"hi".to_vec()),
    )];
    let l = listing(&tar_of(&sources).unwrap());
    let names: Vec<_> = l.iter().map(|x| (x.0.as_str(), x.1, x.2)).collect();
    assert_eq!(
        names,
        [
            ("usr/", '5', 0o755),
            ("usr/local/", '5', 0o755),
            ("usr/local/bin/", '5', 0o755),
            ("usr/local/bin/tool", '0', 0o755),
        ]
    );
    assert_eq!(l[3].3, b"hi");
}

#[test]
fn given_parents_are_kept_and_root_skipped() {
    let sources = [
        Source::Entry(e("/", EntryKind::Dir, 0o755), Data::None),
        Source::Entry(e("app", EntryKind::Dir, 0o700), Data::None),
        Source::Entry(e("app/x", EntryKind::Fifo, 0o600), Data::None),
    ];
    let l = listing(&tar_of(&sources).unwrap());
    let names: Vec<_> = l.iter().map(|x| (x.0.as_str(), x.2)).collect();
    assert_eq!(names, [("app/", 0o700), ("app/x", 0o600)]);
}

#[test]
fn duplicates_collapse_to_the_last() {
    let sources = [
        Source::Entry(
            e("a", EntryKind::File { size: 1 }, 0o644),
            Data::Bytes(b"1".to_vec()),
        ),
        Source::Entry(
            e("d/x", EntryKind::File { size: 1 }, 0o644),
            Data::Bytes(b"x".to_vec()),
        ),
        Source::Entry(
            e("a", EntryKind::File { size: 1 }, 0o600),
            Data::Bytes(b"2".to_vec()),
        ),
        // an explicit dir after its synthesized self: metadata wins, position stays
        Source::Entry(e("d", EntryKind::Dir, 0o700), Data::None),
    ];
    let l = listing(&tar_of(&sources).unwrap());
    let names: Vec<_> = l.iter().map(|x| (x.0.as_str(), x.2, x.3.clone())).collect();
    assert_eq!(
        names,
        [
            ("d/", 0o700, vec![]),
            ("d/x", 0o644, b"x".to_vec()),
            ("a", 0o600, b"2".to_vec()),
        ]
    );
}

#[test]
fn a_hard_link_to_a_replaced_file_is_refused() {
    let file = |data: &[u8]| {
        Source::Entry(
            e("f", EntryKind::File { size: 1 }, 0o644),
            Data::Bytes(data.to_vec()),
        )
    };
    let link = Source::Entry(
        e("h", EntryKind::Hardlink { target: "f".into() }, 0o644),
        Data::None,
    );
    let err = tar_of(&[file(b"1"), link.clone(), file(b"2")]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "entry h: hard link to f, which a later entry replaces; this layer cannot keep both"
    );
    // linking to the surviving file is fine
    let l = listing(&tar_of(&[file(b"1"), file(b"2"), link]).unwrap());
    let names: Vec<_> = l.iter().map(|x| (x.0.as_str(), x.1)).collect();
    assert_eq!(names, [("f", '0'), ("h", '1')]);
}

#[test]
fn no_duplicates_is_one_pass() {
    let sources = [Source::Entry(e("a", EntryKind::Dir, 0o755), Data::None)];
    let mut out = Vec::new();
    let outcome = write_sources(
        &mut out,
        &sources,
        &LayerOptions::default(),
        &ArchiveLimits::default(),
        None,
    )
    .unwrap();
    assert!(matches!(outcome, PassOutcome::Done { entries: 1 }));
    assert_eq!(out.len(), 3 * 512);
}

#[test]
fn refused_entries() {
    let cases: Vec<(Source, &str)> =
        vec![
        (
            Source::Entry(e("../x", EntryKind::Dir, 0o755), Data::None),
            "entry ../x: a `..` component would climb out of the destination",
        ),
        (
            Source::Entry(e("a/.wh.b", EntryKind::Dir, 0o755), Data::None),
            "entry a/.wh.b: the name .wh.b is an overlay whiteout, which an ADD/COPY cannot create",
        ),
        (
            Source::Entry(e("f", EntryKind::File { size: 3 }, 0o644), Data::Bytes(b"ab".to_vec())),
            "entry f: expected 3 bytes of content, found 2",
        ),
        (
            Source::Entry(e("f", EntryKind::File { size: 3 }, 0o644), Data::None),
            "entry f: expected 3 bytes of content, found 0",
        ),
    ];
    for (source, msg) in cases {
        assert_eq!(tar_of(&[source]).unwrap_err().to_string(), msg);
    }
}

#[test]
fn file_from_disk() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("f");
    std::fs::write(&p, vec![7u8; 1500]).unwrap();
    let ok = [Source::Entry(
        e("f", EntryKind::File { size: 1500 }, 0o644),
        Data::Path(p.clone()),
    )];
    let tar = tar_of(&ok).unwrap();
    assert_eq!(tar.len(), 512 + 1536 + 1024);
    assert_eq!(listing(&tar)[0].3, vec![7u8; 1500]);
    let wrong = [Source::Entry(
        e("f", EntryKind::File { size: 10 }, 0o644),
        Data::Path(p),
    )];
    assert_eq!(
        tar_of(&wrong).unwrap_err().to_string(),
        "entry f: expected 10 bytes of content, found 1500"
    );
    let missing = [Source::Entry(
        e("g", EntryKind::File { size: 1 }, 0o644),
        Data::Path(dir.path().join("nope")),
    )];
    let msg = tar_of(&missing).unwrap_err().to_string();
    assert!(msg.starts_with("reading file "), "{msg}");
    assert!(msg.contains("nope for g: "), "{msg}");
}
