//! A journal file rewritten and sealed again over an award no command could
//! post is refused by `jf_engine_open` with `JF_STATUS_JOURNAL_CORRUPT`: the
//! core's refusal, reached through the C ABI.

use std::ffi::{c_char, CString};
use std::path::Path;
use std::ptr::null_mut;

use jifen::jf_string_free;
use jifen::{jf_engine, jf_engine_execute, jf_engine_free, jf_engine_open, jf_engine_options};
use jifen_core::journal::chain_hash;
use jifen_core::ErrorCode;
use rusqlite::{params, Connection};

const PEPPER: &[u8] = b"journal-bound-pepper";
const MINIMAL: jf_engine_options = jf_engine_options {
    pin_hash_memory_kib: 8,
    pin_hash_iterations: 1,
};

/// Opens the file engine at `path`; the status and the handle (NULL on failure).
fn open(path: &Path, policy: Option<&str>) -> (ErrorCode, *mut jf_engine) {
    let path = CString::new(path.to_str().expect("a UTF-8 path")).expect("no NUL");
    let policy = policy.map(|p| CString::new(p).expect("no NUL"));
    let mut engine = null_mut();
    // SAFETY: NUL-terminated strings, a pepper of its length, options and an
    // out-pointer that live across the call.
    let status = unsafe {
        jf_engine_open(
            path.as_ptr(),
            policy.as_ref().map_or(std::ptr::null(), |p| p.as_ptr()),
            PEPPER.as_ptr(),
            PEPPER.len(),
            &MINIMAL,
            &mut engine,
        )
    };
    (status, engine)
}

fn execute(engine: *mut jf_engine, request: &str) -> ErrorCode {
    let request = CString::new(request).expect("no NUL");
    let mut answer: *mut c_char = null_mut();
    // SAFETY: a live handle, a NUL-terminated request and an out-pointer.
    let status = unsafe { jf_engine_execute(engine, request.as_ptr(), &mut answer) };
    // SAFETY: made by the library, freed once (NULL is refused harmlessly).
    unsafe { jf_string_free(answer) };
    status
}

#[test]
fn a_resealed_award_no_command_could_post_is_refused_on_open() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("county.jifen");
    let (status, engine) = open(&path, Some(r#""baisha-2019""#));
    assert_eq!(status, ErrorCode::Ok);
    for request in [
        r#"{"actor":"admin","command":{"type":"register_actor","actor":{"id":"admin","roles":["administrator"]}}}"#,
        r#"{"actor":"admin","command":{"type":"register_household","household":"H1","region":{"county":"C","township":"T","village":"V"},"head":"h","category":"poor","category_from":"2025-01-01"}}"#,
        r#"{"actor":"admin","reason":"import","command":{"type":"post_award","household":"H1","date":"2025-03-05","points":100}}"#,
    ] {
        assert_eq!(execute(engine, request), ErrorCode::Ok, "{request}");
    }
    // SAFETY: the handle opened above, freed once.
    unsafe { jf_engine_free(engine) };

    let conn = Connection::open(&path).expect("the file opens");
    let (seq, prev_hash, body): (i64, String, Vec<u8>) = conn
        .query_row(
            "SELECT seq, prev_hash, body FROM records WHERE instr(body, 'award_posted') > 0",
            [],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
        )
        .expect("the award's record");
    let mut record: serde_json::Value = serde_json::from_slice(&body).expect("a record body");
    let award = record["events"]
        .as_array_mut()
        .and_then(|events| events.iter_mut().find(|e| e["type"] == "award_posted"))
        .expect("an award");
    award["credited"] = serde_json::json!(1_000_000_000_000_000_000i64);
    let forged = serde_json::to_vec(&record).expect("JSON");
    let sealed = chain_hash(&prev_hash, &forged);
    conn.execute(
        "UPDATE records SET body = ?1, hash = ?2 WHERE seq = ?3",
        params![forged, sealed, seq],
    )
    .expect("rewritten");
    let last: i64 = conn
        .query_row("SELECT MAX(seq) FROM records", [], |row| row.get(0))
        .expect("records");
    assert_eq!(
        last, seq,
        "the award's record is the last, so no later link breaks"
    );
    drop(conn);

    let (status, engine) = open(&path, None);
    assert_eq!(status, ErrorCode::JournalCorrupt);
    assert!(engine.is_null());
}
