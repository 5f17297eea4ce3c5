//! `jf_population_*`: the seeded synthetic populations of
//! `jifen::settlement::synthetic` for C, so an integrator can try
//! `jf_settle_month` at the scale of a county or a nation before its own
//! data is wired in, on the very population the benchmarks, the examples
//! and the Python tests settle.

#![allow(non_camel_case_types)]

use std::ffi::{c_char, CString};

use jifen_core::settlement::synthetic::{Population, PopulationSpec};
use jifen_core::ErrorCode;

use crate::boundary::{boundary, c_string, write_out};
use crate::engine::jf_engine;
use crate::settle::{
    jf_settle_entries, jf_settle_households, jf_settle_input, jf_settle_redemptions,
    jf_settle_regions, policy_of_month,
};

/// A generated population, owning its columns; free with
/// `jf_population_free`.
pub struct jf_population {
    population: Population,
    /// The categories' names, which `population`'s category indices name:
    /// owned here and never read, as `name_pointers` point into them.
    _names: Vec<CString>,
    /// `names` as the array `jf_settle_month` takes.
    name_pointers: Vec<*const c_char>,
}

/// Generates the population of `households` seeded with `seed` under the
/// policy the engine has in force on the first day of `month` (`YYYY-MM`):
/// households by category and village (300 a village, 20 villages a
/// township, 10 townships a county), `entries_per_household` entries a
/// household on average (0: ten) drawn from the policy's indicators,
/// sorted by household, half a redemption a household, a store per 200
/// households. The same arguments give the same population on every
/// machine, and the one `jifen.synthetic_population` gives Python. More
/// than 2^32 − 1 households or entries are refused with `invalid_value`, a
/// population the system will not give memory for with `out_of_memory`;
/// nothing is made then.
///
/// # Safety
/// `engine` is a live handle; `month` is a NUL-terminated string;
/// `population_out` is writable.
#[no_mangle]
pub unsafe extern "C" fn jf_population_generate(
    engine: *mut jf_engine,
    month: *const c_char,
    seed: u64,
    households: usize,
    entries_per_household: usize,
    population_out: *mut *mut jf_population,
) -> ErrorCode {
    boundary!(non_null(engine, month, population_out) {
        // SAFETY: the caller's contract.
        let engine = unsafe { &*engine };
        let (month, policy) = unsafe { policy_of_month(engine, month) }?;
        let mut spec = PopulationSpec::new(households, seed);
        spec.month = month;
        if entries_per_household > 0 {
            spec = spec.with_entries_per_household(entries_per_household);
        }
        let population =
            Population::generate(&policy, &spec).map_err(|error| engine.fail_with(&error))?;
        let names: Vec<CString> = population
            .categories
            .iter()
            .map(|category| c_string(category.0.clone()))
            .collect();
        let name_pointers = names.iter().map(|name| name.as_ptr()).collect();
        let handle = Box::into_raw(Box::new(jf_population {
            population,
            _names: names,
            name_pointers,
        }));
        // SAFETY: checked non-NULL; writable by the caller's contract.
        unsafe { write_out(population_out, handle) }
    })
}

/// Writes into `input` the population's columns, ready for
/// `jf_settle_month`: they point into `population` and live as long as it.
///
/// # Safety
/// `population` is a live handle; `input` is writable.
#[no_mangle]
pub unsafe extern "C" fn jf_population_input(
    population: *const jf_population,
    input: *mut jf_settle_input,
) -> ErrorCode {
    boundary!(non_null(population, input) {
        // SAFETY: the caller's contract.
        let columns = jf_settle_input::from(unsafe { &(*population).population });
        // SAFETY: checked non-NULL; writable by the caller's contract.
        unsafe { write_out(input, columns) }
    })
}

/// A population's columns as `jf_settle_month` reads them, borrowed from it.
impl From<&Population> for jf_settle_input {
    fn from(p: &Population) -> jf_settle_input {
        let (h, r, e, d) = (&p.households, &p.regions, &p.entries, &p.redemptions);
        jf_settle_input {
            households: jf_settle_households {
                len: h.category.len(),
                category: h.category.as_ptr(),
                village: h.village.as_ptr(),
                opening_balance: h.opening_balance.as_ptr(),
                ytd_credited: h.ytd_credited.as_ptr(),
                ytd_deducted: h.ytd_deducted.as_ptr(),
            },
            regions: jf_settle_regions {
                villages: r.village_township.len(),
                village_township: r.village_township.as_ptr(),
                townships: r.township_county.len(),
                township_county: r.township_county.as_ptr(),
                counties: r.counties,
            },
            entries: jf_settle_entries {
                len: e.household.len(),
                household: e.household.as_ptr(),
                kind: e.kind.as_ptr(),
                points: e.points.as_ptr(),
                day: e.day.as_ptr(),
                order: e.order.as_ptr(),
            },
            redemptions: jf_settle_redemptions {
                len: d.household.len(),
                household: d.household.as_ptr(),
                store: d.store.as_ptr(),
                points: d.points.as_ptr(),
                reimbursable: d.reimbursable.as_ptr(),
            },
            stores: p.stores,
        }
    }
}

/// Puts the population's entries in the seeded random order of a system
/// that does not sort them (the order `Population::shuffle_entries` and
/// `jifen.synthetic_population(..., shuffle_seed=)` give for the same seed),
/// so that `jf_settle_month` takes its pass for entries in any order. The
/// columns stay where they are: an input `jf_population_input` wrote
/// before still points at them.
///
/// # Safety
/// `population` is a live handle not read by another thread meanwhile.
#[no_mangle]
pub unsafe extern "C" fn jf_population_shuffle_entries(
    population: *mut jf_population,
    seed: u64,
) -> ErrorCode {
    boundary!(non_null(population) {
        // SAFETY: the caller's contract.
        unsafe { &mut (*population).population }.shuffle_entries(seed);
        Ok(())
    })
}

/// Writes the names of the categories the population's category indices
/// name (the policy's, in its order) to `*names_out` and how many to
/// `*len_out`: the `categories` to pass `jf_settle_month`. The names live
/// as long as `population`.
///
/// # Safety
/// `population` is a live handle; `names_out` and `len_out` are writable.
#[no_mangle]
pub unsafe extern "C" fn jf_population_categories(
    population: *const jf_population,
    names_out: *mut *const *const c_char,
    len_out: *mut usize,
) -> ErrorCode {
    boundary!(non_null(population, names_out, len_out) {
        // SAFETY: the caller's contract.
        let names = unsafe { &(*population).name_pointers };
        // SAFETY: both checked non-NULL; writable by the caller's contract.
        unsafe {
            write_out(names_out, names.as_ptr())?;
            write_out(len_out, names.len())
        }
    })
}

/// Frees a population made by `jf_population_generate`; NULL is ignored.
///
/// # Safety
/// `population` is NULL or a live handle, not used again.
#[no_mangle]
pub unsafe extern "C" fn jf_population_free(population: *mut jf_population) {
    boundary!(non_null(population) {
        // SAFETY: made by Box::into_raw in jf_population_generate, freed once.
        drop(unsafe { Box::from_raw(population) });
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ptr;

    use crate::testing::{last_error, open};

    #[test]
    fn a_population_is_the_one_rust_generates_under_the_engines_policy() {
        let engine = open(c"\"baisha-2019\"");
        let mut population = ptr::null_mut();
        let status = unsafe {
            jf_population_generate(engine, c"2025-03".as_ptr(), 7, 900, 4, &mut population)
        };
        assert_eq!(status, ErrorCode::Ok);
        let mut input = std::mem::MaybeUninit::<jf_settle_input>::uninit();
        let status = unsafe { jf_population_input(population, input.as_mut_ptr()) };
        assert_eq!(status, ErrorCode::Ok);
        let input = unsafe { input.assume_init() };
        let (mut names, mut len) = (ptr::null(), 0);
        let status = unsafe { jf_population_categories(population, &mut names, &mut len) };
        assert_eq!(status, ErrorCode::Ok);

        let policy = jifen_core::Policy::from_json(r#""baisha-2019""#).unwrap();
        let mut spec = PopulationSpec::new(900, 7).with_entries_per_household(4);
        spec.month = "2025-03".parse().unwrap();
        let expected = Population::generate(&policy, &spec).unwrap();
        assert_eq!(input.households.len, 900);
        assert_eq!(input.entries.len, expected.entries.household.len());
        let points = unsafe { std::slice::from_raw_parts(input.entries.points, input.entries.len) };
        assert_eq!(points, expected.entries.points);

        let status = unsafe { jf_population_shuffle_entries(population, 11) };
        assert_eq!(status, ErrorCode::Ok);
        let mut shuffled = expected.clone();
        shuffled.shuffle_entries(11);
        assert_ne!(shuffled.entries.points, expected.entries.points);
        assert_eq!(points, shuffled.entries.points, "the input written before");
        let names = unsafe { std::slice::from_raw_parts(names, len) };
        let names: Vec<&str> = names
            .iter()
            .map(|&name| unsafe { std::ffi::CStr::from_ptr(name) }.to_str().unwrap())
            .collect();
        let categories: Vec<&str> = expected.categories.iter().map(|c| c.0.as_str()).collect();
        assert_eq!(names, categories);
        unsafe {
            jf_population_free(population);
            crate::jf_engine_free(engine);
        }
    }

    #[test]
    fn null_arguments_are_refused_and_a_null_population_is_not_freed() {
        let engine = open(c"\"baisha-2019\"");
        let status = unsafe {
            jf_population_generate(engine, c"2025-03".as_ptr(), 7, 10, 0, ptr::null_mut())
        };
        assert_eq!(status, ErrorCode::NullArgument);
        let status = unsafe { jf_population_input(ptr::null(), ptr::null_mut()) };
        assert_eq!(status, ErrorCode::NullArgument);
        let status = unsafe { jf_population_shuffle_entries(ptr::null_mut(), 1) };
        assert_eq!(status, ErrorCode::NullArgument);
        unsafe {
            jf_population_free(ptr::null_mut());
            crate::jf_engine_free(engine);
        }
    }

    #[test]
    fn a_bad_month_is_refused_and_nothing_is_made() {
        let engine = open(c"\"baisha-2019\"");
        let mut population = ptr::null_mut();
        let status = unsafe {
            jf_population_generate(engine, c"2025-13".as_ptr(), 7, 10, 0, &mut population)
        };
        assert_eq!(status, ErrorCode::BadPeriod);
        assert!(
            last_error(engine).contains("2025-13"),
            "{}",
            last_error(engine)
        );
        assert!(population.is_null());
        unsafe { crate::jf_engine_free(engine) };
    }
}
