//! Replays every conformance scenario in `tests/scenarios/` through the Rust
//! engine's JSON door, as tests/scenarios/README.md describes.

use std::path::{Path, PathBuf};

use jifen::card::PinHashCost;
use jifen::{Engine, EngineOptions, Policy};
use serde_json::Value;

/// The scenario files, sorted.
fn scenario_files() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scenarios");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/scenarios exists")
        .map(|entry| entry.expect("readable directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .collect();
    files.sort();
    files
}

/// Whether `actual` contains `expected` (README: subset of objects, equal arrays by element).
fn contains(actual: &Value, expected: &Value) -> bool {
    match (actual, expected) {
        (Value::Object(actual), Value::Object(expected)) => expected
            .iter()
            .all(|(key, value)| actual.get(key).is_some_and(|found| contains(found, value))),
        (Value::Array(actual), Value::Array(expected)) => {
            actual.len() == expected.len()
                && actual.iter().zip(expected).all(|(a, e)| contains(a, e))
        }
        _ => actual == expected,
    }
}

fn head_seq(engine: &Engine) -> u64 {
    let answer = engine
        .execute_json(r#"{"query": {"type": "verify"}}"#)
        .expect("the journal verifies");
    let answer: Value = serde_json::from_str(&answer).expect("verify answers JSON");
    answer["seq"].as_u64().expect("verify returns the head seq")
}

/// Opens an engine on the scenario's policy, as every surface does.
pub fn open(policy: &Value) -> Engine {
    let policy = Policy::from_value(policy.clone()).expect("the scenario's policy is valid");
    let options = EngineOptions::new(b"scenario-pepper").with_pin_hash_cost(PinHashCost::MINIMAL);
    Engine::open_memory(policy, options).expect("the engine opens")
}

/// Replays one scenario; returns the first failure as text.
fn replay(engine: &Engine, scenario: &Value) -> Result<(), String> {
    let steps = scenario["steps"].as_array().ok_or("a scenario has steps")?;
    for (index, step) in steps.iter().enumerate() {
        let label = format!(
            "step {} ({})",
            index + 1,
            step["note"].as_str().unwrap_or("")
        );
        let text = match &step["do"] {
            Value::String(raw) => raw.clone(),
            request => request.to_string(),
        };
        let before = head_seq(engine);
        let answer = engine.execute_json(&text);
        match (answer, step.get("error")) {
            (Ok(answer), None) => {
                if let Some(expected) = step.get("result") {
                    let answer: Value =
                        serde_json::from_str(&answer).map_err(|e| format!("{label}: {e}"))?;
                    if !contains(&answer, expected) {
                        return Err(format!("{label}: expected {expected}\n  got {answer}"));
                    }
                }
            }
            (Ok(answer), Some(expected)) => {
                return Err(format!("{label}: expected error {expected}, got {answer}"))
            }
            (Err(error), None) => {
                return Err(format!(
                    "{label}: unexpected error {}: {error}",
                    error.code().name()
                ))
            }
            (Err(error), Some(expected)) => {
                if Some(error.code().name()) != expected.as_str() {
                    return Err(format!(
                        "{label}: expected error {expected}, got {}: {error}",
                        error.code().name()
                    ));
                }
                let appended = head_seq(engine) - before;
                let allowed = step.get("appends").and_then(Value::as_u64).unwrap_or(0);
                if appended != allowed {
                    return Err(format!(
                        "{label}: a failed step appended {appended} records, expected {allowed}"
                    ));
                }
            }
        }
    }
    if let Some(balances) = scenario.get("balances").and_then(Value::as_object) {
        for (household, expected) in balances {
            let query = serde_json::json!({"query": {"type": "balance", "household": household}});
            let answer = engine
                .execute_json(&query.to_string())
                .map_err(|e| format!("balance of {household}: {e}"))?;
            let answer: Value = serde_json::from_str(&answer).map_err(|e| e.to_string())?;
            if &answer["balance"] != expected {
                return Err(format!(
                    "balance of {household}: expected {expected}, got {}",
                    answer["balance"]
                ));
            }
        }
    }
    engine
        .execute_json(r#"{"query": {"type": "invariants"}}"#)
        .map_err(|e| format!("invariants: {e}"))?;
    engine.verify().map_err(|e| format!("verify: {e}"))?;
    Ok(())
}

#[test]
fn every_scenario_replays_on_the_memory_journal() {
    let files = scenario_files();
    assert!(!files.is_empty(), "no scenario files found");
    let mut failures = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).expect("readable scenario");
        let scenario: Value =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let engine = open(&scenario["policy"]);
        if let Err(failure) = replay(&engine, &scenario) {
            failures.push(format!("{}: {failure}", file.display()));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} scenarios failed:\n{}",
        failures.len(),
        files.len(),
        failures.join("\n")
    );
}
