//! Unit tests of the `ignore` module.

use super::*;

/// Go's own `filepath.Match` table (src/path/filepath/match_test.go);
/// `None` is ErrBadPattern.
const GO_MATCH: &[(&str, &str, Option<bool>)] = &[
    ("abc", "abc", Some(true)),
    ("*", "abc", Some(true)),
    ("*c", "abc", Some(true)),
    ("a*", "a", Some(true)),
    ("a*", "abc", Some(true)),
    ("a*", "ab/c", Some(false)),
    ("a*/b", "abc/b", Some(true)),
    ("a*/b", "a/c/b", Some(false)),
    ("a*b*c*d*e*/f", "axbxcxdxe/f", Some(true)),
    ("a*b*c*d*e*/f", "axbxcxdxexxx/f", Some(true)),
    ("a*b*c*d*e*/f", "axbxcxdxe/xxx/f", Some(false)),
    ("a*b*c*d*e*/f", "axbxcxdxexxx/fff", Some(false)),
    ("a*b?c*x", "abxbbxdbxebxczzx", Some(true)),
    ("a*b?c*x", "abxbbxdbxebxczzy", Some(false)),
    ("ab[c]", "abc", Some(true)),
    ("ab[b-d]", "abc", Some(true)),
    ("ab[e-g]", "abc", Some(false)),
    ("ab[^c]", "abc", Some(false)),
    ("ab[^b-d]", "abc", Some(false)),
    ("ab[^e-g]", "abc", Some(true)),
    ("a\\*b", "a*b", Some(true)),
    ("a\\*b", "ab", Some(false)),
    ("a?b", "a☺b", Some(true)),
    ("a[^a]b", "a☺b", Some(true)),
    ("a???b", "a☺b", Some(false)),
    ("a[^a][^a][^a]b", "a☺b", Some(false)),
    ("[a-ζ]*", "α", Some(true)),
    ("*[a-ζ]", "A", Some(false)),
    ("a?b", "a/b", Some(false)),
    ("a*b", "a/b", Some(false)),
    ("[\\]a]", "]", Some(true)),
    ("[\\-]", "-", Some(true)),
    ("[x\\-]", "x", Some(true)),
    ("[x\\-]", "-", Some(true)),
    ("[x\\-]", "z", Some(false)),
    ("[\\-x]", "x", Some(true)),
    ("[\\-x]", "-", Some(true)),
    ("[\\-x]", "a", Some(false)),
    ("[]a]", "]", None),
    ("[-]", "-", None),
    ("[x-]", "x", None),
    ("[x-]", "-", None),
    ("[x-]", "z", None),
    ("[-x]", "x", None),
    ("[-x]", "-", None),
    ("[-x]", "a", None),
    ("\\", "a", None),
    ("[a-b-c]", "a", None),
    ("[", "a", None),
    ("[^", "a", None),
    ("[^bc", "a", None),
    ("a[", "a", None),
    ("a[", "ab", None),
    ("a[", "x", None),
    ("a/b[", "x", None),
    ("*x", "xxx", Some(true)),
];

#[test]
fn fn_match_follows_gos_table() {
    let mut failures = Vec::new();
    for &(pattern, name, want) in GO_MATCH {
        let got = fn_match(pattern, name).ok();
        if got != want {
            failures.push(format!("{pattern:?} {name:?}: want {want:?}, got {got:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn fn_match_negates_with_caret_only() {
    assert_eq!(fn_match("[!a]", "!"), Ok(true));
    assert_eq!(fn_match("[!a]", "b"), Ok(false));
    assert_eq!(fn_match("[^a]", "b"), Ok(true));
}

#[test]
fn bad_pattern_error_names_the_pattern() {
    assert_eq!(
        fn_match("a[", "x").unwrap_err().to_string(),
        "syntax error in pattern \"a[\""
    );
}

fn excluded(patterns: &[&str], path: &str) -> Result<bool, PatternError> {
    let patterns: Vec<String> = patterns.iter().map(|s| s.to_string()).collect();
    PatternMatcher::new(&patterns)?.excluded(path)
}

/// moby/patternmatcher's TestMatches table, checked as
/// MatchesOrParentMatches checks it (exact and inexact both match).
const MOBY_MATCHES: &[(&str, &str, bool)] = &[
    ("**", "file", true),
    ("**", "file/", true),
    ("**/", "file", true),
    ("**/", "file/", true),
    ("**", "/", true),
    ("**/", "/", true),
    ("**", "dir/file", true),
    ("**/", "dir/file", true),
    ("**", "dir/file/", true),
    ("**/", "dir/file/", true),
    ("**/**", "dir/file", true),
    ("**/**", "dir/file/", true),
    ("dir/**", "dir/file", true),
    ("dir/**", "dir/file/", true),
    ("dir/**", "dir/dir2/file", true),
    ("dir/**", "dir/dir2/file/", true),
    ("**/dir", "dir", true),
    ("**/dir", "dir/file", true),
    ("**/dir2/*", "dir/dir2/file", true),
    ("**/dir2/*", "dir/dir2/file/", true),
    ("**/dir2/**", "dir/dir2/dir3/file", true),
    ("**/dir2/**", "dir/dir2/dir3/file/", true),
    ("**file", "file", true),
    ("**file", "dir/file", true),
    ("**/file", "dir/file", true),
    ("**file", "dir/dir/file", true),
    ("**/file", "dir/dir/file", true),
    ("**/file*", "dir/dir/file", true),
    ("**/file*", "dir/dir/file.txt", true),
    ("**/file*txt", "dir/dir/file.txt", true),
    ("**/file*.txt", "dir/dir/file.txt", true),
    ("**/file*.txt*", "dir/dir/file.txt", true),
    ("**/**/*.txt", "dir/dir/file.txt", true),
    ("**/**/*.txt2", "dir/dir/file.txt", false),
    ("**/*.txt", "file.txt", true),
    ("**/**/*.txt", "file.txt", true),
    ("a**/*.txt", "a/file.txt", true),
    ("a**/*.txt", "a/dir/file.txt", true),
    ("a**/*.txt", "a/dir/dir/file.txt", true),
    ("a/*.txt", "a/dir/file.txt", false),
    ("a/*.txt", "a/file.txt", true),
    ("a/*.txt**", "a/file.txt", true),
    ("a[b-d]e", "ae", false),
    ("a[b-d]e", "ace", true),
    ("a[b-d]e", "aae", false),
    ("a[^b-d]e", "aze", true),
    (".*", ".foo", true),
    (".*", "foo", false),
    ("abc.def", "abcdef", false),
    ("abc.def", "abc.def", true),
    ("abc.def", "abcZdef", false),
    ("abc?def", "abcZdef", true),
    ("abc?def", "abcdef", false),
    ("**/foo/bar", "foo/bar", true),
    ("**/foo/bar", "dir/foo/bar", true),
    ("**/foo/bar", "dir/dir2/foo/bar", true),
    ("abc/**", "abc", false),
    ("abc/**", "abc/def", true),
    ("abc/**", "abc/def/ghi", true),
    ("**/.foo", ".foo", true),
    ("**/.foo", "bar.foo", false),
    ("a(b)c/def", "a(b)c/def", true),
    ("a(b)c/def", "a(b)c/xyz", false),
    ("a.|)$(}+{bc", "a.|)$(}+{bc", true),
    (
        "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl",
        "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl",
        true,
    ),
    (
        "dist/*.whl",
        "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl",
        true,
    ),
    ("a\\\\", "a\\", true),
    ("a\\*b", "a*b", true),
];

#[test]
fn pattern_matcher_follows_mobys_table() {
    check_single_patterns(MOBY_MATCHES);
}

/// Checks (pattern, path, excluded) cases, reporting every failure.
fn check_single_patterns(cases: &[(&str, &str, bool)]) {
    let mut failures = Vec::new();
    for &(pattern, path, want) in cases {
        match excluded(&[pattern], path) {
            Ok(got) if got == want => {}
            got => failures.push(format!("{pattern:?} {path:?}: want {want}, got {got:?}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn exceptions_and_order() {
    let cases: &[(&[&str], &str, bool)] = &[
        // moby's multiPatternTests
        (&["**", "!util/docker/web"], "util/docker/web/foo", false),
        (
            &["**", "!util/docker/web", "util/docker/web/foo"],
            "util/docker/web/foo",
            true,
        ),
        (
            &[
                "**",
                "!dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl",
            ],
            "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl",
            false,
        ),
        (
            &["**", "!dist/*.whl"],
            "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl",
            false,
        ),
        // moby's single tests
        (&["*"], "fileutils.go", true),
        (&["*.go"], "fileutils.go", true),
        (&["!fileutils.go", "*.go"], "fileutils.go", true),
        (&["docs", "!docs/README.md"], "docs/README.md", false),
        (&["docs/", "!docs/README.md"], "docs/README.md", false),
        (&["docs/*", "!docs/README.md"], "docs/README.md", false),
        (&["*.go", "!fileutils.go"], "fileutils.go", false),
        (&["*.go"], ".", false),
        (&[], "/any/path/there", false),
        (
            &["docs", "", "  !docs/README.md  "],
            "docs/README.md",
            false,
        ),
        (&["docs", "!docs/README.md"], "docs/other.md", true),
    ];
    for &(patterns, path, want) in cases {
        assert_eq!(excluded(patterns, path), Ok(want), "{patterns:?} {path:?}");
    }
}

/// moby's TestMatch: Go's match table through the matcher, where a
/// parent directory matching counts too.
#[test]
fn pattern_matcher_on_gos_table() {
    let mut failures = Vec::new();
    for &(pattern, name, want) in GO_MATCH {
        // Parent matching: "a*" matches the parent "ab" of "ab/c".
        let want = if (pattern, name) == ("a*", "ab/c") {
            Some(true)
        } else {
            want
        };
        let got = excluded(&[pattern], name).ok();
        if got != want {
            failures.push(format!("{pattern:?} {name:?}: want {want:?}, got {got:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn malformed_patterns() {
    assert_eq!(excluded(&["!"], "x"), Err(PatternError::LoneExclamation));
    assert!(matches!(
        excluded(&["["], "/any/path/there"),
        Err(PatternError::BadPattern { .. })
    ));
    // Passes Go's Match, but moby's regexp refuses the range l-O:
    // accepted at construction, an error when matching (every time).
    let pm = PatternMatcher::new(&["[Local-Only]/".to_string()]).unwrap();
    assert!(pm.excluded("x").is_err());
    assert!(pm.excluded("x").is_err());
}

/// What moby's matcher does with the corners Go's regexp gives meaning
/// to (patternmatcher compiles the pattern with regexp.Compile): Perl
/// classes are ASCII, POSIX classes work, a `[` in a class is a literal,
/// `&&` is not an intersection, `\Q...\E` quotes, escapes are octal.
#[test]
fn regexp_corners_follow_gos_regexp() {
    let cases: &[(&str, &str, bool)] = &[
        ("file\\d", "file1", true),
        ("file\\d", "filex", false),
        // Go's \d is [0-9]: ARABIC-INDIC DIGIT THREE is not one
        ("x\\d", "x\u{663}", false),
        ("x\\D", "x\u{663}", true),
        ("\\w*", "abc_9", true),
        ("\\w", "\u{e9}", false),
        ("a\\sb", "a b", true),
        ("a\\sb", "a\u{b}b", false),
        ("[[:alpha:]]", "a", true),
        ("[[:alpha:]]", "1", false),
        ("[[:alpha:]]", "a]", false),
        ("[[:^digit:]]x", "ax", true),
        ("[[:^digit:]]x", "1x", false),
        ("[\\d_]", "_", true),
        ("[^\\d]", "5", false),
        ("[[a]", "[", true),
        ("[[a]", "a", true),
        ("[a&&b]", "&", true),
        ("[a\\-\\-b]", "-", true),
        ("[a~~b]", "~", true),
        ("\\pLx", "\u{e9}x", true),
        ("\\PLx", "1x", true),
        ("a\\Q.b\\E", "a\\.b", true),
        ("a\\Q.b\\E", "a.b", false),
        ("\\101", "A", true),
        ("\\x41\\x42", "AB", true),
        ("a\\<", "a<", true),
        ("^a*", "abc", true),
    ];
    check_single_patterns(cases);
    // What Go's regexp refuses: a single-digit backreference, an
    // unknown POSIX class, an unknown escape, `\b` inside a class.
    // `\p{Greek}` and `\x{41}` are refused too: moby escapes the `{`.
    for pattern in [
        "a\\1",
        "[[:alfa:]]",
        "\\y",
        "[\\b]",
        "\\p{Greek}",
        "\\x{41}",
    ] {
        let pm = PatternMatcher::new(&[pattern.to_string()]).unwrap();
        assert!(pm.excluded("x").is_err(), "{pattern:?}");
    }
}

#[test]
fn compile_kinds_follow_moby() {
    let kind = |p: &str| match compile(&clean(p)) {
        Ok(Kind::Exact) => "exact",
        Ok(Kind::Prefix(_)) => "prefix",
        Ok(Kind::Suffix(_)) => "suffix",
        Ok(Kind::Regex(_)) => "regex",
        Err(_) => "error",
    };
    let cases = [
        ("*", "regex"),
        ("file*", "regex"),
        ("**", "suffix"),
        ("**/**", "regex"),
        ("dir/**", "prefix"),
        ("**/dir", "suffix"),
        ("**/dir2/*", "regex"),
        ("**file", "suffix"),
        ("a[b-d]e", "regex"),
        (".*", "regex"),
        ("abc.def", "exact"),
        ("abc?def", "regex"),
        ("**/foo/bar", "suffix"),
        ("a(b)c/def", "exact"),
    ];
    for (p, want) in cases {
        assert_eq!(kind(p), want, "{p}");
    }
}

#[test]
fn dockerignore_lines() {
    let text = "\u{feff}# comment\n  node_modules  \n\n/abs/path\n!  /keep/me\r\n \
                # not a comment\n./a/../b//c/\n!\n/\n*.log\n";
    assert_eq!(
        parse_dockerignore(text),
        [
            "node_modules",
            "abs/path",
            "!keep/me",
            "# not a comment",
            "b/c",
            "!",
            "/",
            "*.log"
        ]
    );
}

#[test]
fn clean_follows_go() {
    let cases = [
        ("", "."),
        ("a/c", "a/c"),
        ("a//c", "a/c"),
        ("a/c/.", "a/c"),
        ("a/c/b/..", "a/c"),
        ("/../a/c", "/a/c"),
        ("../../a", "../../a"),
        ("a/../..", ".."),
        ("/", "/"),
        ("./", "."),
        ("abc/def/../../..", ".."),
    ];
    for (input, want) in cases {
        assert_eq!(clean(input), want, "{input:?}");
    }
    assert_eq!(dir("a/b/c"), "a/b");
    assert_eq!(dir("a"), ".");
}

#[test]
fn a_realistic_dockerignore() {
    let text = "# dependencies\nnode_modules\n**/*.log\n!important.log\n/build\n.git\n\
                *.md\n!README*.md\n";
    let pm = PatternMatcher::new(&parse_dockerignore(text)).unwrap();
    let cases = [
        ("node_modules", true),
        ("node_modules/x/y.js", true),
        ("a/b/c.log", true),
        ("c.log", true),
        ("important.log", false),
        ("sub/important.log", true),
        ("build/out.o", true),
        ("src/build", false),
        (".git/HEAD", true),
        ("README.md", false),
        ("README-dev.md", false),
        ("CHANGELOG.md", true),
        ("docs/guide.md", false),
        ("src/main.rs", false),
        ("./src/../c.log", true),
    ];
    for (path, want) in cases {
        assert_eq!(pm.excluded(path), Ok(want), "{path}");
    }
}

#[test]
fn exceptions_below_directories() {
    let pm = PatternMatcher::new(&[
        "vendor".to_string(),
        "!vendor/keep/*.go".to_string(),
        "build".to_string(),
    ])
    .unwrap();
    assert!(pm.excluded("vendor/keep").unwrap());
    assert!(!pm.excluded("vendor/keep/a.go").unwrap());
    assert!(pm.has_exceptions_below("vendor"));
    assert!(pm.has_exceptions_below("vendor/keep"));
    assert!(!pm.has_exceptions_below("vendor/other"));
    assert!(!pm.has_exceptions_below("build"));
    let deep = PatternMatcher::new(&["*".to_string(), "!**/*.md".to_string()]).unwrap();
    assert!(deep.has_exceptions_below("anything/at/all"));
    assert!(!deep.is_empty());
    assert!(PatternMatcher::new(&[]).unwrap().is_empty());
}
