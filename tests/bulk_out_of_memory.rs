//! A population too large for the memory the process may have is refused
//! with `out_of_memory`, and the process goes on settling what fits. Its own
//! test binary: the address-space limit it sets holds for the whole process.
#![cfg(target_os = "linux")]

use jifen::settlement::bulk::{
    settle, settle_partitions, BulkError, Entries, Households, MonthInput, MonthRules, Partition,
    Redemptions, Regions, SettleOptions,
};
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

#[test]
fn a_population_beyond_the_memory_allowed_is_refused_and_the_process_goes_on() {
    let policy = Policy::from_json("baisha-2019").unwrap();
    let month: Month = "2025-03".parse().unwrap();
    let rules = MonthRules::for_categories(&policy, month, &[Category::from("poor")]).unwrap();
    let options = SettleOptions::with_threads(2);
    // Four million households' inputs take 96 MB; their ten result columns
    // would take 320 MB more, beyond the 256 MiB the process is left.
    let large = Quiet::new(4_000_000);
    let small = Quiet::new(1_000);
    let limit = address_space() + (256 << 20);
    let limits = libc::rlimit {
        rlim_cur: limit,
        rlim_max: libc::RLIM_INFINITY,
    };
    // SAFETY: a plain system call on a struct that outlives it.
    assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_AS, &limits) }, 0);

    let refused = settle(&rules, &large.input(), options).unwrap_err();
    assert_eq!(refused.code(), ErrorCode::OutOfMemory, "{refused}");
    let expected = BulkError::OutOfMemory {
        what: "the household result columns",
        bytes: 320_000_000,
    };
    assert_eq!(refused.to_string(), expected.to_string());
    let partitions = [Partition {
        input: large.input(),
        keys: &large.keys,
    }];
    let refused = settle_partitions(&rules, &partitions, options).unwrap_err();
    assert_eq!(refused.code(), ErrorCode::OutOfMemory, "{refused}");

    let settled = settle(&rules, &small.input(), options).unwrap();
    assert_eq!(settled.households.closing_balance, vec![0; 1_000]);
    assert_eq!(settled.totals.counties.households, vec![1_000]);
}
