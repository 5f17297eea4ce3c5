//! The durable journal's speed targets:
//! - durable commands: ≥ 1,000 a second, p99 ≤ 10 ms for a single-household,
//!   redemption-sized keyed command with `synchronous=FULL`;
//! - open: a journal of 1,000,000 events in under 1 s (also 10k and 100k);
//! - verify: ≥ 2 million records a second.
//!
//! The large journals are generated once per run into a temporary directory,
//! when an open or verify benchmark is selected: a county of 2,000 households
//! posts keyed awards, deductions and transfers through an in-memory engine;
//! its records are imported into SQLite files in large transactions (durably
//! committing a million commands one by one would take far too long), with a
//! snapshot of the engine's state at 10k, 100k and 1M records, followed by a
//! tail of 2,000 more records that every measured open replays. The host
//! takes the notifications the postings raise every 1,000 commands.

use std::cell::OnceCell;
use std::collections::BTreeSet;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use jifen::card::PinHashCost;
use jifen::journal::{snapshot_key, Journal, JournalError, Record, Snapshot, SqliteJournal};
use jifen::{Engine, EngineOptions, Policy, Request};
use serde_json::json;

const HOUSEHOLDS: u64 = 2_000;
const SIZES: [u64; 3] = [10_000, 100_000, 1_000_000];
const TAIL: u64 = 2_000;
const PEPPER: &[u8] = b"bench pepper";

fn options() -> EngineOptions {
    EngineOptions::new(PEPPER).with_pin_hash_cost(PinHashCost::MINIMAL)
}

fn policy() -> Policy {
    Policy::from_json(r#""baisha-2019""#).expect("a preset")
}

fn request(value: serde_json::Value) -> Request {
    serde_json::from_value(value).expect("a well-formed request")
}

fn setup() -> Vec<Request> {
    let mut requests = vec![
        request(
            json!({"actor": "admin", "command": {"type": "register_actor",
            "actor": {"id": "admin", "roles": ["administrator"]}}}),
        ),
        request(
            json!({"actor": "admin", "command": {"type": "register_actor",
            "actor": {"id": "approver", "roles": ["township_approver"]}}}),
        ),
    ];
    for n in 0..HOUSEHOLDS {
        requests.push(request(json!({"actor": "admin", "command": {
            "type": "register_household", "household": format!("H{n:04}"),
            "region": {"county": "469025", "township": format!("T{}", n % 10),
                       "village": format!("V{}", n % 100)},
            "head": format!("户主{n}"), "category": if n % 5 == 0 { "poor" } else { "ordinary" },
            "category_from": "2024-01-01"}})));
    }
    requests
}

/// Command `i`: a keyed posting for one household, the size of a kiosk
/// redemption (one event, a key, a reason).
fn command(i: u64) -> Request {
    let household = format!("H{:04}", (i * 7919) % HOUSEHOLDS);
    let date = format!(
        "{}-{:02}-{:02}",
        2024 + (i / 50_000) % 2,
        1 + (i / 4_000) % 12,
        1 + i % 28
    );
    let command = match i % 10 {
        0..=5 => {
            json!({"type": "post_award", "household": household, "date": date, "points": 1 + i % 9})
        }
        6..=8 => {
            json!({"type": "post_deduction", "household": household, "date": date, "points": 1 + i % 3})
        }
        _ => json!({"type": "transfer_points", "from": household,
                    "to": format!("H{:04}", (i * 7919 + 1) % HOUSEHOLDS), "points": 1, "approver": "approver"}),
    };
    request(
        json!({"actor": "admin", "key": format!("kiosk-{i}"), "reason": "counter",
                   "at": "2026-01-10T02:00:00Z", "command": command}),
    )
}

/// The host collecting every pending notification.
fn take_notifications() -> Request {
    request(json!({"actor": "admin", "command": {"type": "take_notifications"}}))
}

/// Hands the engine's records over to the importer instead of storing them.
struct Capture(Arc<Mutex<Vec<Record>>>);

impl Journal for Capture {
    fn append(&mut self, record: &Record) -> Result<(), JournalError> {
        self.0.lock().expect("not poisoned").push(record.clone());
        Ok(())
    }
    fn replay(
        &self,
        _: u64,
        _: &mut dyn FnMut(Record) -> Result<(), JournalError>,
    ) -> Result<(), JournalError> {
        Ok(())
    }
    // Nothing is read back: every generated key is new.
    fn record(&self, _: u64) -> Result<Option<Record>, JournalError> {
        Ok(None)
    }
}

/// Files with 10k, 100k and 1M events (one event a record), a snapshot
/// after them and a tail of [`TAIL`] records.
fn generate(dir: &Path) -> Vec<(u64, PathBuf)> {
    let started = Instant::now();
    let captured = Arc::new(Mutex::new(Vec::new()));
    let engine = Engine::open_journal(
        Box::new(Capture(captured.clone())),
        Some(policy()),
        options(),
    )
    .expect("opens");
    let files: Vec<(u64, PathBuf)> = SIZES
        .iter()
        .map(|&n| (n, dir.join(format!("events-{n}.jifen"))))
        .collect();
    let mut journals: Vec<SqliteJournal> = files
        .iter()
        .map(|(_, path)| SqliteJournal::open(path).expect("a new journal"))
        .collect();
    let key = snapshot_key(PEPPER);
    let mut stops: BTreeSet<u64> = (1..=20).map(|k| k * 50_000).collect();
    stops.extend(SIZES.iter().flat_map(|&n| [n, n + TAIL]));
    for request in setup() {
        engine.execute(request).expect("setup");
    }
    let mut i = 0;
    for stop in stops {
        while engine.checkpoint().seq < stop {
            let _ = engine.execute(command(i));
            i += 1;
            // The host takes the households' notifications as it goes, as a
            // county's messaging gateway does; the outbox stays small.
            if i % 1_000 == 0 && engine.checkpoint().seq < stop {
                engine.execute(take_notifications()).expect("taken");
            }
        }
        let batch = std::mem::take(&mut *captured.lock().expect("not poisoned"));
        for ((size, _), journal) in files.iter().zip(&mut journals) {
            let upto = batch.partition_point(|record| record.body.seq <= size + TAIL);
            journal.append_all(&batch[..upto]).expect("imported");
            if stop == *size {
                let snapshot = engine
                    .read(|state| Snapshot::capture(state, &key))
                    .expect("the state serializes");
                journal.save_snapshot(&snapshot).expect("kept");
            }
        }
    }
    eprintln!(
        "generated {} records in {:.1?}",
        engine.checkpoint().seq,
        started.elapsed()
    );
    files
}

/// Durable commands one after another, each timed on its own: criterion
/// reports the mean; the percentiles (the p99 is the target) are printed
/// from the same measurements.
fn durable_commands(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let engine =
        Engine::open(dir.path().join("kiosk.jifen"), Some(policy()), options()).expect("opens");
    for request in setup() {
        engine.execute(request).expect("setup");
    }
    let mut latencies = Vec::new();
    let mut i = 0;
    let mut group = c.benchmark_group("journal");
    group.throughput(Throughput::Elements(1));
    group.sample_size(20);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(8));
    group.bench_function("durable_command", |b| {
        b.iter_custom(|iterations| {
            let mut total = Duration::ZERO;
            for _ in 0..iterations {
                i += 1;
                let started = Instant::now();
                let _ = black_box(engine.execute(command(i)));
                let took = started.elapsed();
                latencies.push(took);
                total += took;
            }
            total
        })
    });
    group.finish();
    if !latencies.is_empty() {
        latencies.sort();
        let percentile = |p: usize| latencies[(latencies.len() - 1) * p / 100];
        eprintln!(
            "durable commands: {} timed; p50 {:.2?}, p99 {:.2?}, max {:.2?}",
            latencies.len(),
            percentile(50),
            percentile(99),
            latencies[latencies.len() - 1]
        );
    }
}

fn open_and_verify(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let files = OnceCell::new();
    let files = || files.get_or_init(|| generate(dir.path()));

    let mut group = c.benchmark_group("open");
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(1));
    for (index, size) in SIZES.iter().enumerate() {
        group.bench_function(BenchmarkId::from_parameter(size), |b| {
            let path = &files()[index].1;
            b.iter(|| Engine::open(path, None, options()).expect("opens"))
        });
    }
    group.finish();

    let records = SIZES[2] + TAIL;
    let mut group = c.benchmark_group("verify");
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(10));
    group.throughput(Throughput::Elements(records));
    group.bench_function(BenchmarkId::from_parameter(records), |b| {
        let engine = Engine::open(&files()[2].1, None, options()).expect("opens");
        assert_eq!(engine.checkpoint().seq, records);
        b.iter(|| engine.verify().expect("verifies"))
    });
    group.finish();
}

criterion_group!(benches, durable_commands, open_and_verify);
criterion_main!(benches);
