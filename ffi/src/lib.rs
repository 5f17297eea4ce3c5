//! The C ABI of jifen, modelled on rustls-ffi: an opaque `jf_engine` handle,
//! `jf_status` codes (the core's [`jifen_core::ErrorCode`], exported by
//! cbindgen under that name), outputs in trailing `*_out` parameters written
//! only on success, and one JSON door (`jf_engine_execute`) onto every command
//! and query; beside it, typed kiosk calls (`jf_kiosk_*`) and the columnar
//! bulk settlement (`jf_settle_month`, `jf_settle_partitions`). No rule
//! lives here: each function translates its arguments, calls the core, and
//! translates back. `include/jifen.h` is generated from these sources by
//! cbindgen (`ffi/cbindgen.toml`); a test keeps it current.
#![deny(unsafe_op_in_unsafe_fn)]

mod boundary;
mod engine;
mod error;
mod kiosk;
mod population;
mod settle;
mod statement;
#[cfg(test)]
mod testing;

use std::ffi::{c_char, CStr, CString};

/// The library's own allocations (the settlement's working memory above
/// all) ask for huge pages when large; a C caller's arrays are its own.
#[global_allocator]
static ALLOCATOR: jifen_alloc::LargeBlocks = jifen_alloc::LargeBlocks;

pub use engine::{
    jf_engine, jf_engine_execute, jf_engine_free, jf_engine_last_error, jf_engine_open,
    jf_engine_open_memory, jf_engine_options, jf_engine_verify,
};
pub use error::jf_status_name;
pub use kiosk::{
    jf_basket_line, jf_call, jf_card_status, jf_kiosk_cancel, jf_kiosk_card, jf_kiosk_card_clear,
    jf_kiosk_check_card, jf_kiosk_commit, jf_kiosk_funds, jf_kiosk_hold, jf_kiosk_hold_clear,
    jf_kiosk_items, jf_kiosk_look_up_card, jf_kiosk_receipt, jf_kiosk_receipt_clear,
    jf_kiosk_redeem, jf_kiosk_reprint, jf_kiosk_reserve, jf_kiosk_take_notifications,
    jf_kiosk_void, jf_kiosk_void_receipt,
};
pub use population::{
    jf_population, jf_population_categories, jf_population_free, jf_population_generate,
    jf_population_input, jf_population_shuffle_entries,
};
pub use settle::{
    jf_settle_entries, jf_settle_household_results, jf_settle_households, jf_settle_input,
    jf_settle_month, jf_settle_output, jf_settle_partition, jf_settle_partitions,
    jf_settle_redemptions, jf_settle_region_results, jf_settle_regions, jf_settle_store_results,
    jf_settle_totals,
};
pub use statement::{jf_payment, jf_statement_get, jf_statement_record_payment};

use boundary::boundary;

/// The library version, e.g. `"0.1.0"`. The string is static: never free it.
#[no_mangle]
pub extern "C" fn jf_version() -> *const c_char {
    /// `CARGO_PKG_VERSION` with its NUL, checked at compile time.
    const VERSION: &CStr =
        match CStr::from_bytes_with_nul(concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes()) {
            Ok(version) => version,
            Err(_) => panic!("the package version holds no NUL"),
        };
    boundary!(non_null() { VERSION.as_ptr() })
}

/// Gives the memory the library keeps for its next settlements back to the
/// system, and answers how many bytes that was. The library keeps the
/// large blocks a settlement freed (its working buffers, a population's
/// columns) for the next settlement of about the same size, so that a run
/// repeated does not fault its memory in again; a platform that is done
/// settling for the month calls this to shrink to what it holds. The next
/// settlement maps its memory afresh. Always 0 on systems other than Linux.
#[no_mangle]
pub extern "C" fn jf_memory_give_back() -> usize {
    boundary!(non_null() { jifen_alloc::give_back_kept() })
}

/// Frees a string the library returned (e.g. a `jf_engine_execute` answer).
/// NULL does nothing.
///
/// # Safety
/// `string` is NULL or a string from this library not yet freed.
#[no_mangle]
pub unsafe extern "C" fn jf_string_free(string: *mut c_char) {
    boundary!(non_null(string) {
        // SAFETY: made by CString::into_raw in this library, freed once.
        drop(unsafe { CString::from_raw(string) });
    })
}
