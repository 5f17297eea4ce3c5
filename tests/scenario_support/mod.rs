//! Reading the conformance scenarios (tests/scenarios/README.md), for the
//! test binaries that replay them.
#![allow(dead_code)] // each test binary uses its own part of this module

use std::path::{Path, PathBuf};

use jifen::card::PinHashCost;
use jifen::{Engine, EngineOptions, Policy};
use serde_json::Value;

/// The scenario files in `tests/scenarios/{folder}`, sorted.
pub fn scenario_files(folder: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/scenarios")
        .join(folder);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/scenarios exists")
        .map(|entry| entry.expect("readable directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .collect();
    files.sort();
    files
}

/// A scenario file, parsed.
pub fn read_scenario(path: &Path) -> Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{} is unreadable: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

/// The engine options every surface opens scenario engines with.
pub fn options() -> EngineOptions {
    EngineOptions::new(b"scenario-pepper").with_pin_hash_cost(PinHashCost::MINIMAL)
}

/// Opens an engine on the scenario's policy, as every surface does.
pub fn open(policy: &Value) -> Engine {
    let policy = Policy::from_value(policy.clone()).expect("the scenario's policy is valid");
    Engine::open_memory(policy, options()).expect("the engine opens")
}

/// A step's request as the JSON door takes it: a raw string is sent as it is.
pub fn request_text(request: &Value) -> String {
    match request {
        Value::String(raw) => raw.clone(),
        request => request.to_string(),
    }
}
