use super::*;

fn activation(object: serde_json::Value) -> Activation {
    Activation::new(Value::from_json(&object), Value::Null, Value::Null, Value::Null, Value::Null, Vec::new())
}

fn run(src: &str, object: serde_json::Value) -> Result<Value, String> {
    let program = compile(src, &Declarations::default(), Returns::Any).map_err(|e| format!("{e:?}"))?;
    program.eval(&activation(object))
}

fn yes(src: &str) {
    assert_eq!(run(src, serde_json::json!({})), Ok(Value::Bool(true)), "{src}");
}

#[test]
fn the_docs_examples() {
    let deploy = serde_json::json!({"spec": {"replicas": 6, "template": {"spec": {"containers": [{"name": "a", "image": "nginx:1.2"}]}}}, "metadata": {"labels": {"env": "prod"}}});
    assert_eq!(run("object.spec.replicas <= 5", deploy.clone()), Ok(Value::Bool(false)));
    assert_eq!(run("object.spec.template.spec.containers.all(c, c.image.contains(':'))", deploy.clone()), Ok(Value::Bool(true)));
    assert_eq!(run("has(object.metadata.labels) && 'env' in object.metadata.labels", deploy.clone()), Ok(Value::Bool(true)));
    assert_eq!(run("has(object.spec.paused)", deploy.clone()), Ok(Value::Bool(false)));
    assert_eq!(run("object.spec.nope > 1", deploy.clone()), Err("no such key: nope".to_string()));
    assert_eq!(run("object.spec.template.spec.containers[3]", deploy), Err("index '3' out of range in list size '1'".to_string()));
}

#[test]
fn operators_and_errors() {
    yes("1 + 2 * 3 == 7");
    yes("7 / 2 == 3 && 7 % 2 == 1");
    yes("-5 < 3 && 3u > 2u && 2.5 > 2");
    yes("'ab' + 'c' == 'abc'");
    yes("[1, 2] + [3] == [1, 2, 3]");
    yes("{'a': 1}['a'] == 1");
    yes("2 in [1, 2] && !(4 in [1, 2])");
    yes("true ? 1 == 1 : false");
    yes("dyn(1) == 1.0 && dyn(2u) == 2");
    assert_eq!(run("9223372036854775807 + 1", serde_json::json!({})), Err("integer overflow".to_string()));
    assert_eq!(run("1 / 0", serde_json::json!({})), Err("division by zero".to_string()));
    assert_eq!(run("1 % 0", serde_json::json!({})), Err("modulus by zero".to_string()));
    assert_eq!(run("0u - 1u", serde_json::json!({})), Err("unsigned integer overflow".to_string()));
}

#[test]
fn logic_is_commutative_over_errors() {
    let o = serde_json::json!({"a": 1});
    assert_eq!(run("object.b == 1 && false", o.clone()), Ok(Value::Bool(false)));
    assert_eq!(run("false && object.b == 1", o.clone()), Ok(Value::Bool(false)));
    assert_eq!(run("object.b == 1 || true", o.clone()), Ok(Value::Bool(true)));
    assert_eq!(run("object.b == 1 || false", o.clone()), Err("no such key: b".to_string()));
    assert_eq!(run("[0, 1].all(x, 1 / x > 0)", o.clone()), Err("division by zero".to_string()));
    assert_eq!(run("[0, -1].all(x, 1 / x > 0)", o.clone()), Ok(Value::Bool(false)));
    assert_eq!(run("[0, 1].exists(x, 1 / x > 0)", o), Ok(Value::Bool(true)));
}

#[test]
fn strings_lists_and_macros() {
    yes("'Hello'.lowerAscii() == 'hello' && 'x'.upperAscii() == 'X'");
    yes("'a,b,c'.split(',') == ['a', 'b', 'c'] && ['a', 'b'].join('-') == 'a-b'");
    yes("'a,b,c'.split(',', 2) == ['a', 'b,c']");
    yes("'hello'.indexOf('l') == 2 && 'hello'.lastIndexOf('l') == 3 && 'héllo'.indexOf('l') == 2");
    yes("'aaa'.indexOf('aa', 1) == 1 && 'hello'.lastIndexOf('zz') == -1");
    yes("'hello'.replace('l', 'L') == 'heLLo' && 'hello'.replace('l', 'L', 1) == 'heLlo'");
    yes("'héllo'.size() == 5 && size([1, 2]) == 2");
    yes("'nginx:1.2'.matches('^[a-z]+:[0-9.]+$') && matches('abc', 'b')");
    yes("'hello'.substring(1, 3) == 'el' && 'hello'.charAt(1) == 'e'");
    yes("[1, 2, 3].map(x, x * 2) == [2, 4, 6] && [1, 2, 3].filter(x, x > 1) == [2, 3]");
    yes("[1, 2, 3].map(x, x > 1, x * 10) == [20, 30]");
    yes("[1, 2, 3].exists_one(x, x == 2) && !([1, 2, 2].exists_one(x, x == 2))");
    yes("{'a': 1, 'b': 2}.all(k, k.size() == 1)");
    yes("int('42') == 42 && string(42) == '42' && double(1) == 1.0 && uint(3) == 3u");
    yes("type(1) == int && type('a') == string && type([]) == list");
    yes("[3, 1, 2].min() == 1 && [3, 1, 2].max() == 3 && [1, 2].sum() == 3 && [1, 2].isSorted()");
    yes("quantity('1Gi').isGreaterThan(quantity('1000Mi')) && quantity('500m').compareTo(quantity('0.5')) == 0");
    yes("quantity('1').add(2).asInteger() == 3 && isQuantity('1Ki') && !isQuantity('x')");
}

#[test]
fn compile_errors_are_worded_as_cel_go_words_them() {
    let d = Declarations::default();
    assert_eq!(
        compile("foo == 1", &d, Returns::Bool),
        Err(CompileError::Cel("ERROR: <input>:1:1: undeclared reference to 'foo' (in container '')\n | foo == 1\n | ^".to_string()))
    );
    assert_eq!(
        compile("object.x == 1 && 1 + 'a' == 2", &d, Returns::Bool),
        Err(CompileError::Cel("ERROR: <input>:1:20: found no matching overload for '_+_' applied to '(int, string)'\n | object.x == 1 && 1 + 'a' == 2\n | ...................^".to_string()))
    );
    assert_eq!(compile("1 + 1", &d, Returns::Bool), Err(CompileError::Returns("must evaluate to bool".to_string())));
    // A dyn operand takes the other's type, as cel-go's overloads resolve it.
    assert_eq!(compile("object.spec.replicas + 1", &d, Returns::Bool), Err(CompileError::Returns("must evaluate to bool".to_string())));
    assert!(compile("object.a + object.b", &d, Returns::Bool).is_ok());
    assert!(compile("object.a == 1 && object.b in ['x']", &d, Returns::Bool).is_ok());
    assert!(matches!(compile("params.x", &d, Returns::Any), Err(CompileError::Cel(_))));
    assert!(compile("params.x", &Declarations { params: true, variables: vec![], rule: None }, Returns::Any).is_ok());
    assert!(matches!(compile("variables.foo", &d, Returns::Any), Err(CompileError::Cel(m)) if m.contains("undefined field 'foo'")));
    assert!(compile("url('https://x').getHost() == 'x'", &d, Returns::Bool).is_ok());
    assert!(matches!(compile("authorizer.group('').resource('x').check('get').allowed()", &d, Returns::Bool), Err(CompileError::Unsupported(_))));
    assert!(compile("object.?spec.optMap(object, object)", &d, Returns::Any).is_ok());
    assert!(matches!(compile("object.spec.replicas <=", &d, Returns::Bool), Err(CompileError::Cel(m)) if m.starts_with("ERROR: <input>:1:24: Syntax error:")));
}

#[test]
fn variables_are_evaluated_once_in_order() {
    let d = Declarations { params: false, variables: vec!["names".to_string()], rule: None };
    let names = compile("object.items.map(i, i.name)", &Declarations::default(), Returns::Any).unwrap();
    let program = compile("variables.names.all(n, n.startsWith('a'))", &d, Returns::Bool).unwrap();
    let object = Value::from_json(&serde_json::json!({"items": [{"name": "ab"}, {"name": "ac"}]}));
    let activation = Activation::new(object, Value::Null, Value::Null, Value::Null, Value::Null, vec![Lazy::new("names".to_string(), names)]);
    assert_eq!(program.eval(&activation), Ok(Value::Bool(true)));
}

#[test]
fn hostile_expressions_are_bounded() {
    // Exponential work through nested comprehensions stops at the cost limit.
    let nested = "[1,2,3,4,5,6,7,8,9,10].all(a, [1,2,3,4,5,6,7,8,9,10].all(b, [1,2,3,4,5,6,7,8,9,10].all(c, [1,2,3,4,5,6,7,8,9,10].all(d, [1,2,3,4,5,6,7,8,9,10].all(e, [1,2,3,4,5,6,7,8,9,10].all(f, a + b + c + d + e + f > 0))))))";
    assert_eq!(run(nested, serde_json::json!({})), Err(eval::COST_LIMIT_EXCEEDED.to_string()));
    // A string doubled through variables is charged by its length.
    let d: Vec<String> = (0..40).map(|i| format!("v{i}")).collect();
    let mut lazies = vec![Lazy::new("v0".to_string(), compile("'xxxxxxxxxxxxxxxx'", &Declarations::default(), Returns::Any).unwrap())];
    for i in 1..40 {
        let decl = Declarations { params: false, variables: d[..i].to_vec(), rule: None };
        let src = format!("variables.v{} + variables.v{}", i - 1, i - 1);
        lazies.push(Lazy::new(format!("v{i}"), compile(&src, &decl, Returns::Any).unwrap()));
    }
    let decl = Declarations { params: false, variables: d.clone(), rule: None };
    let program = compile("variables.v39.size() > 0", &decl, Returns::Bool).unwrap();
    let activation = Activation::new(Value::Null, Value::Null, Value::Null, Value::Null, Value::Null, lazies);
    assert!(program.eval(&activation).is_err());
    // Odd input never panics.
    for src in ["", "(", ")", "[", "{", "'", "\"", "a.", "a[", "1..2", "0x", "1e", "'\\x'", "'\\u12'", "r", "-", "!", "a ? b", "{1:2,", "é", "'é'.charAt(5)", "'é'.lastIndexOf('x', 1)"] {
        let _ = compile(src, &Declarations::default(), Returns::Any).map(|p| p.eval(&activation));
    }
}

#[test]
fn comparing_large_lists_is_charged() {
    let names: Vec<String> = (0..14).map(|i| format!("v{i}")).collect();
    let mut lazies = vec![Lazy::new("v0".to_string(), compile("[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]", &Declarations::default(), Returns::Any).unwrap())];
    for i in 1..14 {
        let decl = Declarations { params: false, variables: names[..i].to_vec(), rule: None };
        lazies.push(Lazy::new(format!("v{i}"), compile(&format!("variables.v{0} + variables.v{0}", i - 1), &decl, Returns::Any).unwrap()));
    }
    let decl = Declarations { params: false, variables: names.clone(), rule: None };
    let program = compile("variables.v13.all(x, variables.v13 == variables.v13 && 'ab'.matches('a+b'))", &decl, Returns::Bool).unwrap();
    let activation = Activation::new(Value::Null, Value::Null, Value::Null, Value::Null, Value::Null, lazies);
    assert_eq!(program.eval(&activation), Err(eval::COST_LIMIT_EXCEEDED.to_string()));
}

#[test]
fn a_crd_rule_declares_self_and_old_self_typed_from_its_schema() {
    let mut scope = RuleScope::default();
    scope.objects.push(std::collections::BTreeMap::from([("replicas".to_string(), Ty::Int)]));
    scope.self_type = Ty::Object(0);
    let d = Declarations { rule: Some(scope), ..Default::default() };
    let program = compile("self.replicas <= 3 && self == oldSelf", &d, Returns::Bool).unwrap();
    assert!(program.uses("oldSelf"));
    assert!(!compile("[true].all(oldSelf, oldSelf)", &Declarations::default(), Returns::Any).map_or(true, |p| p.uses("oldSelf")));
    let object = Value::from_json(&serde_json::json!({"replicas": 2}));
    assert_eq!(program.eval(&Activation::for_rule(object.clone(), Some(object))), Ok(Value::Bool(true)));
    let refused = |src: &str| match compile(src, &d, Returns::Bool) {
        Err(CompileError::Cel(issues)) => issues,
        other => panic!("{src}: {other:?}"),
    };
    assert!(refused("self.replica > 0").starts_with("ERROR: <input>:1:5: undefined field 'replica'"));
    assert!(refused("self.replicas == true").starts_with("ERROR: <input>:1:15: found no matching overload for '_==_' applied to '(int, bool)'"));
    assert!(refused("object.spec == 1").starts_with("ERROR: <input>:1:1: undeclared reference to 'object'"));
    // cel-go places a macro's error at the call's parenthesis.
    assert!(refused("has(self)").starts_with("ERROR: <input>:1:4: invalid argument to has() macro"));
}

#[test]
fn durations_as_cel_go_parses_prints_and_computes_them() {
    yes("string(duration('1h2m3s')) == '3723s' && string(duration('1.5s')) == '1.5s'");
    yes("string(duration('-1m30s')) == '-90s' && string(duration('1ms')) == '0.001s' && string(duration('1ns')) == '0.000000001s'");
    yes("string(duration('0')) == '0s' && string(duration('+2h')) == '7200s' && duration('1\u{b5}s') == duration('1000ns')");
    yes("duration('1h') == duration('60m') && duration('1ms') < duration('1s') && duration('60s') >= duration('1m')");
    yes("duration('1m') + duration('1s') == duration('61s') && duration('1m') - duration('1s') == duration('59s')");
    yes("duration('3730s').getHours() == 1 && duration('3730s').getMinutes() == 62 && duration('3730s').getSeconds() == 3730");
    yes("duration('1.5s').getMilliseconds() == 1500 && duration('-90m').getHours() == -1 && int(duration('1s')) == 1000000000");
    yes("duration(duration('5s')) == duration('5s') && dyn(duration('1s')) != 1000000000");
    let o = serde_json::json!({"d": "abc", "t": "2023-13-01T00:00:00Z", "zero": "0000-01-01T00:00:00Z", "ok": "90m", "zone": "Europe/Paris"});
    assert_eq!(run("duration(object.ok) > duration('1h')", o.clone()), Ok(Value::Bool(true)));
    assert_eq!(run("duration(object.d)", o.clone()), Err("type conversion error from 'string' to 'google.protobuf.Duration'".to_string()));
    assert_eq!(run("duration('2562047h') + duration('1h')", o.clone()), Err("integer overflow".to_string()));
    assert_eq!(run("duration('2562048h')", o), Err("Cel(\"ERROR: <input>:1:10: invalid duration argument\\n | duration('2562048h')\\n | .........^\")".to_string()));
    let d = Declarations::default();
    assert_eq!(compile("duration('abc') > duration('1s')", &d, Returns::Bool), Err(CompileError::Cel("ERROR: <input>:1:10: invalid duration argument\n | duration('abc') > duration('1s')\n | .........^".to_string())));
    assert!(matches!(compile("duration('1s') + 1 == 2", &d, Returns::Bool), Err(CompileError::Cel(m)) if m.contains("found no matching overload for '_+_' applied to '(google.protobuf.Duration, int)'")));
    assert!(matches!(compile("duration('1s').getFullYear() == 1", &d, Returns::Bool), Err(CompileError::Cel(m)) if m.contains("found no matching overload for 'getFullYear' applied to '(google.protobuf.Duration)'")));
}

#[test]
fn timestamps_as_cel_go_parses_prints_and_computes_them() {
    yes("timestamp('2023-01-01T00:00:00Z') + duration('24h') == timestamp('2023-01-02T00:00:00Z')");
    yes("duration('24h') + timestamp('2023-01-01T00:00:00Z') == timestamp('2023-01-02T00:00:00Z')");
    yes("timestamp('2023-01-10T12:00:00Z') - timestamp('2023-01-10T00:00:00Z') == duration('12h')");
    yes("timestamp('2023-01-10T12:00:00Z') - duration('12h') == timestamp('2023-01-10T00:00:00Z')");
    yes("string(timestamp('2023-01-10T12:00:00.500+02:00')) == '2023-01-10T12:00:00.5+02:00'");
    yes("string(timestamp('2023-01-10T12:00:00.123456789Z')) == '2023-01-10T12:00:00.123456789Z'");
    yes("string(timestamp(0)) == '1970-01-01T00:00:00Z' && int(timestamp('1970-01-01T00:00:01Z')) == 1");
    yes("string(timestamp('2023-01-10T23:00:00-05:00') + duration('2h')) == '2023-01-11T01:00:00-05:00'");
    yes("timestamp('2023-01-10T12:00:00+02:00') == timestamp('2023-01-10T10:00:00Z')");
    yes("timestamp('2001-01-01T02:03:04Z') < timestamp('2002-02-02T02:03:04Z')");
    // The accessors read UTC (Kubernetes sets DefaultUTCTimeZone), or the zone given.
    let t = "timestamp('2023-01-10T12:34:56.789+02:00')";
    for (accessor, value) in [("getFullYear()", 2023), ("getMonth()", 0), ("getDate()", 10), ("getDayOfMonth()", 9), ("getDayOfYear()", 9), ("getDayOfWeek()", 2),
        ("getHours()", 10), ("getMinutes()", 34), ("getSeconds()", 56), ("getMilliseconds()", 789), ("getHours('+02:00')", 12), ("getHours('-05:30')", 5),
        ("getMinutes('-05:30')", 4), ("getHours('UTC')", 10), ("getDayOfWeek('-11:00')", 1), ("getFullYear('+00:00')", 2023)]
    {
        assert_eq!(run(&format!("{t}.{accessor}"), serde_json::json!({})), Ok(Value::Int(value)), "{accessor}");
    }
    yes("timestamp('2024-12-31T23:59:59Z').getDayOfYear() == 365 && timestamp('2024-02-29T00:00:00Z').getMonth() == 1");
    let o = serde_json::json!({"t": "2023-13-01T00:00:00Z", "zero": "0000-01-01T00:00:00Z", "zone": "Europe/Paris", "bad": "+02:75"});
    assert_eq!(run("timestamp(object.t)", o.clone()), Err("type conversion error from 'string' to 'google.protobuf.Timestamp'".to_string()));
    assert_eq!(run("timestamp(object.zero)", o.clone()), Err("timestamp overflow".to_string()));
    assert_eq!(run("timestamp('9999-12-31T23:59:59Z') + duration('1s')", o.clone()), Err("timestamp overflow".to_string()));
    assert_eq!(run("timestamp(253402300800)", o.clone()), Err("timestamp overflow".to_string()));
    assert_eq!(run("timestamp(0).getHours(object.bad)", o.clone()), Err("timezone offset minutes out of range [0, 59]: +02:75".to_string()));
    assert_eq!(run("timestamp('9999-12-31T23:59:59Z').getHours('2562047788015215:00')", o.clone()), Err("no such overload".to_string()));
    assert!(run("timestamp(0).getHours('-9223372036854775807:00')", o.clone()).is_err());
    assert_eq!(run("timestamp(0).getHours(object.zone)", o), Err("the time zone 'Europe/Paris' is not supported by this simulation".to_string()));
    let d = Declarations::default();
    assert_eq!(compile("timestamp('2023-01-01') < timestamp(0)", &d, Returns::Bool), Err(CompileError::Cel("ERROR: <input>:1:11: invalid timestamp argument\n | timestamp('2023-01-01') < timestamp(0)\n | ..........^".to_string())));
    assert!(matches!(compile("timestamp(0).getHours('America/New_York') == 1", &d, Returns::Bool), Err(CompileError::Unsupported(m)) if m == "the time zone 'America/New_York' is not supported by this simulation"));
    assert!(matches!(compile("timestamp(0) < duration('1s')", &d, Returns::Bool), Err(CompileError::Cel(m)) if m.contains("found no matching overload for '_<_' applied to '(google.protobuf.Timestamp, google.protobuf.Duration)'")));
    assert!(matches!(compile("duration('1s') - timestamp(0) == duration('1s')", &d, Returns::Bool), Err(CompileError::Cel(m)) if m.contains("'_-_' applied to '(google.protobuf.Duration, google.protobuf.Timestamp)'")));
}

#[test]
fn optionals_as_kubernetes_enables_them() {
    yes("{'a': 1}.?a == optional.of(1) && {'a': 1}.?b == optional.none() && {'a': 1}.?b.orValue(5) == 5");
    yes("[1, 2][?1].value() == 2 && ![1, 2][?5].hasValue() && {'k': 'v'}[?'k'].hasValue()");
    yes("optional.of(1).or(optional.of(2)).value() == 1 && optional.none().or(optional.of(2)) == optional.of(2)");
    yes("optional.ofNonZeroValue('') == optional.none() && optional.ofNonZeroValue(0).hasValue() == false && optional.ofNonZeroValue([1]).hasValue()");
    // `or` and `orValue` do not evaluate the alternative of a present value.
    yes("optional.of(1).orValue(1 / 0) == 1 && optional.of(1).or(optional.of(1 / 0)).value() == 1");
    let o = serde_json::json!({"spec": {"replicas": 3}, "metadata": {}});
    assert_eq!(run("object.?spec.?replicas.orValue(1)", o.clone()), Ok(Value::Int(3)));
    // After `.?` the rest of the path is optional as well.
    assert_eq!(run("object.?status.replicas.orValue(1)", o.clone()), Ok(Value::Int(1)));
    assert_eq!(run("object.?spec.paused.orValue(false)", o.clone()), Ok(Value::Bool(false)));
    assert_eq!(run("object.?metadata.labels['app'].orValue('none')", o.clone()), Ok(Value::string("none".to_string())));
    assert_eq!(run("object.?status.value()", o.clone()), Err("optional.none() dereference".to_string()));
    assert_eq!(run("optional.none().orValue(object.missing)", o), Err("no such key: missing".to_string()));
    let d = Declarations::default();
    assert!(matches!(compile("1.?a.hasValue()", &d, Returns::Bool), Err(CompileError::Cel(m)) if m.contains("found no matching overload for '_?._' applied to '(int, string)'")));
    // The optional library's version 2, which 1.33 enables (cel-go cel/library.go).
    yes("optional.unwrap([optional.of(42), optional.none()]) == [42] && [optional.none(), optional.of('a')].unwrapOpt() == ['a']");
    yes("[1, 2, 3].first() == optional.of(1) && [1, 2, 3].last().value() == 3 && !([].first().hasValue()) && ![].last().hasValue()");
    assert_eq!(run("optional.unwrap([optional.of(1), 2])", serde_json::json!({})), Err("value 2 is not optional".to_string()));
    assert!(compile("[?object.?a] == []", &d, Returns::Bool).is_ok());
    assert!(matches!(compile("object.?a", &d, Returns::Bool), Err(CompileError::Returns(_))));
    assert!(matches!(compile("1.hasValue()", &d, Returns::Bool), Err(CompileError::Cel(m)) if m.contains("found no matching overload for 'hasValue' applied to '(int)'")));
}

#[test]
fn sets_and_regex_find() {
    yes("sets.contains([1, 2, 3], [3, 1]) && !sets.contains([1], [2]) && sets.contains([1.0], [1]) && sets.contains([], [])");
    yes("sets.equivalent([1, 2, 2], [2, 1]) && !sets.equivalent([1], [1, 2])");
    yes("sets.intersects([1, 2], [2, 3]) && !sets.intersects([1], []) && !sets.intersects(['a'], ['b'])");
    yes("'abc 123'.find('[0-9]+') == '123' && 'abc'.find('[0-9]+') == ''");
    yes("'a1b22c333'.findAll('[0-9]+') == ['1', '22', '333'] && 'a1b22c333'.findAll('[0-9]+', 2) == ['1', '22'] && 'a1'.findAll('[0-9]', 0) == []");
    yes("'a1b2'.findAll('[0-9]', -1) == ['1', '2']");
    assert!(matches!(run("'a'.find('[')", serde_json::json!({})), Err(e) if e.starts_with("Illegal regex: error parsing regexp:")));
    let d = Declarations::default();
    assert!(matches!(compile("sets.contains([1], 1)", &d, Returns::Bool), Err(CompileError::Cel(m)) if m.contains("found no matching overload for 'sets.contains' applied to '(list(dyn), int)'")));
    assert!(matches!(compile("1.find('x') == ''", &d, Returns::Bool), Err(CompileError::Cel(m)) if m.contains("found no matching overload for 'find' applied to '(int, string)'")));
}

#[test]
fn url_library() {
    // library/urls.go's examples and apiextensions-apiserver's validation_test.go cases.
    yes("isURL('https://user:pass@example.com:80/path?query=val#fragment') && isURL('/absolute-path')");
    yes("!isURL('https://a:b:c/') && !isURL('../relative-path') && !isURL('') && !isURL('example.com')");
    yes("url('/path').getScheme() == '' && url('https://example.com/').getScheme() == 'https' && url('HTTPS://x/').getScheme() == 'https'");
    yes("url('https://example.com:80/').getHost() == 'example.com:80' && url('https://example.com/').getHost() == 'example.com'");
    yes("url('https://[::1]:80/').getHost() == '[::1]:80' && url('https://[::1]/').getHost() == '[::1]' && url('/path').getHost() == ''");
    yes("url('https://example.com:80/').getHostname() == 'example.com' && url('https://127.0.0.1:80/').getHostname() == '127.0.0.1'");
    yes("url('https://[::1]:80/').getHostname() == '::1' && url('https://[::1]/').getHostname() == '::1' && url('/path').getHostname() == ''");
    yes("url('https://example.com:80/').getPort() == '80' && url('https://example.com/').getPort() == '' && url('/path').getPort() == ''");
    yes("url('https://example.com/path').getEscapedPath() == '/path' && url('https://example.com/path with spaces/').getEscapedPath() == '/path%20with%20spaces/'");
    yes("url('https://example.com').getEscapedPath() == '' && url('https://x/a%2Fb').getEscapedPath() == '/a%2Fb'");
    yes("url('https://example.com/path?k1=a&k2=b&k2=c').getQuery() == {'k1': ['a'], 'k2': ['b', 'c']}");
    yes("url('https://example.com/path?key with spaces=value with spaces').getQuery() == {'key with spaces': ['value with spaces']}");
    yes("url('https://example.com/path?').getQuery() == {} && url('https://example.com/path').getQuery() == {}");
    yes("url('https://x/?a=1+2&b=%41&c&d=x;y').getQuery() == {'a': ['1 2'], 'b': ['A'], 'c': ['']}");
    // The fragment is split off by `Parse`, not left in the path.
    yes("url('https://x/p#frag').getEscapedPath() == '/p' && url('https://x/p?q=1#frag').getQuery() == {'q': ['1']}");
    yes("url('https://example.com/a') == url('https://EXAMPLE.com/a'.lowerAscii()) && url('https://x/a') != url('https://x/b')");
    yes("type(url('/a')) == type(url('/b')) && url('mailto:a@b').getScheme() == 'mailto'");
    let err = |src: &str| run(src, serde_json::json!({})).unwrap_err();
    assert_eq!(err("url('https://a:b:c/')"), "URL parse error during conversion from string: parse \"https://a:b:c/\": invalid port \":c\" after host");
    assert_eq!(err("url('../relative-path')"), "URL parse error during conversion from string: parse \"../relative-path\": invalid URI for request");
    assert_eq!(err("url('')"), "URL parse error during conversion from string: parse \"\": empty url");
    assert_eq!(err("url(':x')"), "URL parse error during conversion from string: parse \":x\": missing protocol scheme");
    assert_eq!(err("url('https://x/%zz')"), "URL parse error during conversion from string: parse \"https://x/%zz\": invalid URL escape \"%zz\"");
    assert_eq!(err("url('https://[::1/')"), "URL parse error during conversion from string: parse \"https://[::1/\": missing ']' in host");
    assert_eq!(err("url('https://a b/')"), "URL parse error during conversion from string: parse \"https://a b/\": invalid character \" \" in host name");
    assert_eq!(err("url('https://x/\\n')"), "URL parse error during conversion from string: parse \"https://x/\\n\": net/url: invalid control character in URL");
    assert_eq!(err("url('https://a%41/')"), "URL parse error during conversion from string: parse \"https://a%41/\": invalid URL escape \"%41\"");
    let d = Declarations::default();
    assert!(matches!(compile("url(1) == url('/')", &d, Returns::Bool), Err(CompileError::Cel(m)) if m.contains("found no matching overload for 'url' applied to '(int)'")));
    assert!(matches!(compile("'a'.getHost() == ''", &d, Returns::Bool), Err(CompileError::Cel(m)) if m.contains("found no matching overload for 'getHost' applied to '(string)'")));
    assert!(matches!(compile("url('/').getQuery().size() == 0", &d, Returns::Bool), Ok(_)));
    assert_eq!(run("object.u.getHost()", serde_json::json!({"u": "x"})), Err("no such overload".to_string()));
}

#[test]
fn optional_list_elements_and_map_entries() {
    // cel-go's parser (optExpr), checker (checkCreateList/checkCreateMap) and interpreter (evalList/evalMap).
    yes("[?optional.of(1), ?optional.none(), 2] == [1, 2] && [?optional.none()] == []");
    yes("{?'a': optional.of(1), ?'b': optional.none(), 'c': 3} == {'a': 1, 'c': 3}");
    yes("{'a': 1, ?'a': optional.none()} == {}");
    yes("[?{'x': 1}[?'x'], ?{'x': 1}[?'y']] == [1] && {?'k': [5][?0]} == {'k': 5}");
    let o = serde_json::json!({"spec": {"a": "x"}});
    assert_eq!(run("[?object.spec.?a, ?object.spec.?b]", o.clone()), Ok(Value::List(Rc::new(vec![Value::string("x".to_string())]))));
    assert_eq!(run("[?object.spec.a]", o.clone()), Err("cannot initialize optional list element from non-optional value x".to_string()));
    assert_eq!(run("{?'k': object.spec.a}", o), Err("cannot initialize optional entry 'k' from non-optional value x".to_string()));
    let d = Declarations::default();
    assert_eq!(
        compile("[?1] == []", &d, Returns::Bool),
        Err(CompileError::Cel("ERROR: <input>:1:3: expected type 'optional_type(int)' but found 'int'\n | [?1] == []\n | ..^".to_string()))
    );
    assert!(matches!(compile("{?'a': 'b'} == {}", &d, Returns::Bool), Err(CompileError::Cel(m)) if m.starts_with("ERROR: <input>:1:8: expected type 'optional_type(string)' but found 'string'")));
    assert!(matches!(compile("[?] == []", &d, Returns::Bool), Err(CompileError::Cel(m)) if m.contains("Syntax error")));
}

#[test]
fn format_library() {
    // library/format_test.go's cases.
    for valid in [
        "format.dns1123Label().validate('my-label-name')",
        "format.dns1123Subdomain().validate('apiextensions.k8s.io')",
        "format.dns1035Label().validate('my-label-name')",
        "format.qualifiedName().validate('apiextensions.k8s.io/v1beta1')",
        "format.dns1123LabelPrefix().validate('my-label-prefix-')",
        "format.dns1123SubdomainPrefix().validate('mysubdomain.prefix.-')",
        "format.dns1035LabelPrefix().validate('my-label-prefix-')",
        "format.uri().validate('http://example.com')",
        "format.uuid().validate('123e4567-e89b-12d3-a456-426614174000')",
        "format.uuid().validate('123E4567E89B12D3A456426614174000')",
        "format.byte().validate('aGVsbG8=')",
        "format.date().validate('2020-01-01')",
        "format.date().validate('2024-02-29')",
        "format.datetime().validate('2020-01-01T00:00:00Z')",
        "format.datetime().validate('2020-01-01t23:59:59.5+02:00')",
        "format.labelValue().validate('my-cool-label-Value')",
        "format.labelValue().validate('')",
    ] {
        yes(&format!("{valid} == optional.none()"));
    }
    let invalid = |src: &str| match run(&format!("{src}.value()"), serde_json::json!({})) {
        Ok(Value::List(items)) => items.iter().map(|v| format!("{v:?}")).collect::<Vec<_>>().join("|"),
        other => format!("{other:?}"),
    };
    let one = |message: &str| format!("Str({message:?})");
    assert_eq!(invalid("format.dns1123Label().validate('contains a space')"), one("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"));
    assert_eq!(invalid("format.dns1123SubdomainPrefix().validate('contains a space-')"), one(r"a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"));
    assert_eq!(invalid("format.dns1035Label().validate('contains a space')"), one("a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"));
    assert_eq!(invalid("format.qualifiedName().validate('contains a space')"), one("name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"));
    assert_eq!(invalid("format.labelValue().validate('my-cool-label-Value!!\\n\\n!!!')"), one("a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"));
    assert_eq!(invalid("format.byte().validate('aGVsbG8')"), one("invalid base64"));
    assert_eq!(invalid("format.date().validate('2020-01-32')"), one("invalid date"));
    assert_eq!(invalid("format.date().validate('2023-02-29')"), one("invalid date"));
    assert_eq!(invalid("format.datetime().validate('2020-01-32T00:00:00Z')"), one("invalid datetime"));
    assert_eq!(invalid("format.datetime().validate('2020-01-01T24:00:00Z')"), one("invalid datetime"));
    assert_eq!(invalid("format.uuid().validate('123')"), one("does not match the UUID format"));
    assert_eq!(invalid("format.uri().validate('../x')"), one("parse \"../x\": invalid URI for request"));
    yes("!format.named('unknown').hasValue() && format.named('dns1123Label').value() == format.dns1123Label()");
    yes("format.dns1123Label() != format.dns1035Label() && format.named('uri').hasValue()");
    yes("format.dns1123Label().validate('Bad').value().size() == 1");
    let d = Declarations::default();
    assert!(matches!(compile("format.nope() == format.uri()", &d, Returns::Bool), Err(CompileError::Cel(m)) if m.starts_with("ERROR: <input>:1:1: undeclared reference to 'format' (in container '')")));
    assert!(matches!(compile("format.named(1).hasValue()", &d, Returns::Bool), Err(CompileError::Cel(m)) if m.contains("found no matching overload for 'format.named' applied to '(int)'")));
    assert!(matches!(compile("format.uri('x') == format.uri()", &d, Returns::Bool), Err(CompileError::Cel(m)) if m.contains("found no matching overload for 'format.uri' applied to '(string)'")));
    assert!(matches!(compile("'x'.validate('y').hasValue()", &d, Returns::Bool), Err(CompileError::Cel(m)) if m.contains("found no matching overload for 'validate' applied to '(string, string)'")));
    // The string library's `format` is untouched.
    yes("'%s'.format(['a']) == 'a'");
}

#[test]
fn bytes() {
    // cel-go's bytes literals (parser/unescape.go: `\x` and octal escapes are bytes) and common/types/bytes.go.
    yes("b'abc' == b'abc' && b'abc' != b'abd' && b'abc' < b'abd' && b'' < b'a' && b'ab' + b'c' == b'abc'");
    yes("size(b'\\xff\\x00') == 2 && b'\\xff'.size() == 1 && size(b'\\377') == 1 && size(b'é') == 2 && size(bytes('é')) == 2");
    yes("bytes('abc') == b'abc' && string(b'abc') == 'abc' && string(b'\\303\\251') == 'é' && bytes(b'x') == b'x'");
    yes("type(b'') == bytes && rb'\\x' == b'\\\\x' && B\"a\" == b'a' && b'a' in [b'b', b'a'] && dyn(b'a') != 'a'");
    assert_eq!(run("string(b'\\xff')", serde_json::json!({})), Err("invalid UTF-8 in bytes, cannot convert to string".to_string()));
    yes("'%x %s'.format([b'\\x01\\xab', b'hi']) == '01ab hi'");
    let d = Declarations::default();
    assert!(matches!(compile("b'\\u0041' == b'A'", &d, Returns::Bool), Err(CompileError::Cel(m)) if m.contains("invalid escape sequence")));
    assert!(matches!(compile("b'a' + 'b' == b'ab'", &d, Returns::Bool), Err(CompileError::Cel(m)) if m.contains("found no matching overload for '_+_' applied to '(bytes, string)'")));
    assert!(matches!(compile("bytes(1) == b''", &d, Returns::Bool), Err(CompileError::Cel(m)) if m.contains("found no matching overload for 'bytes' applied to '(int)'")));
}

#[test]
fn what_remains_is_refused_by_name() {
    let d = Declarations::default();
    for (src, named) in [
        ("google.protobuf.Duration{seconds: 1} == duration('1s')", "message construction (`Type{...}`) is not supported by this simulation"),
    ] {
        assert_eq!(compile(src, &d, Returns::Bool), Err(CompileError::Unsupported(named.to_string())), "{src}");
    }
}

#[test]
fn what_1_33_does_not_offer_is_undeclared() {
    // base.go enables neither cel-go's lists, math nor encoders extension,
    // and the strings extension at version 2 (`reverse` is version 3).
    let d = Declarations::default();
    for (src, caret) in [
        ("[1, 1].distinct() == [1]", "ERROR: <input>:1:16: undeclared reference to 'distinct' (in container '')\n | [1, 1].distinct() == [1]\n | ...............^"),
        ("[[1]].flatten() == [1]", "undeclared reference to 'flatten'"),
        ("[2, 1].sort() == [1, 2]", "undeclared reference to 'sort'"),
        ("[1, 2].slice(0, 1) == [1]", "undeclared reference to 'slice'"),
        // cel-go reports the unknown `x` too, but after the call's parenthesis.
        ("[1].sortBy(x, -x) == [1]", "ERROR: <input>:1:11: undeclared reference to 'sortBy' (in container '')"),
        ("'ab'.reverse() == 'ba'", "undeclared reference to 'reverse'"),
        ("'ab'.quote() == 'ab'", "undeclared reference to 'quote'"),
        ("base64.encode('a') == 'YQ=='", "ERROR: <input>:1:1: undeclared reference to 'base64' (in container '')"),
        ("math.greatest(1, 2) == 2", "ERROR: <input>:1:1: undeclared reference to 'math' (in container '')"),
        ("lists.range(2) == [0, 1]", "ERROR: <input>:1:1: undeclared reference to 'lists' (in container '')"),
        // The semver library is introduced at 1.33: a new expression is checked at 1.32.
        ("isSemver('1.0.0')", "ERROR: <input>:1:9: undeclared reference to 'isSemver' (in container '')"),
        ("semver('1.0.0').major() == 1", "ERROR: <input>:1:7: undeclared reference to 'semver' (in container '')"),
    ] {
        let result = compile(src, &d, Returns::Bool);
        assert!(matches!(&result, Err(CompileError::Cel(m)) if m.contains(caret)), "{src}: {result:?}");
    }
}

#[test]
fn ip_and_cidr_libraries() {
    // library/ip.go and library/cidr.go's documented examples.
    yes("ip('127.0.0.1').family() == 4 && ip('::1').family() == 6");
    yes("isIP('127.0.0.1') && isIP('::1') && !isIP('127.0.0.256') && !isIP(':::1') && !isIP('fe80::1%eth0') && !isIP('::ffff:1.2.3.4')");
    yes("ip.isCanonical('127.0.0.1') && ip.isCanonical('2001:db8::abcd') && !ip.isCanonical('2001:DB8::ABCD') && !ip.isCanonical('2001:db8::0:0:0:abcd')");
    yes("ip('0.0.0.0').isUnspecified() && !ip('127.0.0.1').isUnspecified() && ip('::').isUnspecified() && !ip('::1').isUnspecified()");
    yes("ip('127.0.0.1').isLoopback() && !ip('192.168.0.1').isLoopback() && ip('::1').isLoopback()");
    yes("ip('224.0.0.1').isLinkLocalMulticast() && !ip('224.0.1.1').isLinkLocalMulticast() && ip('ff02::1').isLinkLocalMulticast()");
    yes("ip('169.254.169.254').isLinkLocalUnicast() && ip('fe80::1').isLinkLocalUnicast() && !ip('fd80::1').isLinkLocalUnicast()");
    yes("ip('192.168.0.1').isGlobalUnicast() && !ip('255.255.255.255').isGlobalUnicast() && !ip('ff00::1').isGlobalUnicast()");
    yes("string(ip('2001:DB8:0:0::1')) == '2001:db8::1' && ip('10.0.0.1') == ip('10.0.0.1') && ip('10.0.0.1') != ip('10.0.0.2')");
    yes("type(ip('10.0.0.1')) == type(ip('::1')) && type(cidr('10.0.0.0/8')) != type(ip('::1'))");
    yes("cidr('192.168.0.0/24').containsIP(ip('192.168.0.1')) && !cidr('192.168.0.0/24').containsIP('192.168.1.1')");
    yes("cidr('192.168.0.0/16').containsCIDR(cidr('192.168.10.0/24')) && !cidr('192.168.1.0/24').containsCIDR('192.168.2.0/24')");
    // kubernetes PR #130450 (in 1.33.0, apiserver commit 64791740a): an address inside the prefix, not only the prefix's own.
    yes("cidr('192.168.0.0/24').containsCIDR(cidr('192.168.0.1/32')) && !cidr('192.168.0.0/24').containsCIDR(cidr('192.169.0.1/32')) && cidr('0.0.0.0/0').containsCIDR('10.1.2.3/32')");
    yes("cidr('192.168.0.1/24').ip() == ip('192.168.0.1') && cidr('::1/128').ip().family() == 6");
    yes("cidr('192.168.0.1/24').masked() == cidr('192.168.0.0/24') && cidr('192.168.0.1/24') != cidr('192.168.0.1/24').masked()");
    yes("cidr('192.168.0.0/16').prefixLength() == 16 && string(cidr('2001:db8::1/32').masked()) == '2001:db8::/32'");
    yes("isCIDR('192.168.0.0/16') && isCIDR('::1/128') && isCIDR('192.168.0.1/16') && !isCIDR('192.168.0.0/33') && !isCIDR('::1/129')");
    let o = serde_json::json!({});
    assert_eq!(
        run("ip('127.0.0.256')", o.clone()),
        Err(r#"IP Address "127.0.0.256" parse error during conversion from string: ParseAddr("127.0.0.256"): IPv4 field has value >255"#.to_string())
    );
    assert_eq!(
        run("cidr('10.0.0.0/33')", o.clone()),
        Err(r#"network address parse error during conversion from string: network address parse error during conversion from string: netip.ParsePrefix("10.0.0.0/33"): prefix length out of range"#.to_string())
    );
    assert_eq!(run("cidr('10.0.0.0/8').containsIP('x')", o.clone()), Err(r#"IP Address "x" parse error during conversion from string: ParseAddr("x"): unable to parse IP"#.to_string()));
    assert_eq!(run("ip.isCanonical('fe80::1%eth0')", o), Err(r#"IP address "fe80::1%eth0" with zone value is not allowed"#.to_string()));
    let d = Declarations::default();
    for (src, error) in [
        ("ip(1) == ip('::1')", "found no matching overload for 'ip' applied to '(int)'"),
        ("'a'.family() == 4", "found no matching overload for 'family' applied to '(string)'"),
        ("ip('::1') == '::1'", "found no matching overload for '_==_' applied to '(net.IP, string)'"),
        ("cidr('::/0').containsIP(1)", "found no matching overload for 'containsIP' applied to '(net.CIDR, int)'"),
        ("ip('::1').masked() == ip('::1')", "found no matching overload for 'masked' applied to '(net.IP)'"),
        ("ip.nope('a')", "undeclared reference to 'ip' (in container '')"),
    ] {
        assert!(matches!(compile(src, &d, Returns::Bool), Err(CompileError::Cel(m)) if m.contains(error)), "{src}: {:?}", compile(src, &d, Returns::Bool));
    }
}

#[test]
fn two_variable_comprehensions() {
    // ext/comprehensions.go's documented examples (1.32's base environment on).
    yes("[1, 2, 3].all(i, j, i < j) && !{'hello': 'world', 'taco': 'taco'}.all(k, v, k != v)");
    yes("{'h': ['hello', 'hi'], 'j': ['joke', 'jog']}.all(k, vals, vals.all(v, v.startsWith(k)))");
    yes("{'greeting': 'hello', 'farewell': 'goodbye'}.exists(k, v, k.startsWith('good') || v.endsWith('bye'))");
    yes("![1, 2, 4, 8, 16].exists(i, v, v == 1024 && i == 10)");
    yes("![1, 2, 1, 3, 1, 4].existsOne(i, v, i == 1 || v == 1) && [1, 1, 2, 2, 3, 3].existsOne(i, v, i == 2 && v == 2)");
    yes("{'i': 0, 'j': 1, 'k': 2}.exists_one(i, v, i == 'l' || v == 1) && [1, 2].existsOne(x, x == 2)");
    yes("[1, 2, 3].transformList(indexVar, valueVar, (indexVar * valueVar) + valueVar) == [1, 4, 9]");
    yes("[1, 2, 3].transformList(indexVar, valueVar, indexVar % 2 == 0, (indexVar * valueVar) + valueVar) == [1, 9]");
    yes("{'greeting': 'hello', 'farewell': 'goodbye'}.transformList(k, _, k) == ['farewell', 'greeting']");
    yes("[1, 2, 3].transformMap(indexVar, valueVar, (indexVar * valueVar) + valueVar) == {0: 1, 1: 4, 2: 9}");
    yes("[1, 2, 3].transformMap(indexVar, valueVar, indexVar % 2 == 0, (indexVar * valueVar) + valueVar) == {0: 1, 2: 9}");
    yes("{'greeting': 'hello'}.transformMap(k, v, v + '!') == {'greeting': 'hello!'}");
    yes("{'greeting': 'hello'}.transformMapEntry(keyVar, valueVar, {valueVar: keyVar}) == {'hello': 'greeting'}");
    yes("[1, 2, 3].transformMapEntry(indexVar, valueVar, {valueVar: indexVar}) == {1: 0, 2: 1, 3: 2}");
    let o = serde_json::json!({"metadata": {"labels": {"a": "1", "b": ""}}});
    assert_eq!(run("object.metadata.labels.all(k, v, v != '')", o.clone()), Ok(Value::Bool(false)));
    assert_eq!(
        run("{'greeting': 'aloha', 'farewell': 'aloha'}.transformMapEntry(keyVar, valueVar, {valueVar: keyVar})", o),
        Err("insert failed: key aloha already exists".to_string())
    );
    let d = Declarations::default();
    for (src, error) in [
        ("[1].all(i, i, true)", "ERROR: <input>:1:12: duplicate variable name: i"),
        ("[1].all(i.j, v, true)", "ERROR: <input>:1:10: argument must be a simple name"),
        ("[1].all(__result__, v, true)", "ERROR: <input>:1:9: iteration variable overwrites accumulator variable"),
        ("[1].all(i, v, 1)", "expected type 'bool' but found 'int'"),
        ("[1].transformList(i, v, v) == i", "undeclared reference to 'i'"),
    ] {
        let result = compile(src, &d, Returns::Bool);
        assert!(matches!(&result, Err(CompileError::Cel(m)) if m.contains(error)), "{src}: {result:?}");
    }
}

fn text(src: &str) -> Result<Value, String> {
    run(src, serde_json::json!({}))
}

#[test]
fn strings_format() {
    // cel-go ext/strings_test.go's expectations (locale en_US, as Kubernetes uses).
    let s = |v: &str| Ok(Value::string(v.to_string()));
    assert_eq!(text("'%o'.format([11])"), s("13"));
    assert_eq!(text("'%o'.format([-11])"), s("-13"));
    assert_eq!(text("'this is an unsigned octal: %o'.format([uint(65535)])"), s("this is an unsigned octal: 177777"));
    assert_eq!(text("'%x is 30 in hexadecimal'.format([30])"), s("1e is 30 in hexadecimal"));
    assert_eq!(text("'%X is 20 in hexadecimal'.format([30])"), s("1E is 20 in hexadecimal"));
    assert_eq!(text("'%x is -30 in hexadecimal'.format([-30])"), s("-1e is -30 in hexadecimal"));
    assert_eq!(text("'%x'.format(['Hello world!'])"), s("48656c6c6f20776f726c6421"));
    assert_eq!(text("'%X'.format(['Hello world!'])"), s("48656C6C6F20776F726C6421"));
    assert_eq!(text("'this is -5 in binary: %b'.format([-5])"), s("this is -5 in binary: -101"));
    assert_eq!(text("'bit set from bool: %b'.format([true])"), s("bit set from bool: 1"));
    assert_eq!(text("'%.6e'.format([1052.032911275])"), s("1.052033\u{202f}\u{d7}\u{202f}10\u{2070}\u{b3}"));
    assert_eq!(text("'%e'.format([2.71828])"), s("2.718280\u{202f}\u{d7}\u{202f}10\u{2070}\u{2070}"));
    assert_eq!(text("'%f'.format([2.71828])"), s("2.718280"));
    assert_eq!(text("'%.3f'.format([4.5])"), s("4.500"));
    assert_eq!(text("'%f %f %f'.format(['NaN', 'Infinity', '-Infinity'])"), s("NaN \u{221e} -\u{221e}"));
    assert_eq!(text("'%s'.format([2.71])"), s("2.71"));
    assert_eq!(text("'%s'.format([[2.71]])"), s("[2.710000]"));
    assert_eq!(text("'%s'.format([0.000000002])"), s("2e-09"));
    assert_eq!(text("'%s'.format([[0.000000002]])"), s("[0.000000]"));
    assert_eq!(text("'%s'.format([double('NaN')]) + '%s'.format([double('Inf')])"), s("NaN+Inf"));
    assert_eq!(text("'%s'.format([[double('NaN'), double('+Inf'), double('-Inf')]])"), s("[\"NaN\", \"+Inf\", \"-Inf\"]"));
    assert_eq!(text("'null: %s'.format([null])"), s("null: null"));
    assert_eq!(text("'type is %s'.format([type('test string')])"), s("type is string"));
    assert_eq!(text("'%s'.format([timestamp('2023-02-03T23:31:20+00:00')])"), s("2023-02-03T23:31:20Z"));
    assert_eq!(text("'%s'.format([duration('1h45m47s')])"), s("6347s"));
    assert_eq!(text("'%s'.format([duration('2ns')])"), s("0.000000002s"));
    assert_eq!(
        text("'%s'.format([['abc', 3.14, null, [9, 8, 7, 6], timestamp('2023-02-03T23:31:20Z')]])"),
        s("[\"abc\", 3.140000, null, [9, 8, 7, 6], timestamp(\"2023-02-03T23:31:20Z\")]")
    );
    assert_eq!(
        text("'%s'.format([{'key5': null, 'key2': duration('2h'), 'key4': true, 'key3': 2.71828}])"),
        s("{\"key2\":duration(\"7200s\"), \"key3\":2.718280, \"key4\":true, \"key5\":null}")
    );
    assert_eq!(text("'map with multiple key types: %s'.format([{1: 'value1', uint(2): 'value2', true: double('NaN')}])"), s("map with multiple key types: {1:\"value1\", 2:\"value2\", true:\"NaN\"}"));
    assert_eq!(text("'%d%%'.format([50]) + '%.2f'.format([1234567.891])"), s("50%1,234,567.89"));
    let o = serde_json::json!({"n": "x", "d": 1});
    assert_eq!(run("'%d %d %d'.format(dyn([object.d, 1]))", o.clone()), Err("index 2 out of range".to_string()));
    assert_eq!(run("'%a'.format(dyn([object.d]))", o.clone()), Err("could not parse formatting clause: unrecognized formatting clause \"a\"".to_string()));
    assert_eq!(run("'string is %b'.format(dyn([object.n]))", o.clone()), Err("error during formatting: only integers and bools can be formatted as binary, was given string".to_string()));
    assert_eq!(run("'%d'.format(dyn([duration(object.n + 'm')]))", serde_json::json!({"n": "30"})), Err("error during formatting: decimal clause can only be used on integers, was given google.protobuf.Duration".to_string()));
    assert_eq!(run("'null: %f'.format(dyn([null]))", o.clone()), Err("error during formatting: fixed-point clause can only be used on doubles, was given null_type".to_string()));
    assert_eq!(run("'%s'.format([[ip('::1')]])", o), Err("error during formatting: no formatting function for net.IP".to_string()));
    // Checked when written: a literal template formatting a literal list.
    let d = Declarations::default();
    for (src, error) in [
        ("'%s %s'.format(['abc']) == ''", "ERROR: <input>:1:15: index 1 out of range"),
        ("'%s %s'.format(['abc', 'def', 'ghi']) == ''", "ERROR: <input>:1:15: too many arguments supplied to string.format (expected 2, got 3)"),
        ("'filler %'.format([]) == ''", "unexpected end of string"),
        ("'%j'.format([123]) == ''", "could not parse formatting clause: unrecognized formatting clause \"j\""),
        ("'int is %d'.format([5.2]) == ''", "ERROR: <input>:1:21: error during formatting: decimal clause can only be used on integers, was given double"),
        ("'double is %.34'.format([5.0]) == ''", "could not parse formatting clause: error while parsing precision: could not find end of precision specifier"),
        ("'%x is a double'.format([2.5]) == ''", "error during formatting: only integers, byte buffers, and strings can be formatted as hex, was given double"),
        ("'%s'.format(1) == ''", "found no matching overload for 'format' applied to '(string, int)'"),
    ] {
        let result = compile(src, &d, Returns::Bool);
        assert!(matches!(&result, Err(CompileError::Cel(m)) if m.contains(error)), "{src}: {result:?}");
    }
}

#[test]
fn strings_quote() {
    // ext/strings.go's quote, and its test with format.
    yes("strings.quote('%s %s').format(['hello', 'world']) == '\"hello world\"'");
    yes("strings.quote('a\\b\\n\\t\\\\\\\"') == '\"a\\\\b\\\\n\\\\t\\\\\\\\\\\\\"\"' && strings.quote('é') == '\"é\"'");
    let d = Declarations::default();
    for (src, error) in [
        ("strings.quote(1) == ''", "found no matching overload for 'strings.quote' applied to '(int)'"),
        ("strings.reverse('a') == 'a'", "ERROR: <input>:1:1: undeclared reference to 'strings' (in container '')"),
        ("sets.nope([], []) == []", "ERROR: <input>:1:1: undeclared reference to 'sets' (in container '')"),
    ] {
        let result = compile(src, &d, Returns::Bool);
        assert!(matches!(&result, Err(CompileError::Cel(m)) if m.contains(error)), "{src}: {result:?}");
    }
}

#[test]
fn opt_map_and_flat_map() {
    // cel-go cel/library.go's optMap and optFlatMap (1.33 enables the optional library's latest version).
    let o = serde_json::json!({"spec": {"elements": [3, 4]}});
    assert_eq!(run("object.?spec.elements.optMap(e, size(e)).orValue(0)", o.clone()), Ok(Value::Int(2)));
    assert_eq!(run("object.?spec.missing.optMap(e, size(e)).orValue(0)", o.clone()), Ok(Value::Int(0)));
    assert_eq!(run("object.?spec.elements.optFlatMap(e, e[?0]).value()", o.clone()), Ok(Value::Int(3)));
    assert_eq!(run("optional.of([]).optFlatMap(e, e[?0]).hasValue()", o), Ok(Value::Bool(false)));
    let d = Declarations::default();
    for (src, error) in [
        ("optional.of(1).optMap(e.f, e).hasValue()", "ERROR: <input>:1:24: optMap() variable name must be a simple identifier"),
        ("1.optMap(e, e).hasValue()", "found no matching overload for 'hasValue' applied to '(int)'"),
    ] {
        let result = compile(src, &d, Returns::Bool);
        assert!(matches!(&result, Err(CompileError::Cel(m)) if m.contains(error)), "{src}: {result:?}");
    }
}
