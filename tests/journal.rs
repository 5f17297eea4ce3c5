//! The durable journal as a user relies on it: commands survive a restart,
//! keys answer once, a second writer is refused, any change to the stored
//! past is named, checkpoints prove growth, snapshots never change the state.
#![cfg(feature = "sqlite")]

mod journal_support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use jifen::journal::{chain_hash, snapshot_key, Checkpoint, Journal, JournalError, SqliteJournal};
use jifen::{Engine, Error, ErrorCode, Event};
use journal_support as support;
use rusqlite::{params, Connection};

fn temp() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("county.jifen");
    (dir, path)
}

fn open(path: &Path, snapshot_every: u64) -> Result<Engine, Error> {
    Engine::open(
        path,
        Some(support::policy()),
        support::options(snapshot_every),
    )
}

/// Runs workload commands `range`; returns how many were accepted (a
/// transfer or deduction the balance cannot cover is refused and skipped).
fn run(engine: &Engine, range: std::ops::Range<u64>) -> usize {
    let mut accepted = 0;
    for i in range {
        match engine.execute(support::command(i, &format!("k{i}"))) {
            Ok(_) => accepted += 1,
            Err(error) if error.code() == ErrorCode::InsufficientPoints => {}
            Err(error) => panic!("command {i}: {error}"),
        }
    }
    accepted
}

/// A journal with the setup and `commands` workload commands; its head.
fn build(path: &Path, commands: u64, snapshot_every: u64) -> Checkpoint {
    let engine = open(path, snapshot_every).expect("opens");
    support::setup(&engine);
    run(&engine, 0..commands);
    engine.verify().expect("verifies")
}

/// Edits the file behind the engine's back (no engine may have it open; the
/// connection is closed again before returning, as any open connection keeps
/// the engine out).
fn tamper<T>(path: &Path, edit: impl FnOnce(&Connection) -> T) -> T {
    let conn = Connection::open(path).expect("the file opens for tampering");
    edit(&conn)
}

fn body(conn: &Connection, seq: u64) -> Vec<u8> {
    conn.query_row("SELECT body FROM records WHERE seq = ?1", [seq], |row| {
        row.get(0)
    })
    .expect("the record exists")
}

fn set_body(conn: &Connection, seq: u64, body: &[u8]) {
    conn.execute(
        "UPDATE records SET body = ?1 WHERE seq = ?2",
        params![body, seq],
    )
    .expect("updated");
}

fn journal_error(error: Error) -> JournalError {
    match error {
        Error::Journal(error) => error,
        other => panic!("expected a journal error, got {other}"),
    }
}

/// What `verify()` says after reopening the file (snapshots keep the open
/// from replaying the record under test).
fn verify_reopened(path: &Path) -> Result<Checkpoint, JournalError> {
    let engine = open(path, 1).expect("the journal opens from its snapshot");
    engine.verify().map_err(journal_error)
}

#[test]
fn commands_survive_a_restart_and_an_existing_journal_keeps_its_policy() {
    let (_dir, path) = temp();
    let head = build(&path, 80, 10_000);
    let balances = support::balances(&open(&path, 10_000).expect("reopens"));
    assert!(balances.iter().any(|b| *b > 0), "the workload moved points");

    let other = jifen::Policy::from_json(r#""kunming-2018""#).expect("a preset");
    let engine = Engine::open(&path, Some(other), support::options(10_000)).expect("reopens");
    assert_eq!(engine.checkpoint(), head);
    assert_eq!(engine.verify(), Ok(head.clone()));
    assert_eq!(support::balances(&engine), balances);
    assert_eq!(engine.read(|s| s.policies.versions().count()), 1);
    drop(engine);

    let engine = Engine::open(&path, None, support::options(10_000)).expect("needs no policy");
    assert_eq!(engine.checkpoint(), head);
    engine.check_invariants().expect("invariants hold");
}

#[test]
fn a_new_journal_needs_a_policy() {
    let (_dir, path) = temp();
    let error = Engine::open(&path, None, support::options(0)).expect_err("no policy");
    assert_eq!(error.code(), ErrorCode::NoPolicyInForce);
}

#[test]
fn a_key_answers_once_across_restarts_and_refuses_another_payload() {
    let (_dir, path) = temp();
    let engine = open(&path, 10_000).expect("opens");
    support::setup(&engine);
    let first = engine
        .execute(support::command(3, "pay-1"))
        .expect("accepted");
    let head = engine.checkpoint();
    assert_eq!(
        engine.execute(support::command(3, "pay-1")),
        Ok(first.clone())
    );
    let conflict = engine
        .execute(support::command(4, "pay-1"))
        .expect_err("same key, other payload");
    assert_eq!(conflict.code(), ErrorCode::IdempotencyConflict);
    assert_eq!(engine.checkpoint(), head, "neither retry recorded anything");
    drop(engine);

    let engine = open(&path, 10_000).expect("reopens");
    assert_eq!(engine.execute(support::command(3, "pay-1")), Ok(first));
    let conflict = engine
        .execute(support::command(4, "pay-1"))
        .expect_err("still refused");
    assert_eq!(conflict.code(), ErrorCode::IdempotencyConflict);
    // Setup registered everyone with keys: running it again is a no-op too.
    support::setup(&engine);
    assert_eq!(engine.checkpoint(), head);
}

#[test]
fn a_second_engine_on_the_same_file_is_refused_until_the_first_closes() {
    let (_dir, path) = temp();
    let first = open(&path, 0).expect("opens");
    let second = open(&path, 0).expect_err("the file is held");
    assert_eq!(second.code(), ErrorCode::JournalLocked);
    drop(first);
    open(&path, 0).expect("free again");
}

/// The child half of the cross-process lock test: opens the file named in
/// `JIFEN_LOCK_CHILD` and prints what happened.
#[test]
fn lock_child() {
    let Ok(path) = std::env::var("JIFEN_LOCK_CHILD") else {
        return;
    };
    let outcome = match open(Path::new(&path), 0) {
        Ok(_) => "ok",
        Err(error) => error.code().name(),
    };
    println!("open-result: {outcome}");
}

fn open_in_child(path: &Path) -> String {
    let mut child = Command::new(std::env::current_exe().expect("the test binary"))
        .args(["--exact", "lock_child", "--nocapture", "--test-threads=1"])
        .env("JIFEN_LOCK_CHILD", path)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the child starts");
    let deadline = Instant::now() + Duration::from_secs(30);
    while child.try_wait().expect("waits").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the child hung on a locked journal");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let output = child.wait_with_output().expect("output");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    stdout
        .lines()
        .find_map(|line| line.split("open-result: ").nth(1))
        .unwrap_or_else(|| panic!("the child printed no result: {stdout}"))
        .to_owned()
}

#[test]
fn another_process_gets_a_clear_locked_error_not_a_hang() {
    let (_dir, path) = temp();
    let engine = open(&path, 0).expect("opens");
    support::setup(&engine);
    assert_eq!(open_in_child(&path), "journal_locked");
    drop(engine);
    assert_eq!(open_in_child(&path), "ok");
}

#[test]
fn verify_names_the_record_whose_stored_bytes_changed() {
    let (_dir, path) = temp();
    let head = build(&path, 30, 1);
    for seq in 1..head.seq {
        let original = tamper(&path, |conn| body(conn, seq));
        let len = original.len();
        for offset in [0, 1, len / 3, len / 2, len - 2, len - 1] {
            let mut flipped = original.clone();
            flipped[offset] ^= 0x01;
            tamper(&path, |conn| set_body(conn, seq, &flipped));
            assert_eq!(
                verify_reopened(&path),
                Err(JournalError::TamperDetected { seq }),
                "byte {offset} of record {seq}"
            );
        }
        tamper(&path, |conn| set_body(conn, seq, &original));
    }
    for column in ["hash", "prev_hash"] {
        let seq = head.seq / 2;
        let sql = format!("UPDATE records SET {column} = ?1 WHERE seq = ?2");
        let original: String = tamper(&path, |conn| {
            conn.query_row(
                &format!("SELECT {column} FROM records WHERE seq = ?1"),
                [seq],
                |row| row.get(0),
            )
            .expect("read")
        });
        let first = if original.starts_with('f') { '0' } else { 'f' };
        let changed = format!("{first}{}", &original[1..]);
        tamper(&path, |conn| conn.execute(&sql, params![changed, seq])).expect("update");
        assert_eq!(
            verify_reopened(&path),
            Err(JournalError::TamperDetected { seq }),
            "{column} of record {seq}"
        );
        tamper(&path, |conn| conn.execute(&sql, params![original, seq])).expect("restore");
    }
    assert_eq!(verify_reopened(&path), Ok(head), "restored, it verifies");
}

#[test]
fn opening_refuses_a_changed_record_it_would_apply() {
    let (_dir, path) = temp();
    build(&path, 20, 0);
    let seq = 9;
    tamper(&path, |conn| {
        let mut changed = body(conn, seq);
        let at = changed.len() / 2;
        changed[at] ^= 0x04;
        set_body(conn, seq, &changed);
    });
    let error = open(&path, 0).expect_err("refused");
    assert_eq!(journal_error(error), JournalError::TamperDetected { seq });
}

/// Seals records `from` onward again over their stored bodies, as whoever
/// rewrites a journal whole would, so every hash and link holds.
fn reseal(conn: &Connection, from: u64) {
    let last: u64 = conn
        .query_row("SELECT MAX(seq) FROM records", [], |row| row.get(0))
        .expect("records");
    let mut prev: String = conn
        .query_row(
            "SELECT hash FROM records WHERE seq = ?1",
            [from - 1],
            |row| row.get(0),
        )
        .expect("the record before");
    for seq in from..=last {
        let hash = chain_hash(&prev, &body(conn, seq));
        conn.execute(
            "UPDATE records SET prev_hash = ?1, hash = ?2 WHERE seq = ?3",
            params![prev, hash, seq],
        )
        .expect("resealed");
        prev = hash;
    }
}

#[test]
fn opening_refuses_a_resealed_record_whose_award_no_command_could_post() {
    let (_dir, path) = temp();
    build(&path, 30, 0);
    let forged = tamper(&path, |conn| {
        let last: u64 = conn
            .query_row("SELECT MAX(seq) FROM records", [], |row| row.get(0))
            .expect("records");
        let seq = (2..=last)
            .find(|&seq| {
                let text = String::from_utf8(body(conn, seq)).expect("JSON");
                text.contains(r#""type":"award_posted""#)
            })
            .expect("the workload posts awards");
        let mut record: serde_json::Value =
            serde_json::from_slice(&body(conn, seq)).expect("a record body");
        let events = record["events"].as_array_mut().expect("events");
        let award = events
            .iter_mut()
            .find(|event| event["type"] == "award_posted")
            .expect("an award");
        award["credited"] = serde_json::json!(1_000_000_000_000_000_000i64);
        set_body(conn, seq, &serde_json::to_vec(&record).expect("JSON"));
        reseal(conn, seq);
        seq
    });
    let error = open(&path, 0).expect_err("refused");
    assert_eq!(error.code(), ErrorCode::JournalCorrupt);
    match journal_error(error) {
        JournalError::Corrupt { seq, detail } => {
            assert_eq!(seq, forged);
            assert!(detail.contains("credited 1000000000000000000"), "{detail}");
        }
        other => panic!("expected the record refused as corrupt, got {other}"),
    }
}

#[test]
fn a_byte_flipped_in_the_file_itself_is_named() {
    let (_dir, path) = temp();
    let engine = open(&path, 1).expect("opens");
    support::setup(&engine);
    let marked = engine
        .execute(
            serde_json::from_value(serde_json::json!({
                "actor": "admin", "reason": "marker-zzzz", "command": {
                    "type": "post_award", "household": "H01", "date": "2025-05-05", "points": 9}}))
            .expect("a request"),
        )
        .expect("accepted");
    run(&engine, 0..10);
    drop(engine);
    assert!(
        !path.with_extension("jifen-wal").exists(),
        "closing folds the WAL into the file"
    );
    // Stale copies may linger in free pages after b-tree splits: change
    // every copy, so that the live one is surely among them.
    let mut bytes = std::fs::read(&path).expect("read");
    let copies: Vec<usize> = bytes
        .windows(11)
        .enumerate()
        .filter(|(_, w)| *w == b"marker-zzzz")
        .map(|(at, _)| at)
        .collect();
    assert!(!copies.is_empty(), "the record's text is in the file");
    for at in copies {
        bytes[at + 7] = b'y';
    }
    std::fs::write(&path, bytes).expect("write");
    assert_eq!(
        verify_reopened(&path),
        Err(JournalError::TamperDetected { seq: marked.seq })
    );
}

#[test]
fn deleting_or_reordering_records_is_named() {
    let (_dir, path) = temp();
    let head = build(&path, 30, 1);
    let seq = 12;

    let row: (String, String, Option<String>, Vec<u8>) = tamper(&path, |conn| {
        conn.query_row(
            "SELECT prev_hash, hash, key, body FROM records WHERE seq = ?1",
            [seq],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?)),
        )
        .expect("read")
    });
    tamper(&path, |conn| {
        conn.execute("DELETE FROM records WHERE seq = ?1", [seq])
    })
    .expect("delete");
    assert_eq!(
        verify_reopened(&path),
        Err(JournalError::TamperDetected { seq })
    );
    tamper(&path, |conn| {
        conn.execute(
            "INSERT INTO records (seq, prev_hash, hash, key, body) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![seq, row.0, row.1, row.2, row.3],
        )
    })
    .expect("reinsert");
    assert_eq!(verify_reopened(&path), Ok(head.clone()));

    // Swap records 12 and 13 under their sequence numbers.
    tamper(&path, |conn| {
        conn.execute_batch(
            "UPDATE records SET seq = -1 WHERE seq = 12;
             UPDATE records SET seq = 12 WHERE seq = 13;
             UPDATE records SET seq = 13 WHERE seq = -1;",
        )
    })
    .expect("swap");
    assert_eq!(
        verify_reopened(&path),
        Err(JournalError::TamperDetected { seq })
    );
}

#[test]
fn a_checkpoint_proves_the_journal_only_grew() {
    let (_dir, path) = temp();
    build(&path, 20, 5);
    let fork = path.with_file_name("fork.jifen");
    std::fs::copy(&path, &fork).expect("copy");

    let engine = open(&path, 5).expect("reopens");
    let earlier = engine.checkpoint();
    run(&engine, 20..40);
    let checkpoint = engine.checkpoint();
    let head = engine.verify_against(&earlier).expect("it grew");
    assert_eq!(head, checkpoint);
    let genesis = Checkpoint {
        seq: 0,
        hash: jifen::journal::GENESIS_HASH.into(),
    };
    assert_eq!(engine.verify_against(&genesis), Ok(head.clone()));
    let wrong = Checkpoint {
        hash: "0".repeat(63) + "1",
        ..checkpoint.clone()
    };
    assert_eq!(
        engine.verify_against(&wrong).map_err(journal_error),
        Err(JournalError::CheckpointMismatch {
            seq: checkpoint.seq
        })
    );
    drop(engine);

    // A copy taken at `earlier` and continued differently: its own chain is
    // whole and longer, but it does not pass through the exported checkpoint.
    let engine = open(&fork, 5).expect("the fork opens");
    run(&engine, 100..130);
    assert!(engine.verify().is_ok());
    assert!(engine.checkpoint().seq > checkpoint.seq);
    assert_eq!(
        engine.verify_against(&checkpoint).map_err(journal_error),
        Err(JournalError::CheckpointMismatch {
            seq: checkpoint.seq
        })
    );
    drop(engine);

    // Cut short before the checkpoint: the rest still chains, so only the
    // checkpoint shows the loss.
    tamper(&path, |conn| {
        conn.execute("DELETE FROM records WHERE seq > ?1", [checkpoint.seq - 2])
    })
    .expect("truncate");
    let engine = open(&path, 5).expect("a shorter journal opens");
    assert_eq!(engine.verify().map(|h| h.seq), Ok(checkpoint.seq - 2));
    assert_eq!(
        engine.verify_against(&checkpoint).map_err(journal_error),
        Err(JournalError::CheckpointMismatch {
            seq: checkpoint.seq
        })
    );
}

/// A rich history touching every part of the state: policies, actors,
/// households, categories, statuses, cards, PINs, postings, vetoes, transfers,
/// use counts.
fn rich_history(engine: &Engine) {
    support::setup(engine);
    run(engine, 0..40);
    let steps = [
        r#"{"actor": "admin", "command": {"type": "adopt_policy", "effective_from": "2025-07-01", "policy": "baisha-2019"}}"#,
        r#"{"actor": "admin", "command": {"type": "register_actor", "actor": {"id": "keeper", "roles": ["store_keeper"]}}}"#,
        r#"{"actor": "admin", "command": {"type": "issue_card", "card": "C1", "household": "H01", "pin": "123456"}}"#,
        r#"{"actor": "admin", "command": {"type": "issue_card", "card": "C2", "household": "H02"}}"#,
        r#"{"actor": "keeper", "command": {"type": "verify_pin", "card": "C1", "pin": "000000"}}"#,
        r#"{"actor": "admin", "command": {"type": "replace_card", "old_card": "C2", "new_card": "C3"}}"#,
        r#"{"actor": "admin", "command": {"type": "set_pin", "card": "C3", "pin": "654321"}}"#,
        r#"{"actor": "admin", "command": {"type": "change_category", "household": "H04", "category": "poor", "effective_from": "2025-04-01"}}"#,
        r#"{"actor": "admin", "command": {"type": "set_household_status", "household": "H05", "status": "suspended"}}"#,
        r#"{"actor": "admin", "command": {"type": "update_household", "household": "H06", "attributes": {"phone": "138"}}}"#,
        r#"{"actor": "admin", "reason": "fight", "command": {"type": "post_veto", "household": "H07", "date": "2025-02-10"}}"#,
        r#"{"actor": "admin", "command": {"type": "grant_use_counts", "household": "H08", "kind": "haircut", "units": 4}}"#,
    ];
    for step in steps {
        // A wrong PIN is refused but its attempt is recorded; the rest succeed.
        let answer = engine.execute_json(step);
        if step.contains("000000") {
            assert_eq!(answer.map_err(|e| e.code()), Err(ErrorCode::WrongPin));
        } else {
            answer.unwrap_or_else(|e| panic!("{step}: {e}"));
        }
    }
}

fn state_text(engine: &Engine) -> String {
    engine.read(|state| format!("{state:?}"))
}

#[test]
fn a_snapshot_restores_exactly_the_state_a_full_replay_gives() {
    let (_dir, path) = temp();
    let engine = open(&path, 1).expect("opens");
    rich_history(&engine);
    let live = state_text(&engine);
    drop(engine);

    let journal = SqliteJournal::open(&path).expect("opens");
    let snapshot = journal
        .load_snapshot()
        .expect("reads")
        .expect("a snapshot was kept");
    let restored = snapshot
        .restore(&snapshot_key(support::PEPPER))
        .expect("the snapshot restores");
    assert_eq!(format!("{restored:?}"), live, "every field round-trips");
    drop(journal);

    tamper(&path, |conn| conn.execute("DELETE FROM snapshots", [])).expect("dropped");
    let replayed = open(&path, 0).expect("replays everything");
    assert_eq!(state_text(&replayed), live);
}

#[test]
fn a_missing_damaged_or_forged_snapshot_is_ignored_and_rebuilt() {
    let (_dir, path) = temp();
    let head = build(&path, 60, 5);
    let expected = {
        let engine = open(&path, 5).expect("opens");
        (support::balances(&engine), state_text(&engine))
    };
    let read_snapshot = |conn: &Connection| -> (Vec<u8>, String) {
        conn.query_row("SELECT state, digest FROM snapshots", [], |row| {
            Ok((row.get(0)?, row.get(1)?))
        })
        .expect("a snapshot row")
    };

    let forge = |conn: &Connection, (state, _): (Vec<u8>, String)| {
        // Give H00 a thousand more points, written exactly as the engine
        // writes a state, and reseal with a plain SHA-256: without the pepper
        // the forger cannot compute the keyed digest.
        let mut state: jifen::state::State = serde_json::from_slice(&state).expect("a state");
        let account = state
            .accounts
            .get_mut(&jifen::HouseholdId("H00".into()))
            .expect("H00 has an account");
        account.balance = jifen::Points(account.balance.get() + 1000);
        let forged = serde_json::to_vec(&state).expect("JSON");
        use sha2::Digest;
        let digest = hex::encode(sha2::Sha256::digest(&forged));
        conn.execute(
            "UPDATE snapshots SET state = ?1, digest = ?2",
            params![forged, digest],
        )
        .expect("forged");
    };
    let damage = |conn: &Connection, (mut state, _): (Vec<u8>, String)| {
        let at = state.len() / 2;
        state[at] ^= 0x20;
        conn.execute("UPDATE snapshots SET state = ?1", params![state])
            .expect("damaged");
    };
    let outdate = |conn: &Connection, _: (Vec<u8>, String)| {
        conn.execute(
            "UPDATE snapshots SET version = 'jifen 0.0.0 snapshot 1'",
            [],
        )
        .expect("outdated");
    };
    let remove = |conn: &Connection, _: (Vec<u8>, String)| {
        conn.execute("DELETE FROM snapshots", []).expect("removed");
    };
    type Spoil<'a> = &'a dyn Fn(&Connection, (Vec<u8>, String));
    let spoilers: [(&str, Spoil); 4] = [
        ("forged", &forge),
        ("damaged", &damage),
        ("outdated", &outdate),
        ("missing", &remove),
    ];
    for (what, spoil) in spoilers {
        tamper(&path, |conn| spoil(conn, read_snapshot(conn)));
        let engine = open(&path, 5).expect("opens without the snapshot");
        assert_eq!(support::balances(&engine), expected.0, "{what}");
        assert_eq!(state_text(&engine), expected.1, "{what}");
        assert_eq!(engine.checkpoint(), head);
        drop(engine);
        // Replaying more than `snapshot_every` events wrote a good one again.
        let journal = SqliteJournal::open(&path).expect("opens");
        let rebuilt = journal.load_snapshot().expect("reads").expect("rebuilt");
        assert_eq!(rebuilt.seq, head.seq, "{what}");
        rebuilt
            .restore(&snapshot_key(support::PEPPER))
            .unwrap_or_else(|e| panic!("{what}: the rebuilt snapshot restores: {e}"));
    }
}

#[test]
fn the_engine_handle_is_send_and_sync() {
    fn shareable<T: Send + Sync>() {}
    shareable::<Engine>();
}

/// Commands per writer thread on the SQLite journal, where each one waits
/// for the disk: 1,000 in a normal run, more with
/// `JIFEN_CONCURRENCY_COMMANDS` (e.g. 10000).
fn durable_load() -> u64 {
    std::env::var("JIFEN_CONCURRENCY_COMMANDS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1_000)
}

/// Eight writers and two readers on the SQLite journal lose nothing, and
/// reopening the file gives the same state.
#[test]
fn writers_and_readers_in_parallel_lose_nothing_on_sqlite() {
    let (_dir, path) = temp();
    let engine = open(&path, 2_000).expect("opens");
    in_parallel(&engine, 8, durable_load());
    let live = state_text(&engine);
    drop(engine);
    let reopened = open(&path, 2_000).expect("reopens");
    assert_eq!(state_text(&reopened), live);
}

/// The same with 8 × 10,000 commands on the memory journal, which has no
/// disk to wait for: the engine's own locking under heavy contention.
#[test]
fn writers_and_readers_in_parallel_lose_nothing_in_memory() {
    let engine = Engine::open_memory(support::policy(), support::options(0)).expect("opens");
    in_parallel(&engine, 8, 10_000);
}

/// `threads` writers and two readers at once: every accepted command is in
/// the journal exactly once with its own record, balances are exactly the sum
/// of the accepted outcomes, invariants hold at every read, and the chain
/// verifies.
fn in_parallel(engine: &Engine, threads: u64, per_thread: u64) {
    support::setup(engine);
    let start = engine.checkpoint();
    let done = std::sync::atomic::AtomicBool::new(false);

    let outcomes: Vec<(String, jifen::Outcome)> = std::thread::scope(|scope| {
        for _ in 0..2 {
            scope.spawn(|| {
                while !done.load(std::sync::atomic::Ordering::Relaxed) {
                    engine
                        .check_invariants()
                        .expect("invariants hold mid-flight");
                    assert_eq!(support::balances(engine).len(), support::HOUSEHOLDS);
                    std::thread::sleep(Duration::from_millis(1));
                }
            });
        }
        let writers: Vec<_> = (0..threads)
            .map(|t| {
                scope.spawn(move || {
                    let mut accepted = Vec::new();
                    for j in 0..per_thread {
                        let i = t * per_thread + j;
                        let key = format!("t{i}");
                        match engine.execute(support::command(i, &key)) {
                            Ok(outcome) => accepted.push((key, outcome)),
                            Err(e) if e.code() == ErrorCode::InsufficientPoints => {}
                            Err(e) => panic!("command {i}: {e}"),
                        }
                        // Now and then a client retries an earlier command of
                        // this thread: it must get the first answer back.
                        if j % 50 == 49 {
                            if let Some((key, first)) = accepted.get(accepted.len() / 2) {
                                let i: u64 = key[1..].parse().expect("numbered key");
                                let again = engine.execute(support::command(i, key));
                                assert_eq!(again.as_ref(), Ok(first), "retry of {key}");
                            }
                        }
                    }
                    accepted
                })
            })
            .collect();
        let outcomes = writers
            .into_iter()
            .flat_map(|writer| writer.join().expect("no writer panicked"))
            .collect();
        done.store(true, std::sync::atomic::Ordering::Relaxed);
        outcomes
    });

    let head = engine.verify().expect("the chain verifies");
    engine.check_invariants().expect("invariants hold");
    let seqs: std::collections::BTreeSet<u64> = outcomes.iter().map(|(_, o)| o.seq).collect();
    assert_eq!(
        seqs.len(),
        outcomes.len(),
        "each command has its own record"
    );
    assert_eq!(
        head.seq - start.seq,
        outcomes.len() as u64,
        "nothing but the accepted commands was recorded"
    );

    // Setup credits nobody: every balance starts at zero.
    let mut expected: BTreeMap<String, i64> = (0..support::HOUSEHOLDS)
        .map(|n| (support::household(n), 0))
        .collect();
    for (_, outcome) in &outcomes {
        for event in &outcome.events {
            match event {
                Event::AwardPosted(p) => {
                    *expected.entry(p.household.0.clone()).or_default() += p.credited.get()
                }
                Event::DeductionPosted(p) => {
                    *expected.entry(p.household.0.clone()).or_default() -= p.applied.get()
                }
                Event::PointsTransferred {
                    from, to, points, ..
                } => {
                    *expected.entry(from.0.clone()).or_default() -= points.get();
                    *expected.entry(to.0.clone()).or_default() += points.get();
                }
                other => panic!("unexpected event {other:?}"),
            }
        }
    }
    assert_eq!(
        support::balances(engine),
        expected.values().copied().collect::<Vec<_>>(),
        "balances are exactly the accepted outcomes"
    );
}
