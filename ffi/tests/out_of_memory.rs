//! A caller whose closing balances roll into its opening-balance array has
//! that column settled apart and copied over on success; when the system
//! will not give the memory for it, or for the totals of the villages a
//! stray index implies, `jf_settle_month` refuses with
//! `JF_STATUS_OUT_OF_MEMORY` and the process goes on. Its own test binary:
//! the address-space limit it sets holds for the whole process.
#![cfg(target_os = "linux")]

use std::ffi::c_char;
use std::ptr::{null, null_mut};

use jifen::{
    jf_engine, jf_engine_free, jf_engine_last_error, jf_engine_open_memory, jf_settle_entries,
    jf_settle_household_results, jf_settle_households, jf_settle_input, jf_settle_month,
    jf_settle_output, jf_settle_redemptions, jf_settle_region_results, jf_settle_regions,
    jf_settle_store_results,
};
use jifen_core::ErrorCode;

/// Settles `balances.len()` households with no entries, rolling their
/// closing balances into `balances`, and counting them in `county`. With a
/// `stray` village index, the last household names it and no region tree is
/// named: the villages are those the households imply.
fn settle_rolling(
    engine: *mut jf_engine,
    balances: &mut [i64],
    stray: Option<u32>,
    county: &mut u64,
) -> ErrorCode {
    let rows = balances.len();
    let zeros = vec![0u32; rows];
    let mut village = zeros.clone();
    if let (Some(stray), Some(last)) = (stray, village.last_mut()) {
        *last = stray;
    }
    let ytd = vec![0i64; rows];
    let (township, county_of) = ([0u32], [0u32]);
    let named = u32::from(stray.is_none());
    let input = jf_settle_input {
        households: jf_settle_households {
            len: rows,
            category: zeros.as_ptr(),
            village: village.as_ptr(),
            opening_balance: balances.as_ptr(),
            ytd_credited: ytd.as_ptr(),
            ytd_deducted: null(),
        },
        regions: jf_settle_regions {
            villages: named as usize,
            village_township: township.as_ptr(),
            townships: named as usize,
            township_county: county_of.as_ptr(),
            counties: named,
        },
        entries: jf_settle_entries {
            len: 0,
            household: null(),
            kind: null(),
            points: null(),
            day: null(),
            order: null(),
        },
        redemptions: jf_settle_redemptions {
            len: 0,
            household: null(),
            store: null(),
            points: null(),
            reimbursable: null(),
        },
        stores: 0,
    };
    let region = |capacity, households: *mut u64| jf_settle_region_results {
        capacity,
        households,
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
    let output = jf_settle_output {
        households: jf_settle_household_results {
            capacity: rows,
            awarded: null_mut(),
            credited: null_mut(),
            capped: null_mut(),
            vetoed: null_mut(),
            deducted: null_mut(),
            unapplied: null_mut(),
            net: null_mut(),
            closing_balance: balances.as_mut_ptr(),
            ytd_credited: null_mut(),
            ytd_deducted: null_mut(),
        },
        stores: jf_settle_store_results {
            capacity: 0,
            redeemed: null_mut(),
            reimbursable: null_mut(),
            amount_fen: null_mut(),
        },
        // No village column is asked for; room is claimed for every
        // village, so the settlement goes as far as the villages' totals.
        villages: region(stray.map_or(1, |stray| stray as usize + 1), null_mut()),
        townships: region(1, null_mut()),
        counties: region(1, county),
    };
    let categories = [c"poor".as_ptr()];
    // SAFETY: every column holds its table's rows, every output its capacity.
    unsafe {
        jf_settle_month(
            engine,
            c"2025-03".as_ptr(),
            categories.as_ptr(),
            1,
            &input,
            1,
            &output,
        )
    }
}

fn last_error(engine: *mut jf_engine) -> String {
    let mut message = [0 as c_char; 512];
    let mut needed = 0;
    // SAFETY: a live handle and a buffer of the length passed.
    unsafe { jf_engine_last_error(engine, message.as_mut_ptr(), message.len(), &mut needed) };
    // SAFETY: the library wrote a NUL-terminated message into the buffer.
    unsafe { std::ffi::CStr::from_ptr(message.as_ptr()) }
        .to_string_lossy()
        .into_owned()
}

/// The call was refused for want of memory, its message naming `what`.
fn assert_out_of_memory(engine: *mut jf_engine, status: ErrorCode, what: &str) {
    let message = last_error(engine);
    assert_eq!(status, ErrorCode::OutOfMemory, "{message}");
    assert!(message.contains(what), "{message}");
}

#[test]
fn a_rolled_column_beyond_the_memory_allowed_is_refused_and_the_process_goes_on() {
    let mut engine = null_mut();
    let pepper = b"pepper";
    // SAFETY: NUL-terminated policy, a pepper of the length passed.
    let opened = unsafe {
        jf_engine_open_memory(
            c"baisha-2019".as_ptr(),
            pepper.as_ptr(),
            pepper.len(),
            null(),
            &mut engine,
        )
    };
    assert_eq!(opened, ErrorCode::Ok);
    let mut large = vec![5i64; 4_000_000];
    let mut small = vec![5i64; 1_000];
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let vm_kib: u64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmSize:"))
        .and_then(|kib| kib.split_whitespace().next()?.parse().ok())
        .unwrap();
    // Room for the large call's other inputs (48 MB), not for its rolled
    // column (32 MB more).
    let limit = libc::rlimit {
        rlim_cur: vm_kib * 1024 + (64 << 20),
        rlim_max: libc::RLIM_INFINITY,
    };
    // SAFETY: a plain system call on a struct that outlives it.
    assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_AS, &limit) }, 0);

    let mut county = 0;
    let refused = settle_rolling(engine, &mut large, None, &mut county);
    assert_out_of_memory(engine, refused, "settled apart");
    assert!(large.iter().all(|&balance| balance == 5), "nothing written");

    // A stray village index implies four million villages, whose totals
    // (72 bytes a village) the limit leaves no room for.
    let refused = settle_rolling(engine, &mut small, Some(3_999_999), &mut county);
    assert_out_of_memory(engine, refused, "the village totals");
    assert!(small.iter().all(|&balance| balance == 5), "nothing written");

    assert_eq!(
        settle_rolling(engine, &mut small, None, &mut county),
        ErrorCode::Ok
    );
    assert_eq!((small[0], small[999], county), (5, 5, 1_000));
    // SAFETY: a live handle, freed once.
    unsafe { jf_engine_free(engine) };
}
