//! The C surface's bulk settlement against the Rust call it wraps, in one
//! run: `jf_settle_month` into a caller's arrays, `settle_columns` into the
//! same arrays from Rust, and `settle` into fresh vectors. Prints each call's
//! best time of three, what it adds to the process's peak memory, and the C
//! call's time over the Rust one's.
//!
//! `cargo bench -p jifen-ffi --bench c_settle [-- HOUSEHOLDS]` (default
//! 5,000,000 households, 10 entries each; entries sorted, then shuffled).

use std::ffi::{c_char, CString};
use std::ptr::{null, null_mut};
use std::time::Instant;

use jifen::{
    jf_engine, jf_engine_free, jf_engine_open_memory, jf_settle_household_results, jf_settle_input,
    jf_settle_month, jf_settle_output, jf_settle_region_results, jf_settle_store_results,
};
use jifen_core::settlement::bulk::{
    settle, settle_columns, HouseholdResults, MonthRules, SettleOptions,
};
use jifen_core::settlement::synthetic::{Population, PopulationSpec};
use jifen_core::{ErrorCode, Policy};

const RUNS: usize = 3;
const THREADS: usize = 2;

/// The process's peak resident memory in MiB (`VmHWM`).
fn peak_mib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    Some(line.split_whitespace().nth(1)?.parse::<u64>().ok()? / 1024)
}

/// Runs `call` [`RUNS`] times; returns the best seconds and how far the
/// process's peak memory rose above what it held before (Linux resets the
/// peak to the current size when 5 is written to `clear_refs`).
fn measure(mut call: impl FnMut()) -> (f64, Option<u64>) {
    let reset = std::fs::write("/proc/self/clear_refs", "5").is_ok();
    let before = peak_mib();
    let mut best = f64::INFINITY;
    for _ in 0..RUNS {
        let started = Instant::now();
        call();
        best = best.min(started.elapsed().as_secs_f64());
    }
    let rise = match (reset, before, peak_mib()) {
        (true, Some(before), Some(after)) => Some(after.saturating_sub(before)),
        _ => None,
    };
    (best, rise)
}

/// A caller's ten household result columns of `rows` values, first touched.
fn caller_columns(rows: usize) -> HouseholdResults {
    let column = || vec![-1i64; rows];
    HouseholdResults {
        awarded: column(),
        credited: column(),
        capped: column(),
        vetoed: column(),
        deducted: column(),
        unapplied: column(),
        net: column(),
        closing_balance: column(),
        ytd_credited: column(),
        ytd_deducted: column(),
    }
}

/// Every household column into `columns`; the totals into none (their
/// capacities cover the tables, so the call checks them as a caller's).
fn output(p: &Population, columns: &mut HouseholdResults) -> jf_settle_output {
    let regions = |capacity| jf_settle_region_results {
        capacity,
        households: null_mut(),
        awarded: null_mut(),
        credited: null_mut(),
        capped: null_mut(),
        vetoed: null_mut(),
        deducted: null_mut(),
        unapplied: null_mut(),
        redeemed: null_mut(),
        balance: null_mut(),
        liability_fen: null_mut(),
    };
    jf_settle_output {
        households: jf_settle_household_results {
            capacity: columns.len(),
            awarded: columns.awarded.as_mut_ptr(),
            credited: columns.credited.as_mut_ptr(),
            capped: columns.capped.as_mut_ptr(),
            vetoed: columns.vetoed.as_mut_ptr(),
            deducted: columns.deducted.as_mut_ptr(),
            unapplied: columns.unapplied.as_mut_ptr(),
            net: columns.net.as_mut_ptr(),
            closing_balance: columns.closing_balance.as_mut_ptr(),
            ytd_credited: columns.ytd_credited.as_mut_ptr(),
            ytd_deducted: columns.ytd_deducted.as_mut_ptr(),
        },
        stores: jf_settle_store_results {
            capacity: p.stores as usize,
            redeemed: null_mut(),
            reimbursable: null_mut(),
            amount_fen: null_mut(),
        },
        villages: regions(p.regions.village_township.len()),
        townships: regions(p.regions.township_county.len()),
        counties: regions(p.regions.counties as usize),
    }
}

fn open(policy: &Policy) -> *mut jf_engine {
    let json = CString::new(serde_json::to_string(policy).expect("policy JSON")).expect("no NUL");
    let mut engine = null_mut();
    let status = unsafe { jf_engine_open_memory(json.as_ptr(), null(), 0, null(), &mut engine) };
    assert_eq!(status, ErrorCode::Ok, "the engine opens");
    engine
}

fn row(call: &str, (seconds, rise): (f64, Option<u64>), against: f64) {
    let rise = rise.map_or_else(|| "n/a".to_owned(), |mib| mib.to_string());
    println!(
        "{call:<36}{seconds:>8.3}{rise:>14}{:>12.2}x",
        seconds / against
    );
}

fn main() {
    let households = std::env::args()
        .skip(1)
        .find_map(|arg| arg.parse::<usize>().ok())
        .unwrap_or(5_000_000);
    let policy = Policy::from_json("baisha-2019").expect("preset");
    let spec = PopulationSpec::new(households, 2025);
    let mut population = Population::generate(&policy, &spec).expect("population");
    let rules =
        MonthRules::for_categories(&policy, spec.month, &population.categories).expect("rules");
    let names: Vec<CString> = population
        .categories
        .iter()
        .map(|c| CString::new(c.0.as_str()).expect("no NUL"))
        .collect();
    let names: Vec<*const c_char> = names.iter().map(|c| c.as_ptr()).collect();
    let month = CString::new(spec.month.to_string()).expect("no NUL");
    let engine = open(&policy);
    let options = SettleOptions::with_threads(THREADS);
    let mut columns = caller_columns(households);
    let output_mib = (households * 10 * 8) >> 20;
    println!(
        "{households} households, {} entries, {THREADS} threads; the caller's household columns: {output_mib} MiB",
        spec.entries
    );
    for variant in ["sorted", "shuffled"] {
        if variant == "shuffled" {
            population.shuffle_entries(7);
        }
        let input = population.input();
        let rust = measure(|| {
            settle_columns(&rules, &input, options, columns.columns_mut()).expect("settles");
        });
        let fresh = measure(|| {
            settle(&rules, &input, options).expect("settles");
        });
        let expected = settle(&rules, &input, options).expect("settles").households;
        let (c_input, c_output) = (
            jf_settle_input::from(&population),
            output(&population, &mut columns),
        );
        let c = measure(|| {
            let status = unsafe {
                jf_settle_month(
                    engine,
                    month.as_ptr(),
                    names.as_ptr(),
                    names.len(),
                    &c_input,
                    THREADS as u32,
                    &c_output,
                )
            };
            assert_eq!(status, ErrorCode::Ok, "the C call settles");
        });
        assert!(columns == expected, "the C call writes what settle gives");
        println!("\nentries {variant}");
        println!(
            "{:<36}{:>8}{:>14}{:>13}",
            "call", "best s", "peak rise MiB", "vs Rust"
        );
        row("settle_columns (Rust, caller's)", rust, rust.0);
        row("jf_settle_month (C, caller's)", c, rust.0);
        row("settle (Rust, fresh vectors)", fresh, rust.0);
    }
    unsafe { jf_engine_free(engine) };
}
