//! The bulk settlement's machine-level pieces: column writes that bypass
//! the cache, lines asked for ahead of a walk ([`prefetch`]), and passes
//! run with the wider vector instructions the processor has.
//!
//! A month's bulk settlement writes ten result columns of 8 bytes a
//! household. An ordinary store to memory not in the cache first reads the
//! whole 64-byte line it lands in, so writing 800 MB of results moves
//! 1.6 GB. A non-temporal store of a whole line skips the read and leaves
//! the cache to the inputs (5% off a sorted run of ten million households
//! on the two-core machine of `benches/README.md`). The settlement gathers
//! a few dozen households' results and hands each column's values here at
//! once.
//!
//! The settlement's fresh result columns are written without being zeroed
//! first: [`write_fresh`] hands out each part of a column as [`Rows`]
//! written from its start, and zeroes what a part did not write.
//!
//! The sorted pass adds up a household's rows a fixed window at a time,
//! which the compiler turns into vector instructions. The baseline x86-64
//! instruction set (SSE2) holds two 64-bit lanes a register and lacks the
//! wider comparisons, and there the window is slower than a row at a time;
//! with AVX2 it takes from 3% (where memory bounds the pass) to nearly a
//! fifth off it, on the machines measured (benches/README.md), and AVX-512,
//! whose registers hold a whole window of households and whose comparisons
//! give a mask at once, takes a further 8–10% off (sorted, ten million
//! households, on the Intel Xeon of benches/README.md). A library built for
//! every x86-64 machine cannot assume either, so [`with_wide_vectors`] runs
//! a pass compiled for the widest the processor has, and tells the pass
//! whether it has one; `JIFEN_MAX_VECTORS` narrows the choice, to measure
//! or test the narrower builds ([`Vectors::NARROWED_BY`]).
//!
//! Its own crate because the core forbids `unsafe`: rows not yet written
//! are `MaybeUninit`, the stores and the prefetch are `core::arch`
//! intrinsics, and a function compiled for
//! instructions the baseline lacks may only be called once they are found
//! present. x86-64 has the stores and the prefetch in its baseline (SSE2),
//! so they need no detection; elsewhere the values are copied as usual
//! and nothing is asked for ahead.

mod rows;

pub use rows::{write_fresh, Rows};

/// Copies `values` into `column` (of the same length), writing each whole,
/// aligned 64-byte line of `column` past the cache and the partial lines at
/// either end as usual. Call [`fence`] before another thread reads them.
///
/// # Panics
/// When the lengths differ, as `copy_from_slice` does.
#[inline]
pub fn stream_into(column: &mut [i64], values: &[i64]) {
    assert_eq!(
        column.len(),
        values.len(),
        "a column and its values differ in length"
    );
    // SAFETY: `column` is `values.len()` writable rows.
    unsafe { stream_to(column.as_mut_ptr(), values) }
}

/// Copies `values` to `to`, as [`stream_into`] does.
///
/// # Safety
/// `to` is valid for writes of `values.len()` rows, which nothing else
/// reads or writes meanwhile.
#[inline]
unsafe fn stream_to(to: *mut i64, values: &[i64]) {
    // Miri, which checks the crate's `unsafe` in `make test`, runs no
    // inline assembly: it checks the plain copy.
    #[cfg(all(target_arch = "x86_64", not(miri)))]
    // SAFETY: the caller's contract.
    unsafe {
        x86_64::stream_to(to, values)
    };
    #[cfg(not(all(target_arch = "x86_64", not(miri))))]
    // SAFETY: the caller's contract; `values` is a distinct borrow.
    unsafe {
        std::ptr::copy_nonoverlapping(values.as_ptr(), to, values.len())
    };
}

/// Makes this thread's streamed lines visible before anything it writes
/// after: a thread calls it once when done streaming, before it hands its
/// rows on.
#[inline]
pub fn fence() {
    #[cfg(all(target_arch = "x86_64", not(miri)))]
    // SAFETY: SSE2 is part of every x86-64 processor; the fence touches no memory.
    unsafe {
        core::arch::x86_64::_mm_sfence()
    };
}

/// Asks for the cache line holding `column[row]` ahead of its use, when
/// `row` is within `column`; elsewhere a no-op.
#[inline(always)]
pub fn prefetch<T>(column: &[T], row: usize) {
    #[cfg(target_arch = "x86_64")]
    if let Some(value) = column.get(row) {
        // SAFETY: SSE is part of every x86-64 processor; a prefetch reads
        // nothing into the program and `value` is a live reference.
        unsafe {
            core::arch::x86_64::_mm_prefetch::<{ core::arch::x86_64::_MM_HINT_T0 }>(
                (value as *const T).cast(),
            )
        };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (column, row);
}

/// The vector instructions a pass may be compiled for, narrowest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Vectors {
    /// What the build targets (SSE2 on x86-64): no wide vectors.
    Baseline,
    /// x86-64-v3: AVX2 and the instructions that come with it.
    Avx2,
    /// x86-64-v4: x86-64-v3 and AVX-512.
    Avx512,
}

impl Vectors {
    /// The environment variable that narrows the vectors passes run with:
    /// `baseline`, `avx2` or `avx512`, never wider than the processor's.
    /// Any other value leaves the processor's widest. It serves to measure
    /// one build against another and to test the narrower builds on a
    /// machine that has the wider.
    pub const NARROWED_BY: &'static str = "JIFEN_MAX_VECTORS";

    /// The vectors named `setting` (an environment variable's value).
    fn named(setting: &str) -> Option<Vectors> {
        match setting {
            "baseline" => Some(Vectors::Baseline),
            "avx2" => Some(Vectors::Avx2),
            "avx512" => Some(Vectors::Avx512),
            _ => None,
        }
    }

    /// The processor's widest vectors, narrowed to those `setting` names.
    fn narrowed(widest: Vectors, setting: Option<&str>) -> Vectors {
        setting
            .and_then(Vectors::named)
            .map_or(widest, |named| named.min(widest))
    }

    /// The vectors passes run with: the processor's widest, narrowed by
    /// [`Vectors::NARROWED_BY`]; found once and remembered.
    pub fn in_use() -> Vectors {
        static IN_USE: std::sync::OnceLock<Vectors> = std::sync::OnceLock::new();
        *IN_USE.get_or_init(|| {
            let setting = std::env::var(Vectors::NARROWED_BY).ok();
            Vectors::narrowed(Vectors::widest(), setting.as_deref())
        })
    }

    /// The widest vectors the processor has.
    fn widest() -> Vectors {
        #[cfg(target_arch = "x86_64")]
        if x86_64::has_v4() {
            return Vectors::Avx512;
        }
        #[cfg(target_arch = "x86_64")]
        if x86_64::has_v3() {
            return Vectors::Avx2;
        }
        Vectors::Baseline
    }
}

/// Runs `pass`, compiled for x86-64-v4 (AVX-512) or x86-64-v3 (AVX2 and
/// the instructions that come with it) as [`Vectors::in_use`] says, and as
/// built otherwise; it is told whether it has wide vectors, as code written
/// for them may be slower without. Mark `pass` `#[inline(always)]`, and the
/// functions it calls that should use the wider instructions: only code
/// inlined into it is compiled for them.
#[inline(always)]
pub fn with_wide_vectors<R>(pass: impl FnOnce(bool) -> R) -> R {
    match Vectors::in_use() {
        // SAFETY: the processor has every instruction `v4` is compiled for
        // (`in_use` is never wider than the processor's).
        #[cfg(target_arch = "x86_64")]
        Vectors::Avx512 => unsafe { x86_64::v4(pass) },
        // SAFETY: as above, for `v3`.
        #[cfg(target_arch = "x86_64")]
        Vectors::Avx2 => unsafe { x86_64::v3(pass) },
        _ => pass(false),
    }
}

/// How many `i64`s fill a cache line.
pub const LINE: usize = 8;

/// How many values of `column` lie before its first whole 64-byte line.
#[inline]
pub fn rows_before_line(column: &[i64]) -> usize {
    rows_before_line_at(column.as_ptr(), column.len())
}

/// How many of `len` rows from `first` lie before its first whole line.
#[inline]
fn rows_before_line_at(first: *const i64, len: usize) -> usize {
    let misalignment = first as usize % (LINE * 8);
    ((LINE * 8 - misalignment) % (LINE * 8) / 8).min(len)
}

#[cfg(target_arch = "x86_64")]
mod x86_64 {
    use core::arch::x86_64::{__m128i, _mm_loadu_si128, _mm_stream_si128};

    use super::{rows_before_line_at, LINE};

    /// Whether the processor has what [`v3`] is compiled for (the
    /// standard library asks it once and remembers).
    #[inline]
    pub fn has_v3() -> bool {
        std::is_x86_feature_detected!("avx2")
            && std::is_x86_feature_detected!("bmi1")
            && std::is_x86_feature_detected!("bmi2")
            && std::is_x86_feature_detected!("fma")
            && std::is_x86_feature_detected!("lzcnt")
            && std::is_x86_feature_detected!("movbe")
    }

    /// Runs `pass` with the instructions of x86-64-v3 beyond the baseline.
    ///
    /// # Safety
    /// The processor must have them ([`has_v3`]).
    #[target_feature(enable = "avx2,bmi1,bmi2,fma,lzcnt,movbe")]
    pub unsafe fn v3<R>(pass: impl FnOnce(bool) -> R) -> R {
        pass(true)
    }

    /// Whether the processor has what [`v4`] is compiled for: x86-64-v3
    /// and the AVX-512 of x86-64-v4.
    #[inline]
    pub fn has_v4() -> bool {
        has_v3()
            && std::is_x86_feature_detected!("avx512f")
            && std::is_x86_feature_detected!("avx512bw")
            && std::is_x86_feature_detected!("avx512cd")
            && std::is_x86_feature_detected!("avx512dq")
            && std::is_x86_feature_detected!("avx512vl")
    }

    /// Runs `pass` with the instructions of x86-64-v4 beyond the baseline.
    ///
    /// # Safety
    /// The processor must have them ([`has_v4`]).
    #[target_feature(
        enable = "avx2,bmi1,bmi2,fma,lzcnt,movbe,avx512f,avx512bw,avx512cd,avx512dq,avx512vl"
    )]
    pub unsafe fn v4<R>(pass: impl FnOnce(bool) -> R) -> R {
        pass(true)
    }

    /// # Safety
    /// `to` is valid for writes of `values.len()` rows, which nothing else
    /// reads or writes meanwhile.
    #[inline]
    #[cfg_attr(miri, allow(dead_code))]
    pub unsafe fn stream_to(to: *mut i64, values: &[i64]) {
        let len = values.len();
        let head = rows_before_line_at(to, len);
        let tail = head + (len - head) / LINE * LINE;
        // SAFETY (each block): rows `0..len` from `to` are the caller's to
        // write, and `values` is a distinct borrow of as many.
        unsafe { std::ptr::copy_nonoverlapping(values.as_ptr(), to, head) };
        for (line, from) in values[head..tail].chunks_exact(LINE).enumerate() {
            let (to, from) = (
                // SAFETY: the line ends at `tail` at most, within `len`.
                unsafe { to.add(head + line * LINE) }.cast::<__m128i>(),
                from.as_ptr().cast::<__m128i>(),
            );
            for quarter in 0..4 {
                // SAFETY: `to` is a whole line of the rows, 64-byte
                // aligned, so each of its quarters is 16-byte aligned as the
                // store needs; `from` holds as many values, read unaligned.
                // SSE2 is part of every x86-64 processor.
                unsafe {
                    _mm_stream_si128(to.add(quarter), _mm_loadu_si128(from.add(quarter)));
                }
            }
        }
        // SAFETY: as above, the rows from `tail` to `len`.
        unsafe { std::ptr::copy_nonoverlapping(values[tail..].as_ptr(), to.add(tail), len - tail) };
    }
}

#[cfg(test)]
mod tests {
    use std::vec::Vec;

    use super::*;

    #[test]
    fn every_value_lands_in_its_row_whatever_the_alignment_and_length() {
        let mut column = [0i64; 100];
        for start in 0..LINE * 2 {
            for len in 0..column.len() - start {
                let values: Vec<i64> = (0..len as i64).map(|v| v * 7 + start as i64).collect();
                column.fill(-1);
                stream_into(&mut column[start..start + len], &values);
                fence();
                assert!(column[..start].iter().all(|&v| v == -1));
                assert_eq!(&column[start..start + len], &values[..]);
                assert!(column[start + len..].iter().all(|&v| v == -1));
            }
        }
    }

    #[test]
    fn a_pass_gives_its_answer_and_learns_whether_it_runs_wide() {
        let rows: Vec<u64> = (0..1000).collect();
        let (total, wide) = with_wide_vectors(|wide| (rows.iter().sum::<u64>(), wide));
        assert_eq!(total, 499_500);
        assert_eq!(wide, Vectors::in_use() > Vectors::Baseline);
        #[cfg(not(target_arch = "x86_64"))]
        assert!(!wide);
    }

    #[test]
    fn the_vectors_in_use_are_never_wider_than_the_processor_or_the_setting() {
        assert!(Vectors::in_use() <= Vectors::widest());
        // The narrower builds are tested by running the tests with the
        // setting (the Makefile's `rust-test`): it must take effect.
        let setting = std::env::var(Vectors::NARROWED_BY).ok();
        if let Some(named) = setting.as_deref().and_then(Vectors::named) {
            assert_eq!(Vectors::in_use(), named.min(Vectors::widest()));
        } else {
            assert_eq!(Vectors::in_use(), Vectors::widest());
        }
    }

    #[test]
    fn a_setting_narrows_and_never_widens() {
        use Vectors::{Avx2, Avx512, Baseline};
        assert_eq!(Vectors::narrowed(Avx512, None), Avx512);
        assert_eq!(Vectors::narrowed(Avx512, Some("avx2")), Avx2);
        assert_eq!(Vectors::narrowed(Avx512, Some("baseline")), Baseline);
        assert_eq!(Vectors::narrowed(Avx2, Some("avx512")), Avx2);
        assert_eq!(Vectors::narrowed(Baseline, Some("avx2")), Baseline);
        assert_eq!(Vectors::narrowed(Avx2, Some("AVX-2")), Avx2);
        assert_eq!(Vectors::narrowed(Avx512, Some("")), Avx512);
    }

    #[test]
    fn rows_before_the_first_line() {
        let column = [0i64; 40];
        let aligned = (0..LINE)
            .find(|&k| column[k..].as_ptr() as usize % 64 == 0)
            .unwrap();
        assert_eq!(rows_before_line(&column[aligned..]), 0);
        assert_eq!(rows_before_line(&column[aligned + 1..]), LINE - 1);
        assert_eq!(rows_before_line(&column[aligned + 1..aligned + 3]), 2);
    }

    #[test]
    #[should_panic(expected = "differ in length")]
    fn lengths_must_agree() {
        stream_into(&mut [0; 3], &[1, 2]);
    }
}
