//! Unit tests of the `expand` module.

use super::pattern::*;
use super::*;

fn env() -> BTreeMap<String, String> {
    [
        ("PWD", "/home"),
        ("EMPTY", ""),
        ("FILE", "archive.tar.gz"),
        ("PATHV", "/usr/local/bin:/usr/bin"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

fn word(w: &str) -> Result<String, ExpandError> {
    Lexer::new('\\').process_word(w, &env())
}

#[test]
fn expands_the_pattern_modifiers() {
    let cases = [
        ("${FILE#*.}", "tar.gz"),
        ("${FILE##*.}", "gz"),
        ("${FILE%.*}", "archive.tar"),
        ("${FILE%%.*}", "archive"),
        ("${FILE#nomatch}", "archive.tar.gz"),
        ("${FILE%%?z}", "archive.tar."),
        ("${FILE/a/A}", "Archive.tar.gz"),
        ("${FILE//a/A}", "Archive.tAr.gz"),
        ("${PATHV//:/ }", "/usr/local/bin /usr/bin"),
        ("${PATHV/\\/usr/}", "/local/bin:/usr/bin"),
        ("${FILE/*./X}", "Xgz"),
        ("${FILE//x*/}", "archive.tar.gz"),
        ("${UNSET//a/b}", ""),
        ("${FILE#\\*}", "archive.tar.gz"),
        ("${FILE#\\*}", "archive.tar.gz"),
        ("${FILE//?/$$}", ""),
    ];
    for (input, want) in cases {
        assert_eq!(word(input).as_deref(), Ok(want), "{input}");
    }
}

#[test]
fn replace_all_with_empty_matches_follows_go() {
    // Go: regexp.MustCompile(`.*`).ReplaceAllString("ab", "-") == "-"
    // and an empty pattern on "ab" gives "-a-b-".
    assert_eq!(word("${FILE//*/-}"), Ok("-".to_string()));
    let v: BTreeMap<String, String> = [("V".to_string(), "ab".to_string())].into();
    let lx = Lexer::new('\\');
    assert_eq!(lx.process_word("${V///-}", &v), Ok("-a-b-".to_string()));
    assert_eq!(lx.process_word("${V//x*/-}", &v), Ok("ab".to_string()));
    // The kept escape is literal text for Go's template, `$` at its end too.
    assert_eq!(lx.process_word("${V//?/\\$}", &v), Ok("\\$\\$".to_string()));
    assert_eq!(lx.process_word("${V/?/\\$}", &v), Ok("\\$b".to_string()));
}

#[test]
fn error_messages_are_buildkits() {
    let cases = [
        ("${X:?}", "X: is not allowed to be unset"),
        ("${EMPTY:?}", "EMPTY: is not allowed to be empty"),
        ("${X?custom message}", "X: custom message"),
        ("${X:=1}", "unsupported modifier (:=) in substitution"),
        ("${X.}", "unsupported modifier (.) in substitution"),
        ("${X", "syntax error: missing '}'"),
        ("${X:-a", "syntax error: missing '}'"),
        ("${X/a", "syntax error: missing '/' in ${}"),
        ("${}", "syntax error: bad substitution"),
        (
            "'abc",
            "unexpected end of statement while looking for matching single-quote",
        ),
        (
            "\"abc",
            "unexpected end of statement while looking for matching double-quote",
        ),
        (
            "${FILE#\\a}",
            "invalid pattern (\\a) in substitution: invalid escape '\\a'",
        ),
    ];
    for (input, want) in cases {
        match word(input) {
            Err(e) => assert_eq!(e.to_string(), want, "{input}"),
            Ok(v) => panic!("{input}: expected an error, got {v:?}"),
        }
    }
}

#[test]
fn matches_lists_found_names_only() {
    let (out, found) = Lexer::new('\\')
        .process_word_with_matches("$PWD ${NOPE:-x} ${EMPTY:+y} $PWD", &env())
        .unwrap();
    assert_eq!(out, "/home x  /home");
    let found: Vec<_> = found.into_iter().collect();
    assert_eq!(found, ["EMPTY", "PWD"]);
}

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// BuildKit's TestProcessWithMatches table: input, environment, result
/// (`None`: an error) and the names reported as found.
#[test]
fn buildkit_process_with_matches_table() {
    type Case = (
        &'static str,
        &'static [(&'static str, &'static str)],
        Option<&'static str>,
        &'static [&'static str],
    );
    let fb: &[(&str, &str)] = &[("FOO", "xxx"), ("BAR", "")];
    let cases: &[Case] = &[
        ("x", &[("DUMMY", "dummy")], Some("x"), &[]),
        ("x ${UNUSED}", &[("DUMMY", "dummy")], Some("x "), &[]),
        ("x ${FOO}", &[("FOO", "y")], Some("x y"), &["FOO"]),
        (
            "${FOO-aaa} ${BAR-bbb} ${BAZ-ccc}",
            fb,
            Some("xxx  ccc"),
            &["BAR", "FOO"],
        ),
        (
            "${FOO:-aaa} ${BAR:-bbb} ${BAZ:-ccc}",
            fb,
            Some("xxx bbb ccc"),
            &["BAR", "FOO"],
        ),
        ("${FOO:-}", fb, Some("xxx"), &["FOO"]),
        ("${FOO:-}", &[], Some(""), &[]),
        (
            "${FOO+aaa} ${BAR+bbb} ${BAZ+ccc}",
            fb,
            Some("aaa bbb "),
            &["BAR", "FOO"],
        ),
        (
            "${FOO:+aaa} ${BAR:+bbb} ${BAZ:+ccc}",
            fb,
            Some("aaa  "),
            &["BAR", "FOO"],
        ),
        ("${FOO?aaa}", fb, Some("xxx"), &["FOO"]),
        ("${BAR?bbb}", fb, Some(""), &["BAR"]),
        ("${BAZ?ccc}", fb, None, &[]),
        ("${FOO:?aaa}", fb, Some("xxx"), &["FOO"]),
        ("${BAR:?bbb}", fb, None, &[]),
        ("${BAZ:?ccc}", fb, None, &[]),
        ("${BAZ:?}", fb, None, &[]),
        ("${FOO=aaa}", fb, None, &[]),
        ("${FOO=:aaa}", fb, None, &[]),
        ("${FOO=}", &[], None, &[]),
        (
            r"${FOO#()[]{\}^$.\*\?|\\}",
            &[("FOO", r"()[]{}^$.*?|\x")],
            Some("x"),
            &["FOO"],
        ),
        (r"${FOO%%\**}", &[("FOO", "xx**")], Some("xx"), &["FOO"]),
        ("${FOO#*x*y}", &[("FOO", "xxyy")], Some("y"), &["FOO"]),
        ("${FOO#*}", &[("FOO", "xxyy")], Some("xxyy"), &["FOO"]),
        (
            "${FOO#$BAR}",
            &[("FOO", "xxyy"), ("BAR", "x")],
            Some("xyy"),
            &["BAR", "FOO"],
        ),
        (
            "${FOO#$BAR}",
            &[("FOO", "xxyy"), ("BAR", "")],
            Some("xxyy"),
            &["BAR", "FOO"],
        ),
        ("${FOO#}", &[("FOO", "xxyy")], Some("xxyy"), &["FOO"]),
        ("${FOO##*x}", &[("FOO", "xxyy")], Some("yy"), &["FOO"]),
        ("${FOO##}", &[("FOO", "xxyy")], Some("xxyy"), &["FOO"]),
        (r"${FOO#?\?}", &[("FOO", "???y")], Some("?y"), &["FOO"]),
        (
            "${ABC:-.}${FOO%x}${ABC:-.}",
            &[("FOO", "xxyy")],
            Some(".xxyy."),
            &["FOO"],
        ),
        (r"${FOO%%\**\*}", &[("FOO", "a***yy*")], Some("a"), &["FOO"]),
        ("${FOO%}", &[("FOO", "xxyy")], Some("xxyy"), &["FOO"]),
        (
            "${FOO%%$BAR}",
            &[("FOO", "xxyy"), ("BAR", "")],
            Some("xxyy"),
            &["BAR", "FOO"],
        ),
        (
            "${FOO/$NEEDLE/.} - ${FOO//$NEEDLE/.}",
            &[("FOO", "/foo*/*/*.txt"), ("NEEDLE", r"\*/")],
            Some("/foo.*/*.txt - /foo..*.txt"),
            &["FOO", "NEEDLE"],
        ),
        (
            "${FOO/$NEEDLE/} - ${FOO//$NEEDLE/}",
            &[("FOO", "/tmp/tmp/bar.txt"), ("NEEDLE", "/tmp")],
            Some("/tmp/bar.txt - /bar.txt"),
            &["FOO", "NEEDLE"],
        ),
        (
            "${FOO/$NEEDLE/$REPLACEMENT} - ${FOO//$NEEDLE/$REPLACEMENT}",
            &[
                ("FOO", "/a/foo/b/c.txt"),
                ("NEEDLE", "/?/"),
                ("REPLACEMENT", "/"),
            ],
            Some("/foo/b/c.txt - /foo/c.txt"),
            &["FOO", "NEEDLE", "REPLACEMENT"],
        ),
        (
            "${FOO/$NEEDLE/$REPLACEMENT}",
            &[
                ("FOO", "http://google.de"),
                ("NEEDLE", "http://"),
                ("REPLACEMENT", "https://"),
            ],
            Some("https://google.de"),
            &["FOO", "NEEDLE", "REPLACEMENT"],
        ),
        (
            r"${FOO//\//\/}",
            &[("FOO", "/tmp/foo.txt")],
            Some(r"\/tmp\/foo.txt"),
            &["FOO"],
        ),
        (
            "${FOO/$BAR/ww}",
            &[("FOO", "xxyy"), ("BAR", "")],
            Some("wwxxyy"),
            &["BAR", "FOO"],
        ),
        ("${FOO//ww}", &[("FOO", "xxyy")], None, &[]),
        ("${FOO//}", &[("FOO", "xxyy")], None, &[]),
        ("${FOO///}", &[("FOO", "xxyy")], Some("xxyy"), &["FOO"]),
        ("${FOO///}", &[], Some(""), &[]),
    ];
    let lx = Lexer::new('\\');
    let mut failures = Vec::new();
    for &(input, env, want, want_found) in cases {
        let got = lx.process_word_with_matches(input, &map(env));
        let ok = match (&got, want) {
            (Err(_), None) => true,
            (Ok((w, found)), Some(want)) => {
                w == want
                    && found
                        .iter()
                        .map(String::as_str)
                        .eq(want_found.iter().copied())
            }
            _ => false,
        };
        if !ok {
            failures.push(format!(
                "{input:?}: want {want:?} {want_found:?}, got {got:?}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// BuildKit's TestShellParserMandatoryEnvVars and TestProcessWithMatchesPlatform.
#[test]
fn buildkit_mandatory_and_platform_cases() {
    let lx = Lexer::new('\\');
    let set = map(&[("VAR", "plain"), ("ARG", "x")]);
    let empty = map(&[("VAR", ""), ("ARG", "x")]);
    let unset = map(&[("ARG", "x")]);
    let no_empty = "${VAR:?message here$ARG}";
    let no_unset = "${VAR?message here$ARG}";
    assert_eq!(lx.process_word(no_empty, &set), Ok("plain".to_string()));
    let err = lx.process_word(no_empty, &empty).unwrap_err();
    assert_eq!(err.to_string(), "VAR: message herex");
    let err = lx.process_word(no_empty, &unset).unwrap_err();
    assert_eq!(err.to_string(), "VAR: message herex");
    assert_eq!(lx.process_word(no_unset, &set), Ok("plain".to_string()));
    assert_eq!(lx.process_word(no_unset, &empty), Ok(String::new()));
    let err = lx.process_word(no_unset, &unset).unwrap_err();
    assert_eq!(err.to_string(), "VAR: message herex");

    let release = "something-${VERSION}.${TARGETOS}-${TARGETARCH}\
                   ${TARGETVARIANT:+-${TARGETVARIANT}}.tar.gz";
    let base = [("VERSION", "v1.2.3"), ("TARGETOS", "linux")];
    let with = |extra: &[(&'static str, &'static str)]| {
        let mut m = map(&base);
        m.extend(map(extra));
        lx.process_word(release, &m)
    };
    let arm7 = with(&[("TARGETARCH", "arm"), ("TARGETVARIANT", "v7")]);
    assert_eq!(arm7.as_deref(), Ok("something-v1.2.3.linux-arm-v7.tar.gz"));
    let arm64 = with(&[("TARGETARCH", "arm64"), ("TARGETVARIANT", "")]);
    assert_eq!(arm64.as_deref(), Ok("something-v1.2.3.linux-arm64.tar.gz"));
    let arm64 = with(&[("TARGETARCH", "arm64")]);
    assert_eq!(arm64.as_deref(), Ok("something-v1.2.3.linux-arm64.tar.gz"));
}

#[test]
fn reverse_pattern_keeps_escapes_in_front() {
    let cases = [
        (r"a\*c", r"c\*a"),
        (r"\\\ab", r"b\a\\"),
        (r"ab\", r"\ba"),
        (r"👽\🚀🖖", r"🖖\🚀👽"),
        (r"\\b", r"b\\"),
    ];
    for (input, want) in cases {
        assert_eq!(reverse_pattern(input), want, "{input}");
    }
    for bad in [r"\", r"\x", r"\\\"] {
        assert!(Glob::parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn backtick_escape_directive() {
    let lx = Lexer::new('`');
    assert_eq!(lx.process_word("a`$PWD", &env()), Ok("a$PWD".to_string()));
    assert_eq!(
        lx.process_word("c:\\dir", &env()),
        Ok("c:\\dir".to_string())
    );
    assert_eq!(
        lx.process_word("\"a``b`\"\"", &env()),
        Ok("a`b\"".to_string())
    );
}

#[test]
fn pair_lists_let_the_last_occurrence_win() {
    let vars = vec![
        ("A".to_string(), "1".to_string()),
        ("A".to_string(), "2".to_string()),
    ];
    let lx = Lexer::new('\\');
    assert_eq!(lx.process_word("$A", &vars.as_slice()), Ok("2".to_string()));
    assert_eq!(lx.process_word("$A", &vars), Ok("2".to_string()));
    let h: HashMap<String, String> = [("A".to_string(), "3".to_string())].into();
    assert_eq!(lx.process_word("$A", &h), Ok("3".to_string()));
}

#[test]
fn newline_is_not_matched_by_wildcards() {
    let v: BTreeMap<String, String> = [("V".to_string(), "a\nb".to_string())].into();
    let lx = Lexer::new('\\');
    assert_eq!(lx.process_word("${V#*b}", &v), Ok("a\nb".to_string()));
    assert_eq!(lx.process_word("${V#a?}", &v), Ok("a\nb".to_string()));
}

#[test]
fn skip_process_quotes_keeps_quotes_and_expands_variables() {
    let vars: Vec<(String, String)> = vec![("NAME".into(), "world".into())];
    let lexer = Lexer::new('\\').skip_process_quotes(true);
    assert_eq!(
        lexer.process_word("say 'hi' \"$NAME\"\n", &vars).unwrap(),
        "say 'hi' \"world\"\n"
    );
    assert_eq!(
        Lexer::new('\\').process_word("'$NAME'", &vars).unwrap(),
        "$NAME"
    );
}

#[test]
fn nesting_deeper_than_the_limit_is_refused_before_recursing() {
    let lx = Lexer::new('\\');
    let nested = |n: usize| format!("{}x{}", "${A:-".repeat(n), "}".repeat(n));
    assert_eq!(lx.process_word(&nested(MAX_DEPTH), &env()), Ok("x".into()));
    // 12,000 levels overflowed the stack before the limit
    for n in [MAX_DEPTH + 1, 12_000] {
        assert_eq!(
            lx.process_word(&nested(n), &env()),
            Err(ExpandError::TooDeep { limit: MAX_DEPTH })
        );
    }
    let patterns = format!("${{A/{}x/y}}", "${A#".repeat(200));
    assert_eq!(
        lx.process_word(&patterns, &env()),
        Err(ExpandError::TooDeep { limit: MAX_DEPTH })
    );
}

#[test]
fn words_longer_than_the_limit_are_refused() {
    let lx = Lexer::new('\\');
    let half: BTreeMap<String, String> =
        [("A".to_string(), "x".repeat(MAX_WORD_BYTES / 2 + 1))].into();
    let too_long = Err(ExpandError::TooLong {
        limit: MAX_WORD_BYTES,
    });
    assert_eq!(
        lx.process_word("$A", &half).map(|v| v.len()),
        Ok(MAX_WORD_BYTES / 2 + 1)
    );
    assert_eq!(lx.process_word("$A$A", &half), too_long);
    assert_eq!(lx.process_word("\"$A$A\"", &half), too_long);
    assert_eq!(lx.process_word("${A//x/yy}", &half), too_long);
    assert_eq!(lx.process_word("${NOPE:-$A$A}", &half), too_long);
    let small = Lexer::new('\\').word_limit(4);
    assert_eq!(small.process_word("abcd", &half), Ok("abcd".into()));
    assert_eq!(
        small.process_word("abcde", &half),
        Err(ExpandError::TooLong { limit: 4 })
    );
}

#[test]
fn replace_all_over_a_long_value_is_linear() {
    // 100 KB took seconds with a match search per start position
    let v: BTreeMap<String, String> = [("X".to_string(), "a".repeat(100_000))].into();
    let lx = Lexer::new('\\');
    let out = lx.process_word("${X//a/bb}", &v).unwrap();
    assert_eq!(out.len(), 200_000);
    let out = lx.process_word("${X//a*a/b}", &v).unwrap();
    assert_eq!(out, "b");
    let out = lx.process_word("${X/?/b}${X%%a*}${X#*a}", &v).unwrap();
    assert_eq!(out.len(), 100_000 + 99_999);
}
