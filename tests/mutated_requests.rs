//! Requests a caller got wrong: each conformance scenario's requests, one of
//! them changed (a value swapped for an edge or a stranger, a field dropped
//! or added), sent through the JSON door after the steps before it. Whatever
//! the change, the engine answers or refuses with a code, never panics; a
//! refusal leaves the journal whole and the books balanced, and the
//! scenario's later steps still run on it.

mod scenario_support;

use proptest::prelude::*;
use serde_json::{json, Value};

use jifen::{Engine, ErrorCode};
use scenario_support::{open, read_scenario, request_text, scenario_files};

/// Every step's request of every scenario (not the bulk ones), with the
/// scenario's policy.
fn scenarios() -> Vec<(Value, Vec<Value>)> {
    scenario_files("")
        .iter()
        .map(|path| {
            let scenario = read_scenario(path);
            let steps = scenario["steps"]
                .as_array()
                .expect("a scenario has steps")
                .iter()
                .map(|step| step["do"].clone())
                .collect();
            (scenario["policy"].clone(), steps)
        })
        .collect()
}

/// Values that break a field's rules, or sit at their edges.
fn strange_values() -> Vec<Value> {
    vec![
        Value::Null,
        json!(true),
        json!(0),
        json!(-1),
        json!(1),
        json!(i64::MAX),
        json!(i64::MIN),
        json!(u64::MAX),
        json!(1e300),
        json!(-0.5),
        json!(""),
        json!("0"),
        json!("-1"),
        json!("9223372036854775808"),
        json!("0.001"),
        json!("NaN"),
        json!("2025-02-30"),
        json!("2025-13"),
        json!("9999-12-31"),
        json!("x".repeat(5_000)),
        json!("户主\u{0}名"),
        json!([]),
        json!({}),
        json!([1, 2, 3]),
    ]
}

/// One change to a request.
#[derive(Clone, Debug)]
enum Change {
    /// The `place`th value (in a walk of the request) becomes `value`.
    Replace { place: usize, value: usize },
    /// The `place`th object loses its `key`th field.
    Drop { place: usize, key: usize },
    /// The `place`th object gains a field it does not know.
    Add { place: usize },
    /// The `place`th array holds its first element twice.
    Repeat { place: usize },
}

fn change() -> impl Strategy<Value = Change> {
    prop_oneof![
        4 => (any::<usize>(), any::<usize>()).prop_map(|(place, value)| Change::Replace { place, value }),
        2 => (any::<usize>(), any::<usize>()).prop_map(|(place, key)| Change::Drop { place, key }),
        1 => any::<usize>().prop_map(|place| Change::Add { place }),
        1 => any::<usize>().prop_map(|place| Change::Repeat { place }),
    ]
}

/// The JSON pointer of every value of `value`, parents before children.
fn collect_pointers(value: &Value, pointer: &mut String, out: &mut Vec<String>) {
    out.push(pointer.clone());
    let at = pointer.len();
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                pointer.push('/');
                pointer.push_str(&key.replace('~', "~0").replace('/', "~1"));
                collect_pointers(child, pointer, out);
                pointer.truncate(at);
            }
        }
        Value::Array(items) => {
            for (index, child) in items.iter().enumerate() {
                pointer.push_str(&format!("/{index}"));
                collect_pointers(child, pointer, out);
                pointer.truncate(at);
            }
        }
        _ => {}
    }
}

impl Change {
    fn apply(&self, request: &mut Value) {
        let mut pointers = Vec::new();
        collect_pointers(request, &mut String::new(), &mut pointers);
        let strange = strange_values();
        let nth = |place: usize| pointers[place % pointers.len()].as_str();
        match *self {
            Change::Replace { place, value } => {
                if let Some(found) = request.pointer_mut(nth(place)) {
                    *found = strange[value % strange.len()].clone();
                }
            }
            Change::Drop { place, key } => {
                let objects: Vec<&String> = pointers
                    .iter()
                    .filter(|pointer| request.pointer(pointer).is_some_and(Value::is_object))
                    .collect();
                let object = objects
                    .get(place % objects.len().max(1))
                    .and_then(|pointer| request.pointer_mut(pointer))
                    .and_then(Value::as_object_mut);
                if let Some(object) = object {
                    if let Some(name) = object.keys().nth(key % object.len().max(1)).cloned() {
                        object.remove(&name);
                    }
                }
            }
            Change::Add { place } => {
                let found = request.pointer_mut(nth(place));
                if let Some(object) = found.and_then(Value::as_object_mut) {
                    object.insert("unheard_of".into(), json!(1));
                }
            }
            Change::Repeat { place } => {
                let found = request.pointer_mut(nth(place));
                if let Some(items) = found.and_then(Value::as_array_mut) {
                    if let Some(first) = items.first().cloned() {
                        items.push(first);
                    }
                }
            }
        }
    }
}

/// The journal verifies and the books balance.
fn sound(engine: &Engine) -> Result<(), String> {
    engine
        .execute_json(r#"{"query": {"type": "invariants"}}"#)
        .map_err(|e| format!("invariants: {e}"))?;
    engine.verify().map_err(|e| format!("verify: {e}"))?;
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn a_changed_request_is_answered_or_refused_and_the_books_stay_whole(
        scenario in any::<usize>(),
        step in any::<usize>(),
        changes in prop::collection::vec(change(), 1..3),
    ) {
        let scenarios = scenarios();
        let (policy, steps) = &scenarios[scenario % scenarios.len()];
        let step = step % steps.len();
        let engine = open(policy);
        for request in &steps[..step] {
            let _ = engine.execute_json(&request_text(request));
        }
        let mut changed = steps[step].clone();
        for change in &changes {
            change.apply(&mut changed);
        }
        match engine.execute_json(&request_text(&changed)) {
            Ok(answer) => {
                prop_assert!(serde_json::from_str::<Value>(&answer).is_ok(), "{}", answer);
            }
            Err(error) => {
                prop_assert_ne!(error.code(), ErrorCode::Panic, "{}", error);
                prop_assert!(!error.to_string().is_empty());
            }
        }
        prop_assert!(sound(&engine).is_ok(), "{:?}", sound(&engine));
        for request in &steps[step + 1..] {
            let _ = engine.execute_json(&request_text(request));
        }
        prop_assert!(sound(&engine).is_ok(), "{:?}", sound(&engine));
    }
}
