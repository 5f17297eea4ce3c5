//! The JSON Schemas of requests, queries and events in docs/ are generated
//! from the types; this test fails when they are stale. Regenerate with
//! `JIFEN_BLESS=1 cargo test --test schema`.

use std::path::Path;

use jifen::{Event, Query, Request};

fn check(name: &str, schema: schemars::Schema) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("docs")
        .join(name);
    let fresh = serde_json::to_string_pretty(&schema).expect("schemas serialize") + "\n";
    if std::env::var_os("JIFEN_BLESS").is_some() {
        std::fs::write(&path, &fresh).expect("docs/ is writable");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == fresh,
        "{} is stale: run `JIFEN_BLESS=1 cargo test --test schema` and commit it",
        path.display()
    );
}

#[test]
fn committed_schemas_match_the_types() {
    check("request.schema.json", schemars::schema_for!(Request));
    check("query.schema.json", schemars::schema_for!(Query));
    check("event.schema.json", schemars::schema_for!(Event));
}
