//! A population too large for the memory the process may have, or one whose
//! region tree or store count is, is refused with `out_of_memory`, and the
//! process goes on settling what fits; so is a synthetic population too
//! large to generate. Its own test binary: the
//! address-space limit it sets holds for the whole process.
#![cfg(target_os = "linux")]

use jifen::settlement::bulk::{
    settle, settle_partitions, BulkError, Entries, Households, MonthInput, MonthRules, Partition,
    Redemptions, Regions, SettleOptions,
};
use jifen::settlement::synthetic::{Population, PopulationSpec};
use jifen::{Category, ErrorCode, Month, Policy};

/// Households with nothing to settle but their rows.
struct Quiet {
    category: Vec<u32>,
    village: Vec<u32>,
    opening_balance: Vec<i64>,
    ytd_credited: Vec<i64>,
    keys: Vec<u64>,
}

impl Quiet {
    fn new(rows: usize) -> Quiet {
        Quiet {
            category: vec![0; rows],
            village: vec![0; rows],
            opening_balance: vec![0; rows],
            ytd_credited: vec![0; rows],
            keys: (0..rows as u64).collect(),
        }
    }

    fn input(&self) -> MonthInput<'_> {
        MonthInput {
            households: Households {
                category: &self.category,
                village: &self.village,
                opening_balance: &self.opening_balance,
                ytd_credited: &self.ytd_credited,
                ytd_deducted: &[],
            },
            regions: Regions {
                village_township: &[0],
                township_county: &[0],
                counties: 1,
            },
            entries: Entries::default(),
            redemptions: Redemptions::default(),
            stores: 0,
        }
    }
}

/// The process's address space now, in bytes.
fn address_space() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmSize:")).unwrap();
    let kib: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kib * 1024
}

/// Settles `input`, which must be refused for want of the `bytes` that
/// `what` need.
fn assert_refused(
    rules: &MonthRules,
    input: &MonthInput,
    options: SettleOptions,
    what: &'static str,
    bytes: usize,
) {
    let refused = settle(rules, input, options).unwrap_err();
    assert_eq!(refused.code(), ErrorCode::OutOfMemory, "{refused}");
    let expected = BulkError::OutOfMemory { what, bytes };
    assert_eq!(refused.to_string(), expected.to_string());
}

#[test]
fn populations_beyond_the_memory_allowed_are_refused_and_the_process_goes_on() {
    let policy = Policy::from_json("baisha-2019").unwrap();
    let month: Month = "2025-03".parse().unwrap();
    let rules = MonthRules::for_categories(&policy, month, &[Category::from("poor")]).unwrap();
    let options = SettleOptions::with_threads(2);
    // Six million households' inputs take 144 MB; their ten result columns
    // would take 480 MB more, beyond the 256 MiB the process is left (and
    // what its allocator's arenas already hold).
    let large = Quiet::new(6_000_000);
    let small = Quiet::new(1_000);
    // A tree of four million villages takes 16 MB; their totals, nine sums
    // of 8 bytes a village on each thread, would take 288 MB a thread.
    let many_villages = vec![0u32; 4_000_000];
    // One household of a kiosk's village named by a stray index implies
    // sixteen million villages.
    let mut stray = Quiet::new(1_000);
    stray.village[999] = 16_000_000;
    let limit = address_space() + (256 << 20);
    let limits = libc::rlimit {
        rlim_cur: limit,
        rlim_max: libc::RLIM_INFINITY,
    };
    // SAFETY: a plain system call on a struct that outlives it.
    assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_AS, &limits) }, 0);

    assert_refused(
        &rules,
        &large.input(),
        options,
        "the household result columns",
        480_000_000,
    );
    let partitions = [Partition {
        input: large.input(),
        keys: &large.keys,
    }];
    let refused = settle_partitions(&rules, &partitions, options).unwrap_err();
    assert_eq!(refused.code(), ErrorCode::OutOfMemory, "{refused}");

    let mut named = small.input();
    named.regions.village_township = &many_villages;
    assert_refused(&rules, &named, options, "the village totals", 288_000_000);
    let mut implied = stray.input();
    implied.regions = Regions::default();
    assert_refused(
        &rules,
        &implied,
        options,
        "the village totals",
        16_000_001 * 72,
    );
    // The most stores a settlement takes: two sums of 8 bytes a store on
    // each thread, 268 MB a thread.
    let mut stores = small.input();
    stores.stores = 1 << 24;
    assert_refused(
        &rules,
        &stores,
        options,
        "the store totals",
        ((1 << 24) + 1) * 16,
    );

    // A synthetic nation of forty million households: two of its household
    // columns take 320 MB.
    let refused = Population::generate(&policy, &PopulationSpec::new(40_000_000, 1)).unwrap_err();
    assert_eq!(refused.code(), ErrorCode::OutOfMemory, "{refused}");
    assert!(
        refused.to_string().contains("synthetic households"),
        "{refused}"
    );

    let settled = settle(&rules, &small.input(), options).unwrap();
    assert_eq!(settled.households.closing_balance, vec![0; 1_000]);
    assert_eq!(settled.totals.counties.households, vec![1_000]);
    let county = Population::generate(&policy, &PopulationSpec::new(1_000, 1)).unwrap();
    assert_eq!(county.households.category.len(), 1_000);
}
