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
    assert!(matches!(compile("duration('1s') > duration('0s')", &d, Returns::Bool), Err(CompileError::Unsupported(_))));
    assert!(matches!(compile("authorizer.group('').resource('x').check('get').allowed()", &d, Returns::Bool), Err(CompileError::Unsupported(_))));
    assert!(matches!(compile("object.?spec.orValue(1)", &d, Returns::Any), Err(CompileError::Unsupported(_))));
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
