//! The conformance scenarios give the same answers on the memory and the
//! SQLite journal, step by step, and the SQLite journal reopened from its
//! file (through snapshots) holds the same state as the memory one.
#![cfg(feature = "sqlite")]

mod scenario_support;

use jifen::{Engine, EngineOptions, Policy};
use serde_json::Value;

use scenario_support::{read_scenario, request_text, scenario_files};

/// As tests/scenarios/README.md opens engines, with a snapshot every two
/// events so that reopening goes through one.
fn options() -> EngineOptions {
    scenario_support::options().with_snapshot_every(2)
}

/// PIN hashes carry a random salt, and record hashes cover the time a
/// command was made: blank both so that the two journals compare.
fn normalized(mut value: Value) -> Value {
    match &mut value {
        Value::String(text) if text.starts_with("$argon2") => return Value::Null,
        Value::Object(map) => {
            for (key, item) in map.iter_mut() {
                *item = if key == "hash" {
                    Value::Null
                } else {
                    normalized(item.take())
                };
            }
        }
        Value::Array(items) => {
            for item in items.iter_mut() {
                *item = normalized(item.take());
            }
        }
        _ => {}
    }
    value
}

/// An answer as compared: the normalized JSON, or the error's name.
fn answer(engine: &Engine, text: &str) -> Result<Value, &'static str> {
    engine
        .execute_json(text)
        .map(|json| normalized(serde_json::from_str(&json).expect("answers are JSON")))
        .map_err(|error| error.code().name())
}

fn state(engine: &Engine) -> Value {
    normalized(engine.read(|state| serde_json::to_value(state).expect("the state is JSON")))
}

#[test]
fn every_scenario_answers_alike_on_memory_and_sqlite() {
    let files = scenario_files("");
    assert!(!files.is_empty(), "no scenario files");
    let dir = tempfile::tempdir().expect("a temporary directory");
    for file in &files {
        let name = file.display();
        let scenario = read_scenario(file);
        let policy = Policy::from_value(scenario["policy"].clone()).expect("a valid policy");
        let path = dir
            .path()
            .join(file.file_stem().expect("a file name"))
            .with_extension("jifen");
        let memory = Engine::open_memory(policy.clone(), options()).expect("opens");
        let sqlite = Engine::open(&path, Some(policy), options()).expect("opens");

        let steps = scenario["steps"].as_array().expect("steps");
        for (index, step) in steps.iter().enumerate() {
            let text = request_text(&step["do"]);
            let on_memory = answer(&memory, &text);
            let on_sqlite = answer(&sqlite, &text);
            assert_eq!(on_memory, on_sqlite, "{name}: step {}", index + 1);
            assert_eq!(
                memory.checkpoint().seq,
                sqlite.checkpoint().seq,
                "{name}: step {} recorded alike",
                index + 1
            );
        }
        sqlite.check_invariants().expect("invariants hold");
        let head = sqlite.verify().expect("the chain verifies");
        let expected = state(&memory);
        assert_eq!(state(&sqlite), expected, "{name}: live state");
        drop(sqlite);

        let reopened = Engine::open(&path, None, options()).expect("reopens");
        assert_eq!(reopened.checkpoint(), head);
        assert_eq!(state(&reopened), expected, "{name}: reopened state");
    }
}
