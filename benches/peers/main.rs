//! The peer comparison: one dataset (10M households, 100M entries sorted by
//! household and shuffled, 5M redemptions, 50k stores at `--scale 1`),
//! settled by jifen and by Polars, DuckDB and pandas implementations of the
//! same rules; every result must be identical. See benches/README.md.
//!
//! `cargo bench --bench peers -- [--scale 0.1] [--threads 2] [--repeat 3]
//!  [--data DIR] [--no-peers] [--peers polars,duckdb,pandas,jifen-python]`

mod floor;
mod npy;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use jifen::settlement::bulk::{
    settle, settle_into, Entries, Households, MonthInput, MonthRules, Redemptions, Regions,
    SettleOptions, Settlement,
};
use jifen::settlement::synthetic::{Population, PopulationSpec};
use jifen::{Policy, Yuan};
use serde_json::{json, Value};

/// A Rust program embedding jifen, on the allocator its C library and
/// Python module use: the loaded columns and the results get huge pages, as
/// numpy gives the arrays every Python implementation reads and writes.
#[global_allocator]
static ALLOCATOR: jifen_alloc::LargeBlocks = jifen_alloc::LargeBlocks;

/// The dataset's seed; changing it changes every figure.
const SEED: u64 = 2025;
/// The bench's policy: Baisha's caps, with a point value that makes the
/// half-up rounding to the fen matter.
const POLICY: &str = r#"{"extends": "baisha-2019", "point_value": "0.125"}"#;

struct Args {
    scale: f64,
    threads: usize,
    repeat: usize,
    data: Option<PathBuf>,
    peers: Option<String>,
    no_peers: bool,
    settle: Option<(PathBuf, String)>,
}

fn args() -> Args {
    let mut args = Args {
        scale: 0.1,
        threads: SettleOptions::default().threads,
        repeat: 3,
        data: None,
        peers: None,
        no_peers: false,
        settle: None,
    };
    let mut given = std::env::args().skip(1);
    while let Some(arg) = given.next() {
        let mut value = || {
            given
                .next()
                .unwrap_or_else(|| panic!("{arg} needs a value"))
        };
        match arg.as_str() {
            "--scale" => args.scale = value().parse().expect("--scale takes a number"),
            "--threads" => args.threads = value().parse().expect("--threads takes a number"),
            "--repeat" => args.repeat = value().parse().expect("--repeat takes a number"),
            "--data" => args.data = Some(value().into()),
            "--peers" => args.peers = Some(value()),
            "--no-peers" => args.no_peers = true,
            "--settle" => {
                let dir = value();
                args.settle = Some((dir.into(), value()));
            }
            // cargo bench passes --bench; anything else is a filter we ignore.
            _ => {}
        }
    }
    args
}

fn main() {
    let args = args();
    if let Some((dir, variant)) = &args.settle {
        let report = settle_files(dir, variant, args.threads, args.repeat);
        println!("{report}");
        return;
    }
    let dir = args.data.clone().unwrap_or_else(|| {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("target/peers")
            .join(format!("scale-{}", args.scale))
    });
    prepare(&dir, args.scale);
    std::fs::create_dir_all(dir.join("results")).expect("results directory");
    let me = std::env::current_exe().expect("the bench binary");
    for variant in ["sorted", "shuffled"] {
        let output = Command::new(&me)
            .args(["--settle", &dir.to_string_lossy(), variant])
            .args(["--threads", &args.threads.to_string()])
            .args(["--repeat", &args.repeat.to_string()])
            .output()
            .expect("run the jifen settlement");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let report = String::from_utf8_lossy(&output.stdout);
        eprintln!("jifen (Rust) {variant}: {}", report.trim());
        std::fs::write(
            dir.join(format!("results/jifen-rust-{variant}.json")),
            report.as_bytes(),
        )
        .expect("write the report");
    }
    if args.no_peers {
        return;
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/peers/compare.py");
    let mut python = Command::new(std::env::var("PYTHON").unwrap_or_else(|_| "python3".into()));
    python
        .arg(script)
        .args(["--data", &dir.to_string_lossy()])
        .args(["--repeat", &args.repeat.to_string()]);
    if let Some(peers) = &args.peers {
        python.args(["--peers", peers]);
    }
    let status = python
        .status()
        .expect("run python3 benches/peers/compare.py");
    std::process::exit(status.code().unwrap_or(1));
}

/// The population of `scale` × 10M households, as the generator makes it.
fn spec(scale: f64) -> PopulationSpec {
    let households = ((10_000_000.0 * scale).round() as usize).max(1);
    let mut spec = PopulationSpec::new(households, SEED);
    spec.entries = households * 10;
    spec.redemptions = households / 2;
    spec.stores = households.div_ceil(200);
    spec
}

/// Writes the dataset once (kept between runs of the same scale).
fn prepare(dir: &Path, scale: f64) {
    let meta_path = dir.join("meta.json");
    if let Ok(text) = std::fs::read_to_string(&meta_path) {
        let meta: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        if meta["seed"] == json!(SEED)
            && meta["scale"] == json!(scale)
            && meta["policy"] == json!(POLICY)
        {
            eprintln!("dataset: reusing {}", dir.display());
            return;
        }
    }
    let started = Instant::now();
    let policy = Policy::from_json(POLICY).expect("the bench policy");
    let spec = spec(scale);
    let mut population = Population::generate(&policy, &spec).expect("generate");
    eprintln!(
        "dataset: generated {} households, {} entries, {} redemptions in {:.1?}",
        spec.households,
        population.entries.household.len(),
        population.redemptions.household.len(),
        started.elapsed()
    );
    for sub in [
        "households",
        "regions",
        "entries_sorted",
        "entries_shuffled",
        "redemptions",
    ] {
        std::fs::create_dir_all(dir.join(sub)).expect("dataset directory");
    }
    let w = |name: &str| dir.join(name);
    let p = &population;
    let io = |r: std::io::Result<()>| r.expect("write the dataset");
    io(npy::write(
        &w("households/category.npy"),
        &p.households.category,
    ));
    io(npy::write(
        &w("households/village.npy"),
        &p.households.village,
    ));
    io(npy::write(
        &w("households/opening_balance.npy"),
        &p.households.opening_balance,
    ));
    io(npy::write(
        &w("households/ytd_credited.npy"),
        &p.households.ytd_credited,
    ));
    io(npy::write(
        &w("regions/village_township.npy"),
        &p.regions.village_township,
    ));
    io(npy::write(
        &w("regions/township_county.npy"),
        &p.regions.township_county,
    ));
    io(npy::write(
        &w("redemptions/household.npy"),
        &p.redemptions.household,
    ));
    io(npy::write(
        &w("redemptions/store.npy"),
        &p.redemptions.store,
    ));
    io(npy::write(
        &w("redemptions/points.npy"),
        &p.redemptions.points,
    ));
    io(npy::write(
        &w("redemptions/reimbursable.npy"),
        &p.redemptions.reimbursable,
    ));
    let entries = |p: &Population, sub: &str| {
        io(npy::write(
            &w(&format!("{sub}/household.npy")),
            &p.entries.household,
        ));
        io(npy::write(&w(&format!("{sub}/kind.npy")), &p.entries.kind));
        io(npy::write(
            &w(&format!("{sub}/points.npy")),
            &p.entries.points,
        ));
        io(npy::write(&w(&format!("{sub}/day.npy")), &p.entries.day));
        io(npy::write(
            &w(&format!("{sub}/order.npy")),
            &p.entries.order,
        ));
    };
    entries(&population, "entries_sorted");
    population.shuffle_entries(SEED);
    entries(&population, "entries_shuffled");
    let rules = MonthRules::for_categories(&policy, spec.month, &population.categories)
        .expect("the bench rules");
    let categories: Vec<Value> = population
        .categories
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let limits = rules.limits(i).expect("a category of the rules");
            json!({"name": name, "monthly": limits.monthly, "annual": limits.annual})
        })
        .collect();
    let meta = json!({
        "seed": SEED,
        "scale": scale,
        "policy": POLICY,
        "month": spec.month.to_string(),
        "households": spec.households,
        "entries": population.entries.household.len(),
        "redemptions": population.redemptions.household.len(),
        "stores": population.stores,
        "villages": population.regions.village_township.len(),
        "townships": population.regions.township_county.len(),
        "counties": population.regions.counties,
        "point_value": policy.point_value.to_string(),
        "rounding": "half_up_to_fen",
        "categories": categories,
    });
    std::fs::write(
        meta_path,
        serde_json::to_string_pretty(&meta).expect("json"),
    )
    .expect("write meta");
    eprintln!(
        "dataset: written to {} in {:.1?}",
        dir.display(),
        started.elapsed()
    );
}

/// The dataset's columns, loaded.
struct Loaded {
    category: Vec<u32>,
    village: Vec<u32>,
    opening_balance: Vec<i64>,
    ytd_credited: Vec<i64>,
    village_township: Vec<u32>,
    township_county: Vec<u32>,
    entry_household: Vec<u32>,
    entry_kind: Vec<u8>,
    entry_points: Vec<i64>,
    entry_day: Vec<u8>,
    entry_order: Vec<u32>,
    redemption_household: Vec<u32>,
    redemption_store: Vec<u32>,
    redemption_points: Vec<i64>,
    redemption_reimbursable: Vec<u8>,
}

impl Loaded {
    fn read(dir: &Path, variant: &str) -> Loaded {
        let r = |name: &str| dir.join(name);
        let e = |name: &str| dir.join(format!("entries_{variant}/{name}"));
        let io = |what: &str, e: std::io::Error| -> ! { panic!("read {what}: {e}") };
        macro_rules! load {
            ($path:expr) => {
                npy::read(&$path).unwrap_or_else(|err| io(&$path.to_string_lossy(), err))
            };
        }
        Loaded {
            category: load!(r("households/category.npy")),
            village: load!(r("households/village.npy")),
            opening_balance: load!(r("households/opening_balance.npy")),
            ytd_credited: load!(r("households/ytd_credited.npy")),
            village_township: load!(r("regions/village_township.npy")),
            township_county: load!(r("regions/township_county.npy")),
            entry_household: load!(e("household.npy")),
            entry_kind: load!(e("kind.npy")),
            entry_points: load!(e("points.npy")),
            entry_day: load!(e("day.npy")),
            entry_order: load!(e("order.npy")),
            redemption_household: load!(r("redemptions/household.npy")),
            redemption_store: load!(r("redemptions/store.npy")),
            redemption_points: load!(r("redemptions/points.npy")),
            redemption_reimbursable: load!(r("redemptions/reimbursable.npy")),
        }
    }

    fn input(&self, counties: u32, stores: u32) -> MonthInput<'_> {
        MonthInput {
            households: Households {
                category: &self.category,
                village: &self.village,
                opening_balance: &self.opening_balance,
                ytd_credited: &self.ytd_credited,
                ytd_deducted: &[],
            },
            regions: Regions {
                village_township: &self.village_township,
                township_county: &self.township_county,
                counties,
            },
            entries: Entries {
                household: &self.entry_household,
                kind: &self.entry_kind,
                points: &self.entry_points,
                day: &self.entry_day,
                order: &self.entry_order,
            },
            redemptions: Redemptions {
                household: &self.redemption_household,
                store: &self.redemption_store,
                points: &self.redemption_points,
                reimbursable: &self.redemption_reimbursable,
            },
            stores,
        }
    }

    /// The bytes of every input column.
    fn bytes(&self) -> usize {
        4 * (self.category.len() + self.village.len())
            + 8 * (self.opening_balance.len() + self.ytd_credited.len())
            + 4 * (self.village_township.len() + self.township_county.len())
            + self.entry_household.len() * (4 + 1 + 8 + 1 + 4)
            + self.redemption_household.len() * (4 + 4 + 8 + 1)
    }
}

/// The process's peak resident memory so far, in bytes (Linux).
fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Loads one variant, settles it `repeat` times allocating its outputs and
/// `repeat` times reusing them, writes the results and returns the timings
/// as JSON.
fn settle_files(dir: &Path, variant: &str, threads: usize, repeat: usize) -> Value {
    let meta: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("meta.json")).expect("meta.json"))
            .expect("meta.json is JSON");
    let policy = Policy::from_json(POLICY).expect("the bench policy");
    let month = meta["month"]
        .as_str()
        .and_then(|m| m.parse().ok())
        .expect("month");
    let categories: Vec<jifen::Category> = meta["categories"]
        .as_array()
        .expect("categories")
        .iter()
        .map(|c| c["name"].as_str().expect("a category name").into())
        .collect();
    let rules = MonthRules::for_categories(&policy, month, &categories).expect("rules");
    let loaded = Loaded::read(dir, variant);
    let input = loaded.input(
        meta["counties"].as_u64().expect("counties") as u32,
        meta["stores"].as_u64().expect("stores") as u32,
    );
    let options = SettleOptions::with_threads(threads);
    // Each timed run allocates its outputs, as every peer's and the Python
    // call's do; then the same number of runs reuse them, as a caller
    // settling one population under many policies would (`settle_into`).
    let mut seconds = Vec::new();
    let mut settled = Settlement::default();
    for _ in 0..repeat.max(1) {
        drop(std::mem::take(&mut settled));
        let started = Instant::now();
        settled = settle(&rules, &input, options).expect("the dataset settles");
        seconds.push(started.elapsed().as_secs_f64());
    }
    // The peak of the runs that allocate, as every peer's is; the reusing
    // runs hold a result while they settle, and keep their own peak.
    let peak = peak_rss();
    let mut seconds_reusing = Vec::new();
    for _ in 0..repeat.max(1) {
        let started = Instant::now();
        settle_into(&rules, &input, options, &mut settled).expect("the dataset settles");
        seconds_reusing.push(started.elapsed().as_secs_f64());
    }
    let peak_reusing = peak_rss();
    let mut seconds_floor = Vec::new();
    for _ in 0..repeat.max(1) {
        let started = Instant::now();
        std::hint::black_box(floor::touch_once(&input, &mut settled.households, threads));
        seconds_floor.push(started.elapsed().as_secs_f64());
    }
    // The floor wrote over the households' results.
    settle_into(&rules, &input, options, &mut settled).expect("the dataset settles");
    let out = dir.join(format!("out/jifen-rust-{variant}"));
    write_results(&out, &settled);
    json!({
        "implementation": "jifen (Rust)",
        "variant": variant,
        "threads": threads,
        "seconds": seconds,
        "seconds_reusing": seconds_reusing,
        "seconds_floor": seconds_floor,
        "peak_rss_bytes": peak,
        "peak_rss_reusing_bytes": peak_reusing,
        "input_bytes": loaded.bytes(),
        "results": out,
    })
}

fn fen(amounts: &[Yuan]) -> Vec<i64> {
    amounts
        .iter()
        .map(|a| a.whole_fen().expect("whole fen"))
        .collect()
}

/// Writes a settlement's columns as `.npy` files the comparison reads.
fn write_results(dir: &Path, settled: &Settlement) {
    std::fs::create_dir_all(dir).expect("results directory");
    let io = |r: std::io::Result<()>| r.expect("write results");
    let h = &settled.households;
    for (name, column) in [
        ("awarded", &h.awarded),
        ("credited", &h.credited),
        ("capped", &h.capped),
        ("vetoed", &h.vetoed),
        ("deducted", &h.deducted),
        ("unapplied", &h.unapplied),
        ("net", &h.net),
        ("closing_balance", &h.closing_balance),
        ("ytd_credited", &h.ytd_credited),
    ] {
        io(npy::write(
            &dir.join(format!("households_{name}.npy")),
            column,
        ));
    }
    let s = &settled.totals.stores;
    io(npy::write(&dir.join("stores_redeemed.npy"), &s.redeemed));
    io(npy::write(
        &dir.join("stores_reimbursable.npy"),
        &s.reimbursable,
    ));
    io(npy::write(
        &dir.join("stores_amount_fen.npy"),
        &fen(&s.amount),
    ));
    for (level, totals) in [
        ("villages", &settled.totals.villages),
        ("townships", &settled.totals.townships),
        ("counties", &settled.totals.counties),
    ] {
        io(npy::write(
            &dir.join(format!("{level}_households.npy")),
            &totals.households,
        ));
        for (name, column) in [
            ("awarded", &totals.awarded),
            ("credited", &totals.credited),
            ("capped", &totals.capped),
            ("vetoed", &totals.vetoed),
            ("deducted", &totals.deducted),
            ("unapplied", &totals.unapplied),
            ("redeemed", &totals.redeemed),
            ("balance", &totals.balance),
        ] {
            io(npy::write(&dir.join(format!("{level}_{name}.npy")), column));
        }
        io(npy::write(
            &dir.join(format!("{level}_liability_fen.npy")),
            &fen(&totals.liability),
        ));
    }
}
