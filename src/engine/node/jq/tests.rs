//! jq 1.6's outputs, error words and exit statuses, each compared with the
//! real jq 1.6 (Debian 12's 1.6-2.1) on the same input.

use indexmap::IndexMap;
use std::rc::Rc;

use super::eval::{Env, Machine};
use super::parse::parse;
use super::value::{number_text, parse_one, Json};
use crate::engine::node::commands::{Cmd, PodIdentity, SystemInfo};
use crate::engine::node::container_fs::{Mounts, RootFs, ViewMut};
use crate::engine::node::filesystem::{Fs, Inode};
use crate::engine::node::images::Base;

/// Runs `jq ARGS` on `stdin`: its stdout, stderr and status.
fn jq(args: &[&str], stdin: &str) -> (String, String, i32) {
    let mut root = RootFs::new(Rc::new(Fs::new()), false);
    root.upper_mut().insert("/", Inode::dir(0o755, 0));
    root.upper_mut().insert("/p.json", Inode::file("{\"a\":1}\n", 0o644, 0));
    let mut disk = Fs::new();
    let mut mounts = Mounts::default();
    let mut view = ViewMut { root: &mut root, mounts: &mut mounts, disk: &mut disk, now: 0, user: &crate::engine::node::identity::ROOT };
    let info = SystemInfo {
        hostname: "learner".into(),
        base: Base::Debian,
        kernel: "6.8.0-60-generic".into(),
        now: Some(0),
        processes: vec![],
        mounts: vec![],
        tty: false,
        pod: PodIdentity::default(),
    };
    let env = IndexMap::from([("HOME".to_string(), "/root".to_string())]);
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let mut cmd = Cmd { name: "jq", args: &args, stdin, out: String::new(), err: String::new(), err_marks: Vec::new(), files: &mut view, cwd: "/", env: &env, info: &info };
    let status = super::run(&mut cmd);
    (cmd.out, cmd.err, status)
}

/// The outputs of a filter on one input, compact, one a line.
fn eval(filter: &str, input: &str) -> String {
    let ast = parse(filter).unwrap_or_else(|e| panic!("{filter}: {}", e.message));
    let machine = Machine::new(Default::default(), Json::Null);
    let input = parse_one(input).unwrap_or(Json::Null);
    let mut out = String::new();
    let result = machine.eval(&ast, input, &Env::default(), &mut |v| {
        out.push_str(&super::value::compact(&v));
        out.push('\n');
        Ok(())
    });
    if let Err(super::eval::Stop::Error(Json::String(e))) = result {
        out.push_str(&format!("error: {e}\n"));
    }
    out
}

#[test]
fn numbers_print_as_jq_1_6_prints_them() {
    let cases = [
        (1.0, "1"),
        (2.5, "2.5"),
        (1e17, "1e+17"),
        (1e16, "1e+16"),
        (1e15, "1000000000000000"),
        (12345678901234567.0, "12345678901234568"),
        (0.0001, "0.0001"),
        (0.00001, "1e-05"),
        (1.5e-7, "1.5e-07"),
        (-1.5e300, "-1.5e+300"),
        (f64::INFINITY, "1.7976931348623157e+308"),
        (-0.0, "-0"),
        (123456789012.0, "123456789012"),
    ];
    for (n, text) in cases {
        assert_eq!(number_text(n), text, "{n}");
    }
}

#[test]
fn output_keeps_the_inputs_key_order_and_indents_by_two() {
    let input = "{\"b\":1,\"a\":[1,{\"c\":null}],\"e\":{},\"f\":\"x\\u0001é\\u007f\"}";
    let (out, _, status) = jq(&["."], input);
    assert_eq!(out, "{\n  \"b\": 1,\n  \"a\": [\n    1,\n    {\n      \"c\": null\n    }\n  ],\n  \"e\": {},\n  \"f\": \"x\\u0001é\\u007f\"\n}\n");
    assert_eq!(status, 0);
    assert_eq!(jq(&["-S", "-c", "."], "{\"b\":1,\"a\":{\"d\":1,\"c\":2}}").0, "{\"a\":{\"c\":2,\"d\":1},\"b\":1}\n");
    assert_eq!(jq(&["--tab", "."], "[1]").0, "[\n\t1\n]\n");
    assert_eq!(jq(&["-a", "."], "\"é\"").0, "\"\\u00e9\"\n");
    assert_eq!(jq(&["-r", ".[]"], "[\"a\\tb\",1,[2]]").0, "a\tb\n1\n[\n  2\n]\n");
    assert_eq!(jq(&["-j", ".[]"], "[\"a\",1]").0, "a1");
    assert_eq!(jq(&["-s", "-c", "."], "1 2\n3").0, "[1,2,3]\n");
    assert_eq!(jq(&["-R", "."], "a\nb\n").0, "\"a\"\n\"b\"\n");
    assert_eq!(jq(&["-c", "--arg", "x", "1", "--argjson", "y", "{\"a\":2}", "-n", "[$x, $y]"], "").0, "[\"1\",{\"a\":2}]\n");
    assert_eq!(jq(&[".a", "p.json"], "").0, "1\n");
}

#[test]
fn paths_filters_and_builtins_compute_what_jq_does() {
    let pods = r#"{"items":[{"metadata":{"name":"a","labels":{"app":"web","tier":"fe"}},"status":{"phase":"Running"}},{"metadata":{"name":"b"},"status":{"phase":"Pending"}}]}"#;
    let cases = [
        (".items[].metadata.name", "\"a\"\n\"b\"\n"),
        (".items | length", "2\n"),
        (".items[] | select(.status.phase==\"Running\") | .metadata.name", "\"a\"\n"),
        (".items[0].metadata.labels | to_entries[] | \"\\(.key)=\\(.value)\"", "\"app=web\"\n\"tier=fe\"\n"),
        (".items[0].metadata.labels | keys", "[\"app\",\"tier\"]\n"),
        ("[.items[] | {name: .metadata.name}]", "[{\"name\":\"a\"},{\"name\":\"b\"}]\n"),
        (".items | group_by(.status.phase) | map({(.[0].status.phase): length}) | add", "{\"Pending\":1,\"Running\":1}\n"),
        ("del(.items[0].metadata.labels.tier) | .items[0].metadata.labels", "{\"app\":\"web\"}\n"),
        (".items[1].status.phase = \"Done\" | [.items[].status.phase]", "[\"Running\",\"Done\"]\n"),
        (".items[0].metadata | with_entries(select(.key == \"name\"))", "{\"name\":\"a\"}\n"),
        ("[.items[] | .metadata.labels // {} | keys_unsorted | length]", "[2,0]\n"),
        ("[paths(type == \"string\")] | length", "6\n"),
        ("[.. | strings] | first, last", "\"a\"\n\"Pending\"\n"),
        ("reduce .items[] as $p (0; . + 1)", "2\n"),
        ("[.items[].metadata.name] | join(\",\")", "\"a,b\"\n"),
    ];
    for (filter, want) in cases {
        assert_eq!(eval(filter, pods), want, "{filter}");
    }
    let scalars = [
        ("[limit(0; 1,2)], [limit(2; range(10))], [range(0;10;3)]", "null", "[1]\n[0,1]\n[0,3,6,9]\n"),
        ("[3,1,2] | sort, unique_by(. % 2), min_by(.), max_by(.)", "null", "[1,2,3]\n[2,3]\n1\n3\n"),
        ("1/3, -5 % 3, (\"a\" * 0), ([1,2,2] - [2]), ({a:{b:1}} * {a:{c:2}}), (\"x,y\" / \",\")", "null",
         "0.3333333333333333\n-2\nnull\n[1]\n{\"a\":{\"b\":1,\"c\":2}}\n[\"x\",\"y\"]\n"),
        ("[1,null,\"a\",true] | join(\"-\")", "null", "\"1--a-true\"\n"),
        ("\"a-b\" | test(\"A\"; \"i\"), sub(\"-\"; \"+\"), ltrimstr(\"a\"), (@base64 | @base64d)", "null", "true\n\"a+b\"\n\"-b\"\n\"a-b\"\n"),
        ("[1,\"a\\\"b\",null] | @csv, @tsv, @json, @sh", "null", "\"1,\\\"a\\\"\\\"b\\\",\"\n\"1\\ta\\\"b\\t\"\n\"[1,\\\"a\\\\\\\"b\\\",null]\"\n\"1 'a\\\"b' null\"\n"),
        ("try error(\"x\") catch ., (.a? // \"d\"), [.[]?]", "5", "\"x\"\n\"d\"\n[]\n"),
        (".a.b |= . + 1, (.a.b += 2), getpath([\"a\",\"b\"]), [paths]", "{\"a\":{\"b\":1}}", "{\"a\":{\"b\":2}}\n{\"a\":{\"b\":3}}\n1\n[[\"a\"],[\"a\",\"b\"]]\n"),
        (".[1:], .[-1], .[1.5], (.[2] = 9)", "[1,2]", "[2]\n2\nnull\n[1,2,9]\n"),
        ("if . == 1 then \"one\" elif . == 2 then \"two\" else \"many\" end", "2", "\"two\"\n"),
        (". as $x | [$x, $x + 1] | map(tostring) | add | tonumber", "1", "12\n"),
        ("[1,[2,[3]]] | flatten, flatten(1)", "null", "[1,2,3]\n[1,2,[3]]\n"),
        ("{\"k\":\"v\"} | from_entries", "null", "error: Cannot index string with string \"key\"\n"),
        ("[{\"name\":\"x\",\"value\":1},{\"k\":\"y\",\"v\":2}] | from_entries", "null", "{\"x\":1,\"y\":2}\n"),
        ("\"a\" + 1", "null", "error: string (\"a\") and number (1) cannot be added\n"),
        (".foo", "[1]", "error: Cannot index array with string \"foo\"\n"),
        (".[0]", "{}", "error: Cannot index object with number\n"),
        ("length", "true", "error: boolean (true) has no length\n"),
        (".[]", "null", "error: Cannot iterate over null (null)\n"),
        ("{} + 1", "null", "error: object ({}) and number (1) cannot be added\n"),
        ("{a:\"a very long text\"} | . + 1", "null", "error: object ({\"a\":\"a ver...) and number (1) cannot be added\n"),
    ];
    for (filter, input, want) in scalars {
        assert_eq!(eval(filter, input), want, "{filter}");
    }
}

#[test]
fn errors_and_exit_statuses_are_jq_1_6s() {
    let (out, err, status) = jq(&[".foo"], "[1,2]\n");
    assert_eq!((out.as_str(), err.as_str(), status), ("", "jq: error (at <stdin>:1): Cannot index array with string \"foo\"\n", 5));
    // The line is the one read when the value ended; `-n`'s is unknown.
    assert_eq!(
        jq(&[".a.b"], "{\n\"a\":1\n}\n\n[1]\n").1,
        "jq: error (at <stdin>:3): Cannot index number with string \"b\"\njq: error (at <stdin>:5): Cannot index array with string \"a\"\n"
    );
    assert_eq!(jq(&[".a"], "[1]").1, "jq: error (at <stdin>:0): Cannot index array with string \"a\"\n");
    assert_eq!(jq(&["-n", "error({a:1})"], "").1, "jq: error (at <unknown>) (not a string): {\"a\":1}\n");
    // The status is the last input's.
    assert_eq!(jq(&["if . == 1 then error(\"x\") else . end"], "1 2\n").2, 0);
    assert_eq!(jq(&["-e", "."], "null").2, 1);
    assert_eq!(jq(&["-e", "empty"], "1").2, 4);
    assert_eq!(jq(&["-e", ".a"], "{\"a\":0}").2, 0);
    assert_eq!(jq(&["."], "").2, 0);
    // Compile errors: bison's words, the line padded to where, status 3.
    assert_eq!(jq(&["-n", ".a |"], ""), (String::new(), "jq: error: syntax error, unexpected $end (Unix shell quoting issues?) at <top-level>, line 1:\n.a |   \njq: 1 compile error\n".into(), 3));
    assert_eq!(jq(&["-n", "1 then"], "").1, "jq: error: syntax error, unexpected then, expecting $end (Unix shell quoting issues?) at <top-level>, line 1:\n1 then  \njq: 1 compile error\n");
    assert_eq!(jq(&["-n", ")"], "").1, "jq: error: syntax error, unexpected INVALID_CHARACTER, expecting $end (Unix shell quoting issues?) at <top-level>, line 1:\n)\njq: 1 compile error\n");
    assert_eq!(jq(&["-n", "{a:1+2}"], "").1, "jq: error: syntax error, unexpected '+', expecting '}' (Unix shell quoting issues?) at <top-level>, line 1:\n{a:1+2}    \njq: 1 compile error\n");
    assert_eq!(jq(&["-n", "if 1 then 2"], "").1, "jq: error: syntax error, unexpected $end (Unix shell quoting issues?) at <top-level>, line 1:\nif 1 then 2          \njq: error: Possibly unterminated 'if' statement at <top-level>, line 1:\nif 1 then 2\njq: 2 compile errors\n");
    assert_eq!(jq(&["-n", "[3,1]|sort|foo"], "").1, "jq: error: foo/0 is not defined at <top-level>, line 1:\n[3,1]|sort|foo           \njq: 1 compile error\n");
    assert_eq!(jq(&["-n", "$z"], ""), (String::new(), "jq: error: $z is not defined at <top-level>, line 1:\n$z\njq: 1 compile error\n".into(), 3));
    // What the subset leaves out is refused by name, never run wrongly.
    assert!(jq(&["-n", "now"], "").1.starts_with("jq: error: now/0 is a jq 1.6 builtin this simulation does not have"));
    assert!(jq(&["-n", "def f: 1; f"], "").1.contains("def (function definitions) is not simulated here"));
    // Bad input: jq's parser's words; status 4 as Debian's 1.6 exits.
    assert_eq!(jq(&["."], "{\n"), (String::new(), "parse error: Unfinished JSON term at EOF at line 2, column 0\n".into(), 4));
    // kubectl's table is not JSON: found at the delimiter after the word.
    assert_eq!(jq(&["."], "NAME   READY\n").1, "parse error: Invalid numeric literal at line 1, column 5\n");
    assert_eq!(jq(&["."], "NAME\n").1, "parse error: Invalid numeric literal at line 2, column 0\n");
    assert_eq!(jq(&["."], "tru x").1, "parse error: Invalid literal at line 1, column 4\n");
    assert_eq!(jq(&["."], "[1,]").1, "parse error: Expected another array element at line 1, column 4\n");
    assert_eq!(jq(&["."], "{\"a\" 1}").1, "parse error: Expected separator between values at line 1, column 7\n");
    assert_eq!(jq(&[".a"], "{\"a\":1} xx"), ("1\n".into(), "parse error: Invalid numeric literal at EOF at line 1, column 10\n".into(), 4));
    // Options and files.
    assert_eq!(jq(&["-Z"], "").1, "jq: Unknown option -Z\nUse jq --help for help with command-line options,\nor see the jq manpage, or online docs  at https://stedolan.github.io/jq\n");
    assert_eq!(jq(&["--argjson", "x", "{", "."], "").2, 2);
    assert_eq!(jq(&[".", "nofile"], ""), (String::new(), "jq: error: Could not open file nofile: No such file or directory\n".into(), 2));
    assert_eq!(jq(&["--version"], "").0, "jq-1.6\n");
}

#[test]
fn no_input_makes_it_panic() {
    // Deep nesting, odd bytes and half-written programs end in words, not a panic.
    let deep = "[".repeat(100_000);
    let _ = jq(&["."], &deep);
    let _ = jq(&["-n", &"(".repeat(2_000)], "");
    for program in ["\"\\", "\"\\é", ".[", "{(", "reduce", "@", "$", "..a", "try", "if", ".a as", "\"\\(", "[.[]?] | .[1e300]", "limit(1e300; 1)"] {
        let _ = jq(&["-n", program], "");
    }
    for input in ["\"\\ud800\"", "\"\\u12\"", "-", "1e99999", "[1,2", "{\"a\":}", "\u{0}"] {
        let _ = jq(&["-c", "., (.. |= .), [paths], tostring"], input);
    }
    let _ = jq(&["-n", "[limit(5; repeat(1))], [range(0; 5; 0)] | length"], "");
    let _ = jq(&["-n", "[nan, 1, nan] | sort, unique"], "");
    assert!(jq(&["-n", "setpath([range(100000) | 0]; 1)"], "").1.contains("not simulated"));
    assert!(jq(&["-n", "[1] | .[1e12] = 1"], "").1.contains("too large"));
}

#[test]
fn deep_programs_fit_the_pages_stack() {
    // The page runs on a 1 MiB stack: what a loop builds, and a recursion
    // as deep as the evaluator allows, must fit in it.
    let run = || {
        for program in [
            "reduce range(100000) as $i (null; [.]) | length",
            "reduce range(100000) as $i (null; {a: .}) | length",
            "reduce range(3000) as $i ([1]; group_by(.)) | length",
            "[foreach range(100000) as $i (null; [.])] | length",
            "[recurse(if . < 2000 then .+1 else empty end)] | length",
            "[limit(2000; repeat(.))] | length",
            "last(range(5000) as $i | 1)",
            "[.] | until(length > 100000; [.]) | length",
        ] {
            let (_, err, status) = jq(&["-n", program], "");
            assert!(status == 0 || err.contains("in this simulation") || err.contains("not simulated here"), "{program}: {err}");
        }
    };
    let handle = std::thread::Builder::new().stack_size(1 << 20).spawn(run);
    assert!(handle.is_ok_and(|h| h.join().is_ok()));
}

#[test]
fn repeat_gives_the_outputs_of_its_filter_on_the_same_input_as_jq_1_6_does() {
    // jq 1.6: `jq -nc '[limit(6; 1 | repeat(.+1, .+10))]'` prints [2,11,2,11,2,11].
    assert_eq!(jq(&["-nc", "[limit(6; 1 | repeat(.+1, .+10))]"], "").0, "[2,11,2,11,2,11]\n");
    assert_eq!(jq(&["-nc", "[1|recurse(if . < 4 then .+1 else empty end)]"], "").0, "[1,2,3,4]\n");
}

#[test]
fn long_chains_fit_the_pages_stack() {
    // A chain of `|`, `,`, `//`, `as` or suffixes is as deep as it is long,
    // to read and to run: every length up to far past the limit, on the
    // page's 1 MiB stack.
    let chains = || {
        for n in (1..=140).chain([1_000, 20_000]) {
            for program in [
                format!("1{}", " | .".repeat(n)),
                format!("1{}", " + 1".repeat(n)),
                format!("1{}", ", 1".repeat(n)),
                format!("1{}", " // 1".repeat(n)),
                format!("0 | {}1", "-".repeat(n)),
                format!("{} .", "1 as $x |".repeat(n)),
                format!("{{}}{}", ".a".repeat(n)),
                format!("[1]{}", "[0]".repeat(n)),
                format!("1{}", " and true".repeat(n)),
                format!("{{a: 1{}}}", " | .".repeat(n)),
            ] {
                let (_, err, status) = jq(&["-n", &program], "");
                assert!(status == 0 || status == 5 || err.contains("not simulated here") || err.contains("nesting deeper"), "{program}: {status} {err}");
            }
        }
    };
    let handle = std::thread::Builder::new().stack_size(1 << 20).spawn(chains);
    assert!(handle.is_ok_and(|h| h.join().is_ok()));
}
