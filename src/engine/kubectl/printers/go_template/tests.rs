use super::*;

/// The object kubectl hands the template in the cases below: a ConfigMap
/// with numbers, nulls, lists and maps of every kind JSON has.
const OBJECT: &str = r#"{"apiVersion":"v1","extra":{"a":1000000.5,"b":1000000,"c":0.00001,"d":12345678,"e":1e+21,"f":100000000000000000000,"g":3,"h":true,"i":null,"j":[1,"x",null,{"z":1}],"k":1.5},"kind":"ConfigMap","metadata":{"labels":{"x":"y"},"name":"demo"}}"#;

fn object() -> Value {
    serde_json::from_str(OBJECT).unwrap()
}

/// What kubectl would print: the output, and on failure its error line.
fn run(template: &str) -> (String, Option<String>) {
    match Template::parse(template) {
        Err(e) => (String::new(), Some(format!("error: error parsing template {template}, {e}"))),
        Ok(t) => {
            let mut out = String::new();
            match t.execute(&object(), false, &mut out) {
                Ok(()) => (out, None),
                Err(e) => (out, Some(format!("error: error executing template {}: {e}", go_quote(template)))),
            }
        }
    }
}

#[test]
fn templates_print_what_kubectl_prints() {
    for (template, expected) in CASES {
        assert_eq!(run(template), (expected.to_string(), None), "{template}");
    }
}

#[test]
fn templates_fail_where_and_as_kubectl_fails() {
    for (template, written, error) in FAILURES {
        assert_eq!(run(template), (written.to_string(), Some(error.to_string())), "{template}");
    }
}

#[test]
fn missing_keys_fail_when_not_allowed() {
    let t = Template::parse("{{.metadata.nope}}").unwrap();
    let mut out = String::new();
    assert_eq!(t.execute(&object(), true, &mut out), Err(r#"template: output:1:11: executing "output" at <.metadata.nope>: map has no entry for key "nope""#.to_string()));
    let t = Template::parse("{{.nope.x}}").unwrap();
    assert_eq!(t.execute(&object(), true, &mut out), Err(r#"template: output:1:7: executing "output" at <.nope.x>: map has no entry for key "nope""#.to_string()));
}

#[test]
fn hostile_templates_end_with_an_error_not_a_crash() {
    let deep_parens = format!("{{{{{}1{}}}}}", "(".repeat(10_000), ")".repeat(10_000));
    assert!(Template::parse(&deep_parens).unwrap_err().contains("max expression depth exceeded"));
    let deep_ifs = format!("{}{}", "{{if 1}}".repeat(10_000), "{{end}}".repeat(10_000));
    assert!(Template::parse(&deep_ifs).unwrap_err().contains("max expression depth exceeded"));
    let recursive = Template::parse(r#"{{define "r"}}{{template "r" .}}{{end}}{{template "r" .}}"#).unwrap();
    let mut out = String::new();
    assert!(recursive.execute(&object(), false, &mut out).unwrap_err().contains("exceeded maximum template depth (64)"));
    let long = Template::parse("{{range 100000000}}x{{end}}").unwrap();
    assert!(long.execute(&object(), false, &mut String::new()).unwrap_err().contains("1000000"));
    let wide = Template::parse("{{range 1000000}}{{printf \"%100000d\" 1}}{{end}}").unwrap();
    assert!(wide.execute(&object(), false, &mut String::new()).unwrap_err().contains("bytes"));
    for text in ["{{", "}}", "{{.", "{{$", "{{'", "{{\"", "{{`", "{{/*", "{{-", "{{(", "{{)", "{{range", "{{else}}", "{{end}}{{", "{{0x}}", "{{1e}}", "{{.a.b.c.}}", "\u{0}{{\u{0}}}", "{{printf \"%9999999999d\" 1}}"] {
        if let Ok(t) = Template::parse(text) {
            let _ = t.execute(&object(), false, &mut String::new());
        }
    }
}

// Expected outputs are kubectl 1.33.1's, from `kubectl label --local -f obj.yaml x=y -o go-template=…` on the object in `OBJECT`.
const CASES: &[(&str, &str)] = &[
    (r#"{{.extra}}"#, r#"map[a:1.0000005e+06 b:1000000 c:1e-05 d:12345678 e:1e+21 f:1e+20 g:3 h:true i:<nil> j:[1 x <nil> map[z:1]] k:1.5]"#),
    (r#"{{.extra.a}}|{{.extra.b}}|{{.extra.c}}|{{.extra.d}}|{{.extra.e}}|{{.extra.f}}|{{.extra.k}}"#, r#"1.0000005e+06|1000000|1e-05|12345678|1e+21|1e+20|1.5"#),
    (r#"{{.extra.j}}"#, r#"[1 x <nil> map[z:1]]"#),
    (r#"{{printf "%v %d %s %q %5.2f %x %t" .extra.k .extra.g .metadata.name .metadata.name .extra.k .extra.g .extra.h}}"#, r#"1.5 3 demo "demo"  1.50 3 true"#),
    (r#"{{len .extra.j}} {{index .extra.j 1}} {{slice .metadata.name 1 3}}"#, r#"4 x em"#),
    (r#"{{.metadata.creationTimestamp}}|{{.status}}|{{.nope}}|{{.nope.deeper}}"#, r#"<no value>|<no value>|<no value>|<no value>"#),
    (r#"{{.extra.i}}"#, r#"<no value>"#),
    (r#"{{range .extra.j}}[{{.}}]{{end}}"#, r#"[1][x][<no value>][map[z:1]]"#),
    (r#"{{range $i, $e := .extra.j}}{{$i}}={{$e}};{{end}}"#, r#"0=1;1=x;2=<no value>;3=map[z:1];"#),
    (r#"{{range $k, $v := .extra}}{{$k}}:{{$v}} {{end}}"#, r#"a:1.0000005e+06 b:1000000 c:1e-05 d:12345678 e:1e+21 f:1e+20 g:3 h:true i:<no value> j:[1 x <nil> map[z:1]] k:1.5 "#),
    (r#"{{range .nope}}x{{else}}empty{{end}}"#, r#"empty"#),
    (r#"{{if .extra.h}}yes{{else}}no{{end}} {{if .nope}}a{{else if .extra.g}}b{{end}}"#, r#"yes b"#),
    (r#"{{with .metadata}}{{.name}}{{end}} {{with .nope}}x{{else}}none{{end}}"#, r#"demo none"#),
    (r#"{{- .metadata.name -}}   {{  .metadata.name }}"#, r#"demodemo"#),
    (r#"a  {{- /* c */ -}}  b"#, r#"ab"#),
    (r#"{{$x := .metadata.name}}{{$x}} {{$x = "y"}}{{$x}}"#, r#"demo y"#),
    (r#"{{eq .metadata.name "demo"}} {{ne .extra.g 3}} {{lt .extra.g 4}} {{eq .extra.g 1 2 3}} {{le 1.5 2.5}} {{gt "b" "a"}}"#, r#"true false true true true true"#),
    (r#"{{eq .nope "x"}}"#, r#"false"#),
    (r#"{{print 1 2 "a" "b" 3}}|{{println 1 "a"}}|{{html "<a href='x'>&"}}|{{js "a'b\"<"}}|{{urlquery "a b&c"}}"#, r#"1 2ab3|1 a
|&lt;a href=&#39;x&#39;&gt;&amp;|a\'b\"\u003C|a+b%26c"#),
    (r#"{{index .extra "a"}} {{index .extra "zz"}} {{index .extra.j 3 "z"}}"#, r#"1.0000005e+06 <no value> 1"#),
    (r#"{{exists .extra "j" 3 "z"}} {{exists .extra "j" 7}} {{exists .extra "i"}}"#, r#"true false false"#),
    (r#"{{.metadata.name | printf "%s!"}} {{"x" | len}}"#, r#"demo! 1"#),
    (r#"{{(index .extra.j 3).z}}"#, r#"1"#),
    (r#"{{range 3}}{{.}}{{end}}"#, r#"012"#),
    (r#"{{range $i, $e := .extra.j}}{{if eq $i 2}}{{break}}{{end}}{{$e}}{{end}}"#, r#"1x"#),
    (r#"{{range .extra.j}}{{if not .}}{{continue}}{{end}}<{{.}}>{{end}}"#, r#"<1><x><map[z:1]>"#),
    (r#"{{define "t"}}T{{.}}{{end}}{{template "t" .metadata.name}}"#, r#"Tdemo"#),
    (r#"{{printf "%d" "x"}} {{printf "%s"}} {{printf "%s" 1 2}} {{printf "%6.2f|%-5d|%05d|%+d|%e|%g|%.3g" 3.14159 42 42 42 1234.5678 0.000012345 1234.5678}}"#, r#"%!d(string=x) %!s(MISSING) %!s(int=1)%!(EXTRA int=2)   3.14|42   |00042|+42|1.234568e+03|1.2345e-05|1.23e+03"#),
    (r#"{{printf "%v %v %v" .extra.j .extra .nope}}"#, r#"[1 x <nil> map[z:1]] map[a:1.0000005e+06 b:1000000 c:1e-05 d:12345678 e:1e+21 f:1e+20 g:3 h:true i:<nil> j:[1 x <nil> map[z:1]] k:1.5] <nil>"#),
    (r#"{{printf "%T %T %T %T" .extra.g .extra.k .metadata.name .extra.j}}"#, r#"int64 float64 string []interface {}"#),
    (r#"{{printf "%q" 'x'}} {{0x1F}} {{1e3}} {{-2}} {{1_000}}"#, r#"'x' 31 1000 -2 1000"#),
    (r#"{{.extra.j | len | printf "%03d"}}"#, r#"004"#),
    (r#"{{index .metadata.name 1}}"#, r#"101"#),
    (r#"{{.extra.k | printf "%.0f"}} {{printf "%v" 100000.5}} {{printf "%v" 1000000.5}} {{printf "%g" 123456789.0}}"#, r#"2 100000.5 1.0000005e+06 1.23456789e+08"#),
    (r#"{{range .metadata.labels}}{{.}}{{end}}"#, r#"y"#),
    (r#"{{(.metadata).name}} {{(printf "%s" "x")}}"#, r#"demo x"#),
    (r#"{{with .extra.j}}{{index . 3 "z"}}{{end}}"#, r#"1"#),
    (r#"{{range $k, $v := .metadata.labels}}{{$k}}={{$v}}{{"\n"}}{{end}}"#, r#"x=y
"#),
    (r#"{{printf "%s %10s|%-10s|%.2s" .metadata.name .metadata.name .metadata.name .metadata.name}}"#, r#"demo       demo|demo      |de"#),
    (r#"{{printf "%d %5d %x %X %o %b %c %U" .extra.g .extra.g 255 255 8 5 65 65}}"#, r#"3     3 ff FF 10 101 A U+0041"#),
    (r#"{{printf "%v|%+v|%#v" .extra.j .extra.j .metadata.name}}"#, r#"[1 x <nil> map[z:1]]|[1 x <nil> map[z:1]]|"demo""#),
    (r#"{{printf "%s" .extra.j}} {{printf "%d" .extra.j}} {{printf "%s" .extra.g}}"#, r#"[%!s(int64=1) x <nil> map[z:%!s(int64=1)]] [1 %!d(string=x) <nil> map[%!d(string=z):1]] %!s(int64=3)"#),
    (r#"{{printf "%t %v" .extra.h .extra.h}} {{printf "%5t|" true}}"#, r#"true true  true|"#),
    (r#"{{printf "%e %E %.2e %f %.1f %g %G" 1234.5678 0.000123 1234.5678 1.0 2.25 1e21 1e-7}}"#, r#"1.234568e+03 1.230000E-04 1.23e+03 1.000000 2.2 1e+21 1E-07"#),
    (r#"{{printf "%6.2f|%-8.3f|%08.3f|%+.1e" 3.14159 2.5 -2.5 12345.678}}"#, r#"  3.14|2.500   |-002.500|+1.2e+04"#),
    (r#"{{printf "%%|%5%|%z" 1}}"#, r#"%|%|%!z(int=1)"#),
    (r#"{{printf "%!" }}"#, r#"%!!(MISSING)"#),
    (r#"{{println}}{{print}}{{print nil}}{{print .nope}}"#, r#"
<nil><nil>"#),
    (r#"{{len "héllo"}} {{index "héllo" 1}} {{slice "héllo" 1 3}}"#, r#"6 195 é"#),
    (r#"{{eq .nope .nope}} {{eq .extra.i .nope}} {{ne "a" "b"}}"#, r#"true true true"#),
    (r#"{{html .extra.j}} {{urlquery "é/?"}} {{js "é\u2028"}}"#, r#"[1 x &lt;nil&gt; map[z:1]] %C3%A9%2F%3F é\u2028"#),
    (r#"{{.extra.k | printf "%v"}} {{3 | printf "%d-%d" 4}}"#, r#"1.5 4-3"#),
    (r#"{{printf "%v" 0.1}} {{printf "%v" 1e-5}} {{printf "%v" 123456.7}} {{printf "%v" -0.0}} {{printf "%.3v" 3.14159}}"#, r#"0.1 1e-05 123456.7 -0 3.14"#),
    (r#"{{$ := 1}}"#, r#""#),
    (r#"{{$x := 1}}{{$x := 2}}{{$x}}"#, r#"2"#),
    (r#"{{range $i := .extra.j}}{{$i}}{{end}}"#, r#"1x<no value>map[z:1]"#),
    (r#"{{range .extra.g}}{{.}}{{end}}"#, r#"012"#),
    (r#"{{if .extra.i}}t{{else}}f{{end}}{{if .extra.j}}t{{end}}{{if 0.0}}t{{else}}f{{end}}"#, r#"ftf"#),
    (r#"{{- "x" }}   {{ "y" -}}"#, r#"x   y"#),
    (r#" a {{- 3 -}} b "#, r#" a3b "#),
    (r#"{{3}} {{-3}} {{- 3}}"#, r#"3 -33"#),
];
/// (template, what it wrote before failing, kubectl's error line).
const FAILURES: &[(&str, &str, &str)] = &[
    (r#"{{.extra.i.x}}"#, r#""#, r#"error: error executing template "{{.extra.i.x}}": template: output:1:8: executing "output" at <.extra.i.x>: nil pointer evaluating interface {}.x"#),
    (r#"{{.metadata.name.x}}"#, r#""#, r#"error: error executing template "{{.metadata.name.x}}": template: output:1:11: executing "output" at <.metadata.name.x>: can't evaluate field x in type interface {}"#),
    (r#"{{range .extra.j}}{{.z}}{{end}}"#, r#""#, r#"error: error executing template "{{range .extra.j}}{{.z}}{{end}}": template: output:1:20: executing "output" at <.z>: can't evaluate field z in type interface {}"#),
    (r#"{{eq .extra.g "3"}}"#, r#""#, r#"error: error executing template "{{eq .extra.g \"3\"}}": template: output:1:2: executing "output" at <eq .extra.g "3">: error calling eq: incompatible types for comparison"#),
    (r#"{{lt .extra.g 1.5}}"#, r#""#, r#"error: error executing template "{{lt .extra.g 1.5}}": template: output:1:2: executing "output" at <lt .extra.g 1.5>: error calling lt: incompatible types for comparison"#),
    (r#"{{and 1 0 2}} {{or 0 "" "x"}} {{not .nope}} {{and}}"#, r#"0 x true "#, r#"error: error executing template "{{and 1 0 2}} {{or 0 \"\" \"x\"}} {{not .nope}} {{and}}": template: output:1:46: executing "output" at <and>: wrong number of args for and: want at least 1 got 0"#),
    (r#"{{index .extra.j 9}}"#, r#""#, r#"error: error executing template "{{index .extra.j 9}}": template: output:1:2: executing "output" at <index .extra.j 9>: error calling index: index out of range: 9"#),
    (r#"{{index .extra.j 4}}"#, r#""#, r#"error: error executing template "{{index .extra.j 4}}": template: output:1:2: executing "output" at <index .extra.j 4>: error calling index: reflect: slice index out of range"#),
    (r#"{{index .nope 1}}"#, r#""#, r#"error: error executing template "{{index .nope 1}}": template: output:1:2: executing "output" at <index .nope 1>: error calling index: index of untyped nil"#),
    (r#"{{len .nope}}"#, r#""#, r#"error: error executing template "{{len .nope}}": template: output:1:2: executing "output" at <len .nope>: error calling len: reflect: call of reflect.Value.Type on zero Value"#),
    (r#"{{len .extra.i}}"#, r#""#, r#"error: error executing template "{{len .extra.i}}": template: output:1:2: executing "output" at <len .extra.i>: error calling len: len of nil pointer"#),
    (r#"{{len .extra.g}}"#, r#""#, r#"error: error executing template "{{len .extra.g}}": template: output:1:2: executing "output" at <len .extra.g>: error calling len: len of type int64"#),
    (r#"{{base64decode "aGVsbG8="}} {{base64decode "!!"}}"#, r#"hello "#, r#"error: error executing template "{{base64decode \"aGVsbG8=\"}} {{base64decode \"!!\"}}": template: output:1:30: executing "output" at <base64decode "!!">: error calling base64decode: base64 decode failed: illegal base64 data at input byte 0"#),
    (r#"{{.metadata.name "x"}}"#, r#""#, r#"error: error executing template "{{.metadata.name \"x\"}}": template: output:1:11: executing "output" at <.metadata.name>: name is not a method but has arguments"#),
    (r#"{{nope}}"#, r#""#, r#"error: error parsing template {{nope}}, template: output:1: function "nope" not defined"#),
    (r#"{{.metadata.name"#, r#""#, r#"error: error parsing template {{.metadata.name, template: output:1: unclosed action"#),
    (r#"{{end}}"#, r#""#, r#"error: error parsing template {{end}}, template: output:1: unexpected {{end}}"#),
    (r#"{{if .x}}"#, r#""#, r#"error: error parsing template {{if .x}}, template: output:1: unexpected EOF"#),
    (r#"{{range}}{{end}}"#, r#""#, r#"error: error parsing template {{range}}{{end}}, template: output:1: missing value for range"#),
    (r#"{{else}}"#, r#""#, r#"error: error parsing template {{else}}, template: output:1: unexpected {{else}}"#),
    (r#"{{.a | "x"}}"#, r#""#, r#"error: error parsing template {{.a | "x"}}, template: output:1: non executable command in pipeline stage 2"#),
    (r#"{{3.x}}"#, r#""#, r#"error: error parsing template {{3.x}}, template: output:1: bad number syntax: "3.x""#),
    (r#"{{$undefined}}"#, r#""#, r#"error: error parsing template {{$undefined}}, template: output:1: undefined variable "$undefined""#),
    (r#"{{"unterminated}}"#, r#""#, r#"error: error parsing template {{"unterminated}}, template: output:1: unterminated quoted string"#),
    (r#"{{1 2}}"#, r#""#, r#"error: error executing template "{{1 2}}": template: output:1:2: executing "output" at <1>: can't give argument to non-function 1"#),
    (r#"{{.a.}}"#, r#""#, r#"error: error parsing template {{.a.}}, template: output:1: unexpected <.> in operand"#),
    (r#"{{slice .extra.j 1 9}}"#, r#""#, r#"error: error executing template "{{slice .extra.j 1 9}}": template: output:1:2: executing "output" at <slice .extra.j 1 9>: error calling slice: index out of range: 9"#),
    (r#"{{slice .metadata.name 3 1}}"#, r#""#, r#"error: error executing template "{{slice .metadata.name 3 1}}": template: output:1:2: executing "output" at <slice .metadata.name 3 1>: error calling slice: invalid slice index: 3 > 1"#),
    (r#"{{if}}{{end}}"#, r#""#, r#"error: error parsing template {{if}}{{end}}, template: output:1: missing value for if"#),
    (r#"{{range $i, $e, $f := .x}}{{end}}"#, r#""#, r#"error: error parsing template {{range $i, $e, $f := .x}}{{end}}, template: output:1: too many declarations in range"#),
    (r#"{{with $x := .metadata}}{{$x.name}}{{end}}{{$x}}"#, r#""#, r#"error: error parsing template {{with $x := .metadata}}{{$x.name}}{{end}}{{$x}}, template: output:1: undefined variable "$x""#),
    (r#"{{/* unclosed"#, r#""#, r#"error: error parsing template {{/* unclosed, template: output:1: unclosed comment"#),
    (r#"{{/* c */ x}}"#, r#""#, r#"error: error parsing template {{/* c */ x}}, template: output:1: comment ends before closing delimiter"#),
    (r#"{{.metadata.name}}{{end}}"#, r#""#, r#"error: error parsing template {{.metadata.name}}{{end}}, template: output:1: unexpected {{end}}"#),
    (r#"{{if .a}}x{{else}}y{{else}}z{{end}}"#, r#""#, r#"error: error parsing template {{if .a}}x{{else}}y{{else}}z{{end}}, template: output:1: expected end; found {{else}}"#),
    (r#"{{break}}"#, r#""#, r#"error: error parsing template {{break}}, template: output:1: {{break}} outside {{range}}"#),
    (r#"{{range .extra.j}}{{break 1}}{{end}}"#, r#""#, r#"error: error parsing template {{range .extra.j}}{{break 1}}{{end}}, template: output:1: unexpected "1" in {{break}}"#),
    (r#"{{define "x"}}{{end}}{{template "y"}}"#, r#""#, r#"error: error executing template "{{define \"x\"}}{{end}}{{template \"y\"}}": template: output:1:32: executing "output" at <{{template "y"}}>: template "y" not defined"#),
    (r#"{{template "x"}}"#, r#""#, r#"error: error executing template "{{template \"x\"}}": template: output:1:11: executing "output" at <{{template "x"}}>: template "x" not defined"#),
    (r#"{{'ab'}}"#, r#""#, r#"error: error parsing template {{'ab'}}, template: output:1: malformed character constant: 'ab'"#),
    (r#"{{"a" "b"}}"#, r#""#, r#"error: error executing template "{{\"a\" \"b\"}}": template: output:1:2: executing "output" at <"a">: can't give argument to non-function "a""#),
    (r#"{{.extra.g.h.i}}"#, r#""#, r#"error: error executing template "{{.extra.g.h.i}}": template: output:1:8: executing "output" at <.extra.g.h.i>: can't evaluate field h in type interface {}"#),
    (r#"{{nil}}"#, r#""#, r#"error: error executing template "{{nil}}": template: output:1:2: executing "output" at <nil>: nil is not a command"#),
    (r#"{{nil.x}}"#, r#""#, r#"error: error parsing template {{nil.x}}, template: output:1: unexpected . after term "nil""#),
    (r#"{{eq .extra.j .extra.j}}"#, r#""#, r#"error: error executing template "{{eq .extra.j .extra.j}}": template: output:1:2: executing "output" at <eq .extra.j .extra.j>: error calling eq: non-comparable type [%!s(int64=1) x <nil> map[z:%!s(int64=1)]]: []interface {}"#),
    (r#"{{eq .metadata .metadata}}"#, r#""#, r#"error: error executing template "{{eq .metadata .metadata}}": template: output:1:2: executing "output" at <eq .metadata .metadata>: error calling eq: non-comparable type map[labels:map[x:y] name:demo]: map[string]interface {}"#),
    (r#"{{range $i, $v := 3}}{{end}}"#, r#""#, r#"error: error executing template "{{range $i, $v := 3}}{{end}}": template: output:1:18: executing "output" at <3>: can't use 3 to iterate over more than one variable"#),
    (r#"{{range "abc"}}{{end}}"#, r#""#, r#"error: error executing template "{{range \"abc\"}}{{end}}": template: output:1:8: executing "output" at <"abc">: range can't iterate over abc"#),
];

#[test]
fn the_deepest_template_allowed_runs_on_the_pages_stack() {
    let ifs = format!("{}x{}", "{{if 1}}".repeat(MAX_NESTING - 1), "{{end}}".repeat(MAX_NESTING - 1));
    let parens = format!("{{{{len {}\"ab\"{}}}}}", "(print ".repeat(MAX_NESTING - 1), ")".repeat(MAX_NESTING - 1));
    let mixed = format!("{}{{{{.metadata.name}}}}{}", "{{range $i, $e := .extra.j}}{{with $}}".repeat((MAX_NESTING - 1) / 2), "{{break}}{{end}}{{end}}".repeat((MAX_NESTING - 1) / 2));
    // A template that calls itself, each call as deep as a body may be.
    let body = format!("{}{{{{template \"r\" .}}}}{}", "{{if (print (print 1))}}".repeat(MAX_NESTING - 3), "{{end}}".repeat(MAX_NESTING - 3));
    let recursive = format!("{{{{define \"r\"}}}}{body}{{{{end}}}}{{{{template \"r\" .}}}}");
    let run = move || {
        for text in [&ifs, &parens, &mixed] {
            let t = Template::parse(text).unwrap();
            let mut out = String::new();
            t.execute(&object(), false, &mut out).unwrap();
            assert!(!out.is_empty());
        }
        let t = Template::parse(&recursive).unwrap();
        assert!(t.execute(&object(), false, &mut String::new()).unwrap_err().contains("exceeded maximum template depth (64)"));
    };
    std::thread::Builder::new().stack_size(1 << 20).spawn(run).unwrap().join().unwrap();
}
