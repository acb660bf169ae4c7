//! Unit tests of the `parser` module.

use super::*;
use crate::syntax::ast::{Command, Kind};

fn one(src: &str) -> crate::syntax::ast::Instruction {
    let mut df = parse(src).unwrap();
    assert_eq!(df.instructions.len(), 1, "{src:?}");
    df.instructions.remove(0)
}

#[test]
fn directives_are_read_until_the_first_other_line() {
    let df =
        parse("# syntax=docker/dockerfile:1\n#ESCAPE = `\n# check=skip=all\nFROM a\n").unwrap();
    assert_eq!(df.directives.escape, '`');
    assert_eq!(df.directives.syntax.as_deref(), Some("docker/dockerfile:1"));
    assert_eq!(df.directives.check.as_deref(), Some("skip=all"));
    let df = parse("# hello\n# escape=`\nFROM a\n").unwrap();
    assert_eq!(df.directives.escape, '\\');
}

#[test]
fn continuation_spans_cover_all_lines() {
    let src = "FROM a\nRUN echo \\\n  # dropped\n\n  hi\n";
    let df = parse(src).unwrap();
    let run = &df.instructions[1];
    assert_eq!(run.args[0].value, "echo   hi");
    assert_eq!(run.span.line_col(src), (2, 1));
    assert_eq!(run.span.end_line(src), 5);
    let a = run.args[0].span;
    assert_eq!(&src[a.start..a.end], "echo \\\n  # dropped\n\n  hi");
}

#[test]
fn flags_and_their_spans() {
    let src = "COPY --from=build --chown=\"a b\" src /dst";
    let i = one(src);
    assert_eq!(i.flags.len(), 2);
    assert_eq!(i.flags[0].name, "from");
    assert_eq!(i.flags[0].value.as_deref(), Some("build"));
    assert_eq!(i.flags[1].value.as_deref(), Some("a b"));
    let s = i.flags[1].span;
    assert_eq!(&src[s.start..s.end], "--chown=\"a b\"");
    let s = i.args[0].span;
    assert_eq!(&src[s.start..s.end], "src");
}

#[test]
fn heredocs_follow_their_line() {
    let src = "FROM a\nRUN <<EOF\necho hi\nEOF\nCOPY <<-\"X\" /x\n\tbody $v\n\tX\nUSER me\n";
    let df = parse(src).unwrap();
    let run = &df.instructions[1];
    assert_eq!(run.heredocs.len(), 1);
    assert_eq!(run.heredocs[0].name, "EOF");
    assert_eq!(run.heredocs[0].content, "echo hi\n");
    assert!(run.heredocs[0].expand);
    assert_eq!(run.span.end_line(src), 4);
    let copy = &df.instructions[2];
    assert_eq!(copy.heredocs[0].name, "X");
    assert_eq!(copy.heredocs[0].content, "body $v\n");
    assert!(!copy.heredocs[0].expand);
    match &copy.kind {
        Kind::Copy(p) => {
            assert_eq!(p.sources[0].written().value, "<<-\"X\"");
            assert_eq!(p.dest.value, "/x");
        }
        k => panic!("{k:?}"),
    }
    assert_eq!(df.instructions[3].name(), "user");
}

#[test]
fn heredoc_in_a_quoted_string_is_not_one() {
    let i = one("RUN echo \"<<EOF\"");
    assert!(i.heredocs.is_empty());
}

#[test]
fn shell_and_exec_forms() {
    match one("CMD [\"a\", \"b\\u00e9\"]").kind {
        Kind::Cmd(Command::Exec(v)) => assert_eq!(v, ["a", "bé"]),
        k => panic!("{k:?}"),
    }
    match one("ENTRYPOINT [\"a\" \"b\"]").kind {
        Kind::Entrypoint(Command::Shell(s)) => assert_eq!(s.value, "[\"a\" \"b\"]"),
        k => panic!("{k:?}"),
    }
}

#[test]
fn json_surrogates_decode_as_go_does() {
    let i = one("CMD [\"\\ud83d\\ude00\", \"\\ud83d\"]");
    let v: Vec<_> = i.args.iter().map(|a| a.value.as_str()).collect();
    assert_eq!(v, ["😀", "\u{FFFD}"]);
}

#[test]
fn chained_onbuild_is_read_one_level_deep() {
    // 20,000 levels were each parsed again (quadratic, and as deep)
    let src = format!("FROM a\n{}RUN x\n", "ONBUILD ".repeat(20_000));
    let e = parse(&src).unwrap_err();
    assert_eq!(
        e.message,
        "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed"
    );
    assert_eq!(e.span.line_col(&src), (2, 9));
}

#[test]
fn byte_order_mark_is_skipped() {
    let i = one("\u{feff}FROM a");
    assert_eq!(i.keyword.value, "FROM");
    assert_eq!(i.keyword.span, Span::new(3, 7));
}

#[test]
fn backtick_escape_continues_lines() {
    let df = parse("# escape=`\nFROM a\nRUN dir c:\\ `\n  /w\n").unwrap();
    assert_eq!(df.instructions[1].args[0].value, "dir c:\\   /w");
}

/// Input, exact message, line:col of the error span, help.
type ErrorCase = (
    &'static str,
    &'static str,
    (usize, usize),
    Option<&'static str>,
);

const ERRORS: &[ErrorCase] = &[
    ("", "file with no instructions", (1, 1), None),
    ("# only\n\n", "file with no instructions", (3, 1), None),
    ("FROM a\nENV PATH\n", "ENV must have two arguments", (2, 5), None),
    (
        "CMD [ \"echo\", [ \"nested json\" ] ]",
        "when using JSON array syntax, arrays must be comprised of strings only",
        (1, 5),
        None,
    ),
    ("FROM a\nCOPPY . /\n", "unknown instruction: COPPY", (2, 1), Some("did you mean COPY?")),
    ("FRM a", "unknown instruction: FRM", (1, 1), Some("did you mean FROM?")),
    (
        "FROM a\nfoo bar",
        "unknown instruction: foo",
        (2, 1),
        Some("did you mean from?"),
    ),
    ("FROM a\nXYZZY", "unknown instruction: XYZZY", (2, 1), None),
    ("FROM a b", "FROM requires either one or three arguments", (1, 6), None),
    ("FROM", "FROM requires either one or three arguments", (1, 1), None),
    (
        "FROM a AS 1x",
        "invalid name for build stage: \"1x\", name can't start with a number or contain symbols",
        (1, 11),
        None,
    ),
    (
        "FROM a\nCOPY x",
        "COPY requires at least two arguments, but only one was provided. Destination could not be determined",
        (2, 6),
        None,
    ),
    (
        "FROM a\nADD [\"x\"]",
        "ADD requires at least two arguments, but only one was provided. Destination could not be determined",
        (2, 5),
        None,
    ),
    ("FROM a\nSHELL /bin/sh -c", "SHELL requires the arguments to be in JSON form", (2, 7), None),
    // BuildKit's BFlags.Parse (instructions/bflag.go)
    ("FROM a\nCOPY --chown 1:1 f /x", "missing a value on flag: --chown", (2, 6), None),
    ("FROM a\nADD --chmod 777 f /x", "missing a value on flag: --chmod", (2, 5), None),
    ("FROM a\nCOPY --exclude f /x", "missing a value on flag: --exclude", (2, 6), None),
    ("FROM a\nCOPY --link= f /x", "missing a value on flag: --link", (2, 6), None),
    (
        "FROM a\nADD --unpack=yes f /x",
        "expecting boolean value for flag --unpack, not: yes",
        (2, 5),
        None,
    ),
    (
        "FROM a\nCOPY --from=a --from=b f /x",
        "duplicate flag specified: --from",
        (2, 15),
        None,
    ),
    ("FROM --platform a", "missing a value on flag: --platform", (1, 6), None),
    ("FROM a\nWORKDIR", "WORKDIR requires exactly one argument", (2, 1), None),
    (
        "FROM a\nENV a=b c",
        "Syntax error - can't find = in \"c\". Must be of the form: name=value",
        (2, 9),
        None,
    ),
    ("FROM a\nLABEL =x", "LABEL names can not be blank", (2, 7), None),
    (
        "FROM a\nONBUILD ONBUILD RUN x",
        "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed",
        (2, 9),
        None,
    ),
    ("FROM a\nONBUILD FROM b", "FROM isn't allowed as an ONBUILD trigger", (2, 9), None),
    ("FROM a\nONBUILD", "ONBUILD requires at least one argument", (2, 1), None),
    ("FROM a\nRUN <<EOF\nx\n", "unterminated heredoc", (2, 5), None),
    (
        "FROM a\nCOPY <<EOF <<EOT\nx\nEOF\ny\nEOT\n",
        "COPY cannot accept a heredoc as a destination",
        (2, 12),
        None,
    ),
    (
        "# escape=x\nFROM a",
        "invalid escape token 'x' does not match ` or \\",
        (1, 10),
        None,
    ),
    (
        "# escape=\\\n# Escape=`\nFROM a",
        "only one escape parser directive can be used",
        (2, 10),
        None,
    ),
    ("FROM a\nHEALTHCHECK NONE x", "HEALTHCHECK NONE takes no arguments", (2, 13), None),
    ("FROM a\nVOLUME [\"\"]", "VOLUME specified can not be an empty string", (2, 9), None),
    ("FROM a\nEXPOSE", "EXPOSE requires at least one argument", (2, 1), None),
    ("FROM a\nARG", "ARG requires at least one argument", (2, 1), None),
    ("FROM a\nARG =x", "ARG names can not be blank", (2, 5), None),
];

#[test]
fn error_table() {
    let mut wrong = Vec::new();
    for (src, message, at, help) in ERRORS {
        match parse(src) {
            Ok(_) => wrong.push(format!("{src:?}: accepted")),
            Err(e) => {
                let got = (e.message.as_str(), e.span.line_col(src), e.help.as_deref());
                if got != (*message, *at, *help) {
                    wrong.push(format!("{src:?}: got {got:?}"));
                }
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn heredoc_rules_follow_buildkit() {
    // JSON form never has heredocs; ONBUILD's instruction may.
    let df = parse("FROM a\nRUN [\"<<EOF\"]\nONBUILD RUN <<X\nhi\nX\n").unwrap();
    assert!(df.instructions[1].heredocs.is_empty());
    let onbuild = &df.instructions[2];
    assert_eq!(onbuild.heredocs.len(), 1);
    assert_eq!(onbuild.heredocs[0].content, "hi\n");
    assert!(matches!(&onbuild.kind, Kind::Onbuild(child) if child.name() == "run"));
    // Two heredocs on one line: bodies in order.
    let df = parse("FROM a\nRUN <<A cat - <<B\n1\nA\n2\nB\nUSER x\n").unwrap();
    let names: Vec<_> = df.instructions[1]
        .heredocs
        .iter()
        .map(|h| (h.name.as_str(), h.content.as_str()))
        .collect();
    assert_eq!(names, [("A", "1\n"), ("B", "2\n")]);
}

/// BuildKit's `TestParseExtractsHeredoc` (without its `USER <<INVALID`,
/// which only BuildKit's raw parser accepts); bodies of `<<-` come with
/// their tabs already stripped here.
#[test]
fn buildkit_heredoc_cases() {
    let src = "FROM alpine:3.6\n\nENV NAME=me\n\nRUN ls\n\n\
        RUN <<EMPTY\nEMPTY\n\nRUN 3<<EMPTY2\nEMPTY2\n\nRUN \"<<NOHEREDOC\"\n\n\
        RUN <<INDENT\n\tfoo\n\tbar\nINDENT\n\n\
        RUN <<-UNINDENT\n\tbaz\n\tquux\nUNINDENT\n\n\
        RUN <<-UNINDENT2\n\tbaz\n\tquux\n\tUNINDENT2\n\n\
        RUN <<-EXPAND\n\texpand $NAME\nEXPAND\n\n\
        RUN <<-'NOEXPAND'\n\tdon't expand $NAME\nNOEXPAND\n\n\
        RUN <<COMMENT\n# internal comment\necho hello world\necho foo bar # trailing comment\nCOMMENT\n\n\
        RUN --mount=type=cache,target=/foo <<MOUNT\necho hello\nMOUNT\n\n\
        COPY <<FILE1 <<FILE2 /dest\ncontent 1\nFILE1\ncontent 2\nFILE2\n\n\
        COPY <<EOF /quotes\n\"foo\"\n'bar'\nEOF\n\n\
        COPY <<X <<Y /dest\nY\nX\nX\nY\n\n\
        RUN <<COMPLEX python3\nprint('hello world')\nCOMPLEX\n\n\
        COPY <<file.txt /dest\nhello world\nfile.txt\n\n\
        RUN <<eo'f'\necho foo\neof\n\n\
        RUN <<eo\\'f\necho foo\neo'f\n\n\
        RUN <<'e'o\\'f\necho foo\neo'f\n\n\
        RUN <<'one two'\necho bar\none two\n\n\
        RUN <<$EOF\n$EOF\n\n\
        RUN <<  EOF\nEOF\n\n\
        RUN <<  EOF  > foo\nEOF\n\t";
    type Doc = (&'static str, &'static str, bool);
    let want: &[&[Doc]] = &[
        &[],
        &[],
        &[("EMPTY", "", true)],
        &[("EMPTY2", "", true)],
        &[],
        &[("INDENT", "\tfoo\n\tbar\n", true)],
        &[("UNINDENT", "baz\nquux\n", true)],
        &[("UNINDENT2", "baz\nquux\n", true)],
        &[("EXPAND", "expand $NAME\n", true)],
        &[("NOEXPAND", "don't expand $NAME\n", false)],
        &[(
            "COMMENT",
            "# internal comment\necho hello world\necho foo bar # trailing comment\n",
            true,
        )],
        &[("MOUNT", "echo hello\n", true)],
        &[
            ("FILE1", "content 1\n", true),
            ("FILE2", "content 2\n", true),
        ],
        &[("EOF", "\"foo\"\n'bar'\n", true)],
        &[("X", "Y\n", true), ("Y", "X\n", true)],
        &[("COMPLEX", "print('hello world')\n", true)],
        &[("file.txt", "hello world\n", true)],
        &[("eof", "echo foo\n", false)],
        &[("eo'f", "echo foo\n", true)],
        &[("eo'f", "echo foo\n", false)],
        &[("one two", "echo bar\n", false)],
        &[("$EOF", "", true)],
        &[("EOF", "", true)],
        &[("EOF", "", true)],
    ];
    let df = parse(src).unwrap();
    assert_eq!(df.instructions.len(), want.len() + 1);
    for (i, want) in df.instructions[1..].iter().zip(want) {
        let got: Vec<(String, String, bool)> = i
            .heredocs
            .iter()
            .map(|h| (h.name.clone(), h.content.clone(), h.expand))
            .collect();
        let want: Vec<(String, String, bool)> = want
            .iter()
            .map(|(n, c, e)| (n.to_string(), c.to_string(), *e))
            .collect();
        assert_eq!(got, want, "{}", crate::syntax::dump(i));
    }
}

#[test]
fn heredoc_delimiters_as_buildkit_reads_them() {
    for word in [
        "<<EOF",
        "<<'EOF'",
        "<<\"EOF\"",
        "<<-EOF",
        "<<-'EOF'",
        "<<-\"EOF\"",
        "<<EO\"F\"",
        "<< EOF",
        "<<- EOF",
    ] {
        let got = heredoc_marker(word);
        assert!(
            matches!(&got, Ok(Some((n, _, _))) if n == "EOF"),
            "{word}: {got:?}"
        );
    }
    for word in ["<<'EOF", "<<\"EOF", "<<EOF'", "<<EOF\""] {
        assert!(heredoc_marker(word).is_err(), "{word}");
    }
    for word in ["", "EOF", "<<", "<<-", "<EOF", "<<<EOF", "<<EOF sh"] {
        assert_eq!(heredoc_marker(word), Ok(None), "{word}");
    }
}

fn values(i: &crate::syntax::ast::Instruction) -> Vec<&str> {
    i.args.iter().map(|a| a.value.as_str()).collect()
}

/// BuildKit's `TestJSONArraysOfStrings`.
#[test]
fn json_arrays_of_strings() {
    let valid: &[(&str, &[&str])] = &[
        ("[]", &[]),
        ("[\"\"]", &[""]),
        ("[\"a\"]", &["a"]),
        ("[\"a\",\"b\"]", &["a", "b"]),
        ("[ \"a\", \"b\" ]", &["a", "b"]),
        ("[\t\"a\",\t\"b\"\t]", &["a", "b"]),
        ("\t[\t\"a\",\t\"b\"\t]\t", &["a", "b"]),
        (
            r#"["abc 123", "♥", "☃", "\" \\ \/ \b \f \n \r \t \u0000"]"#,
            &["abc 123", "♥", "☃", "\" \\ / \u{8} \u{c} \n \r \t \0"],
        ),
    ];
    for (json, want) in valid {
        let i = one(&format!("CMD {json}"));
        assert!(i.json, "{json}");
        assert_eq!(values(&i), *want, "{json}");
    }
    for json in [
        r#"["a",42,"b"]"#,
        r#"["a",123.456,"b"]"#,
        r#"["a",{},"b"]"#,
        r#"["a",{"c": "d"},"b"]"#,
        r#"["a",["c"],"b"]"#,
        r#"["a",true,"b"]"#,
        r#"["a",false,"b"]"#,
        r#"["a",null,"b"]"#,
    ] {
        let e = parse(&format!("CMD {json}")).unwrap_err();
        assert!(e.message.contains("comprised of strings only"), "{json}");
    }
    // Go's encoding/json nests 10,000 deep and no deeper: one more level
    // is not JSON (shell form), whatever stack the parser has left
    let nested = |depth: usize| format!("{}{}", "[".repeat(depth), "]".repeat(depth));
    let deep = std::thread::Builder::new()
        .stack_size(256 << 20)
        .spawn(move || {
            let at_limit = parse(&format!("CMD {}", nested(10_000))).unwrap_err();
            (at_limit.message, one(&format!("CMD {}", nested(10_001))))
        })
        .unwrap()
        .join()
        .unwrap();
    assert!(deep.0.contains("comprised of strings only"), "{}", deep.0);
    assert!(!deep.1.json);
    assert_eq!(values(&deep.1), [nested(10_001)]);
    // brackets inside strings do not count
    let quoted = format!(
        "CMD [\"{}\", \"\\\"{}\"]",
        "[".repeat(20_000),
        "{".repeat(20_000)
    );
    assert!(one(&quoted).json, "brackets in strings");
    // Not JSON at all: shell form, whatever it looks like.
    for text in ["[\"a\"] x", "['a']", "[\"a\",]", "[\"a\\x\"]", "[01]"] {
        let i = one(&format!("RUN {text}"));
        assert!(!i.json, "{text}");
        assert_eq!(values(&i), [text]);
    }
}

/// BuildKit's `TestParseWords` (ARG keeps its words as parsed).
#[test]
fn words_keep_quotes_and_escapes() {
    let cases: &[(&str, &[&str])] = &[
        ("foo", &["foo"]),
        ("foo bar", &["foo", "bar"]),
        ("foo\\ bar", &["foo\\ bar"]),
        ("foo=bar", &["foo=bar"]),
        ("foo bar 'abc xyz'", &["foo", "bar", "'abc xyz'"]),
        ("foo bar \"abc xyz\"", &["foo", "bar", "\"abc xyz\""]),
        ("àöû", &["àöû"]),
        ("föo bàr \"âbc xÿz\"", &["föo", "bàr", "\"âbc xÿz\""]),
        ("a\"b c\"d 'e\\' f", &["a\"b c\"d", "'e\\'", "f"]),
    ];
    for (input, want) in cases {
        assert_eq!(values(&one(&format!("ARG {input}"))), *want, "{input}");
    }
}

/// BuildKit's `TestParseNameVal*`.
#[test]
fn name_value_forms() {
    assert_eq!(values(&one("LABEL foo bar")), ["foo", "bar", ""]);
    assert_eq!(
        values(&one("LABEL foo=bar thing=star")),
        ["foo", "bar", "=", "thing", "star", "="]
    );
    assert_eq!(values(&one("ENV a  b  c")), ["a", "b  c", ""]);
    match one("ENV a=\"x y\" b=z").kind {
        Kind::Env(kv) => {
            assert_eq!(kv[0].value.value, "\"x y\"");
            assert!(!kv[0].legacy);
            assert_eq!(kv[1].key.value, "b");
        }
        k => panic!("{k:?}"),
    }
    assert!(parse("ENV foo").is_err());
}

#[test]
fn typed_forms() {
    match one("FROM --platform=linux/amd64 golang:1 As Build").kind {
        Kind::From { image, stage_name } => {
            assert_eq!(image.value, "golang:1");
            assert_eq!(stage_name.map(|s| s.value).as_deref(), Some("build"));
        }
        k => panic!("{k:?}"),
    }
    match one("ARG a b=c d=").kind {
        Kind::Arg(decls) => {
            let got: Vec<_> = decls
                .iter()
                .map(|d| {
                    (
                        d.name.value.as_str(),
                        d.default.as_ref().map(|v| v.value.as_str()),
                    )
                })
                .collect();
            assert_eq!(got, [("a", None), ("b", Some("c")), ("d", Some(""))]);
        }
        k => panic!("{k:?}"),
    }
    match one("HEALTHCHECK --interval=5s CMD [\"curl\", \"-f\"]").kind {
        Kind::Healthcheck(crate::syntax::ast::Healthcheck::Cmd(Command::Exec(v))) => {
            assert_eq!(v, ["curl", "-f"])
        }
        k => panic!("{k:?}"),
    }
    assert!(matches!(
        one("healthcheck none").kind,
        Kind::Healthcheck(crate::syntax::ast::Healthcheck::None)
    ));
    match one("SHELL [\"pwsh\", \"-c\"]").kind {
        Kind::Shell(v) => assert_eq!(v, ["pwsh", "-c"]),
        k => panic!("{k:?}"),
    }
    match one("VOLUME [\"/a\", \"/b\"]").kind {
        Kind::Volume(v) => assert_eq!(v.len(), 2),
        k => panic!("{k:?}"),
    }
    match one("EXPOSE 80/tcp 53/udp").kind {
        Kind::Expose(v) => assert_eq!(v[1].value, "53/udp"),
        k => panic!("{k:?}"),
    }
    match one("ADD --chmod=644 a b [c] /d/").kind {
        Kind::Add(p) => {
            assert_eq!(p.sources.len(), 3);
            assert_eq!(p.dest.value, "/d/");
        }
        k => panic!("{k:?}"),
    }
    match one("user  me:grp  ").kind {
        Kind::User(u) => assert_eq!(u.value, "me:grp"),
        k => panic!("{k:?}"),
    }
    match one("MAINTAINER A B <a@b>").kind {
        Kind::Maintainer(m) => assert_eq!(m.value, "A B <a@b>"),
        k => panic!("{k:?}"),
    }
    match one("STOPSIGNAL SIGKILL").kind {
        Kind::StopSignal(s) => assert_eq!(s.value, "SIGKILL"),
        k => panic!("{k:?}"),
    }
    match one("ONBUILD ADD --chown=a . /").kind {
        Kind::Onbuild(child) => {
            assert_eq!(child.flags[0].name, "chown");
            assert!(matches!(child.kind, Kind::Add(_)));
        }
        k => panic!("{k:?}"),
    }
}

#[test]
fn crlf_line_endings() {
    let src = "FROM a\r\nRUN x \\\r\n  y\r\nENV k=v\r\n";
    let df = parse(src).unwrap();
    assert_eq!(df.instructions[1].args[0].value, "x   y");
    assert_eq!(df.instructions[1].span.end_line(src), 3);
    assert_eq!(values(&df.instructions[2]), ["k", "v", "="]);
}

#[test]
fn env_value_span_crosses_lines() {
    let src = "ENV a=1 \\\n  b=\"x \\\n y\"";
    let i = one(src);
    let v = &i.args[4];
    assert_eq!(v.value, "\"x  y\"");
    assert_eq!(&src[v.span.start..v.span.end], "\"x \\\n y\"");
    let k = &i.args[3];
    assert_eq!(&src[k.span.start..k.span.end], "b");
}

#[test]
fn large_files_parse_in_linear_time() {
    let mut src = String::from("FROM a\n");
    for n in 0..5000 {
        src.push_str(&format!("RUN echo {n} \\\n  && true\n# c\n"));
    }
    let start = std::time::Instant::now();
    let df = parse(&src).unwrap();
    assert_eq!(df.instructions.len(), 5001);
    assert!(start.elapsed().as_secs() < 10, "{:?}", start.elapsed());
}
