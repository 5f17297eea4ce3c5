//! Crash injection: a child process runs keyed commands against a journal
//! file and prints each key as soon as the engine acknowledges it; the parent
//! kills it with SIGKILL at a random moment, reopens the file, and checks that
//! every acknowledged command is in the journal exactly once, nothing else
//! is, invariants hold, the chain verifies and only grew, and SQLite's own
//! integrity check passes.
//!
//! 200 cycles in a normal run; `JIFEN_CRASH_CYCLES=10000` for a soak.
#![cfg(feature = "sqlite")]

mod journal_support;

use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use jifen::journal::{Checkpoint, Journal, SqliteJournal, GENESIS_HASH};
use jifen::{Engine, ErrorCode, Event};
use journal_support as support;

/// Snapshots this often, so that kills also land while one is written.
const SNAPSHOT_EVERY: u64 = 50;

fn key(i: u64) -> String {
    format!("c{i}")
}

/// The child: opens the journal named in `JIFEN_CRASH_CHILD`, resends the
/// commands listed in `JIFEN_CRASH_RETRY`, then runs commands from
/// `JIFEN_CRASH_FROM` on until it is killed, printing `ack <i> <seq>` once
/// command `i` is acknowledged and `refused <i>` when the rules refuse it.
#[test]
fn crash_child() {
    let Ok(path) = std::env::var("JIFEN_CRASH_CHILD") else {
        return;
    };
    let number = |name: &str| -> Vec<u64> {
        std::env::var(name)
            .unwrap_or_default()
            .split(',')
            .filter_map(|n| n.parse().ok())
            .collect()
    };
    let from = number("JIFEN_CRASH_FROM")[0];
    let retry = number("JIFEN_CRASH_RETRY");
    let engine = match Engine::open(
        &path,
        Some(support::policy()),
        support::options(SNAPSHOT_EVERY),
    ) {
        Ok(engine) => engine,
        Err(error) => {
            println!("\nfailed open {}", error.code().name());
            return;
        }
    };
    support::setup(&engine);
    for i in retry.into_iter().chain(from..) {
        // Each line is one write to a pipe, so it arrives whole or not at all.
        match engine.execute(support::command(i, &key(i))) {
            Ok(outcome) => println!("\nack {i} {}", outcome.seq),
            Err(error) if error.code() == ErrorCode::InsufficientPoints => {
                println!("\nrefused {i}")
            }
            Err(error) => {
                println!("\nfailed {i} {}", error.code().name());
                return;
            }
        }
    }
}

/// A small deterministic generator, seeded per run (the seed is printed).
struct Rng(u64);

impl Rng {
    fn below(&mut self, bound: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % bound
    }
}

/// What the parent knows: acknowledged commands with their records, and how
/// far its own checks have read the journal.
struct Ledger {
    acked: HashMap<u64, u64>,
    seen_keys: HashMap<String, u64>,
    checked: Checkpoint,
    next: u64,
}

/// One cycle: spawn, kill after `delay`, return the child's complete lines.
fn run_child(path: &Path, from: u64, retry: &[u64], delay: Duration) -> Vec<String> {
    let retry: Vec<String> = retry.iter().map(u64::to_string).collect();
    let mut child = Command::new(std::env::current_exe().expect("the test binary"))
        .args(["--exact", "crash_child", "--nocapture", "--test-threads=1"])
        .env("JIFEN_CRASH_CHILD", path)
        .env("JIFEN_CRASH_FROM", from.to_string())
        .env("JIFEN_CRASH_RETRY", retry.join(","))
        .env("RUST_BACKTRACE", "0")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the child starts");
    std::thread::sleep(delay);
    // SIGKILL: no destructors, no flushing, no chance to finish the write.
    child.kill().expect("the child is killed");
    child.wait().expect("the child is reaped");
    let mut output = String::new();
    child
        .stdout
        .take()
        .expect("piped")
        .read_to_string(&mut output)
        .expect("the child's output");
    // Only whole lines count: a line cut by the kill was never acknowledged.
    let complete = output.rfind('\n').map_or("", |end| &output[..end]);
    complete.lines().map(str::to_owned).collect()
}

/// Checks the file after a kill and updates the ledger.
fn check_after_kill(path: &Path, ledger: &mut Ledger, lines: &[String], cycle: u64) {
    let mut tried = None;
    for line in lines {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["ack", i, seq] => {
                let (i, seq): (u64, u64) = (i.parse().expect("i"), seq.parse().expect("seq"));
                if let Some(first) = ledger.acked.insert(i, seq) {
                    assert_eq!(
                        first, seq,
                        "cycle {cycle}: a retry of {i} got its first record"
                    );
                }
                tried = Some(tried.map_or(i, |t: u64| t.max(i)));
            }
            ["refused", i] => {
                let i: u64 = i.parse().expect("i");
                tried = Some(tried.map_or(i, |t: u64| t.max(i)));
            }
            ["failed", ..] => panic!("cycle {cycle}: the child failed: {line}"),
            _ => {}
        }
    }
    // The command after the last answered one may or may not have been
    // stored when the kill came: the next child resends it with its key.
    if let Some(tried) = tried {
        ledger.next = ledger.next.max(tried + 1);
    }

    // SQLite's own view of the file, and the new records.
    let journal = SqliteJournal::open(path).expect("the journal reopens after a kill");
    journal
        .integrity_check()
        .unwrap_or_else(|e| panic!("cycle {cycle}: {e}"));
    let mut head = ledger.checked.clone();
    journal
        .replay(ledger.checked.seq + 1, &mut |record| {
            assert_eq!(record.body.seq, head.seq + 1);
            assert_eq!(record.prev_hash, head.hash);
            if let Some(key) = &record.body.key {
                let earlier = ledger.seen_keys.insert(key.clone(), record.body.seq);
                assert_eq!(earlier, None, "cycle {cycle}: key {key} stored twice");
                if let Some(i) = key.strip_prefix('c') {
                    check_whole(i.parse().expect("numbered key"), &record.body.events);
                }
            }
            head = Checkpoint {
                seq: record.body.seq,
                hash: record.hash,
            };
            Ok(())
        })
        .unwrap_or_else(|e| panic!("cycle {cycle}: {e}"));
    drop(journal);

    for (i, seq) in &ledger.acked {
        assert_eq!(
            ledger.seen_keys.get(&key(*i)),
            Some(seq),
            "cycle {cycle}: acknowledged command {i} is in its record"
        );
    }
    // Every stored workload command was either acknowledged or is the one
    // in flight, which the next child resends.
    for (key, _) in ledger.seen_keys.iter().filter(|(k, _)| k.starts_with('c')) {
        let i: u64 = key[1..].parse().expect("numbered key");
        assert!(
            ledger.acked.contains_key(&i) || i == ledger.next,
            "cycle {cycle}: command {i} is stored but was neither acknowledged nor in flight"
        );
    }

    if head.seq == 0 {
        // Killed before the first record: an empty journal, nothing to check.
        return;
    }
    let engine = Engine::open(path, None, support::options(SNAPSHOT_EVERY))
        .unwrap_or_else(|e| panic!("cycle {cycle}: the engine reopens: {e}"));
    engine
        .check_invariants()
        .unwrap_or_else(|e| panic!("cycle {cycle}: {e}"));
    let verified = engine
        .verify()
        .unwrap_or_else(|e| panic!("cycle {cycle}: {e}"));
    // The new records link to the head checked last time and the whole chain
    // verifies, so the journal only grew; every tenth cycle also asks the
    // engine to prove it from the checkpoint (another walk of every record).
    if cycle % 10 == 0 {
        engine
            .verify_against(&ledger.checked)
            .unwrap_or_else(|e| panic!("cycle {cycle}: the journal only grew: {e}"));
    }
    assert!(verified.seq >= head.seq);
    ledger.checked = head;
}

/// A stored workload command holds all of its effect: the one event its
/// command produces, for the household the command names.
fn check_whole(i: u64, events: &[Event]) {
    let request = support::command(i, &key(i));
    let wanted = serde_json::to_value(&request.command).expect("JSON");
    let household = |field: &str| wanted[field].as_str().expect("a household").to_owned();
    match (wanted["type"].as_str(), events) {
        (Some("post_award"), [Event::AwardPosted(p)]) => {
            assert_eq!(p.household.0, household("household"))
        }
        (Some("post_deduction"), [Event::DeductionPosted(p)]) => {
            assert_eq!(p.household.0, household("household"))
        }
        (Some("transfer_points"), [Event::PointsTransferred { from, to, .. }]) => {
            assert_eq!(
                (from.0.clone(), to.0.clone()),
                (household("from"), household("to"))
            )
        }
        (kind, events) => panic!("command {i} ({kind:?}) stored as {events:?}"),
    }
}

#[test]
fn killed_at_random_moments_the_journal_loses_and_duplicates_nothing() {
    let cycles: u64 = std::env::var("JIFEN_CRASH_CYCLES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(200);
    let seed = std::env::var("JIFEN_CRASH_SEED")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
                | 1
        });
    println!("crash test: {cycles} cycles, JIFEN_CRASH_SEED={seed}");
    let mut rng = Rng(seed);
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("kiosk.jifen");
    let mut ledger = Ledger {
        acked: HashMap::new(),
        seen_keys: HashMap::new(),
        checked: Checkpoint {
            seq: 0,
            hash: GENESIS_HASH.into(),
        },
        next: 0,
    };
    let started = Instant::now();
    let mut kills_by_phase: BTreeMap<&str, u64> = BTreeMap::new();
    for cycle in 0..cycles {
        // Mostly short lives (the kill lands in start-up, open or the first
        // commands), sometimes longer ones that cross snapshots.
        let delay = if rng.below(8) == 0 {
            Duration::from_millis(60 + rng.below(120))
        } else {
            Duration::from_millis(rng.below(60))
        };
        // Now and then resend an acknowledged command, as a client whose
        // answer was lost would: it must come back with its first record.
        let mut retry = Vec::new();
        if !ledger.acked.is_empty() && rng.below(3) == 0 {
            let keys: Vec<u64> = ledger.acked.keys().copied().collect();
            retry.push(keys[rng.below(keys.len() as u64) as usize]);
        }
        let lines = run_child(&path, ledger.next, &retry, delay);
        let acks = lines.iter().filter(|l| l.starts_with("ack")).count();
        *kills_by_phase
            .entry(if acks == 0 {
                "before any ack"
            } else {
                "mid-run"
            })
            .or_default() += 1;
        check_after_kill(&path, &mut ledger, &lines, cycle);
    }
    println!(
        "{cycles} kills in {:.1?}: {kills_by_phase:?}; {} commands acknowledged, {} records",
        started.elapsed(),
        ledger.acked.len(),
        ledger.checked.seq
    );
    assert!(
        kills_by_phase.get("mid-run").copied().unwrap_or(0) > cycles / 4,
        "most kills should land while commands run"
    );
}
