//! The memory floor of a settlement on this machine, measured in the same
//! run as the settlements: every input column read once and every household
//! result column written once, on the same threads. No implementation can
//! move less memory, so the kernel's times are read against it.

use std::thread;

use jifen::settlement::bulk::{HouseholdResults, MonthInput};

/// Reads every column of `input` and writes every column of `outputs`
/// (already allocated, as a reusing run's are) once, on `threads` threads;
/// returns a checksum of what was read so that no read is skipped.
pub fn touch_once(input: &MonthInput, outputs: &mut HouseholdResults, threads: usize) -> i64 {
    let threads = threads.max(1);
    let h = &input.households;
    let e = &input.entries;
    let r = &input.redemptions;
    let columns = outputs.columns_mut();
    let rows = columns.awarded.len();
    let part = rows.div_ceil(threads).max(1);
    // Each thread's share of each output column.
    let mut shares: Vec<Vec<&mut [i64]>> = (0..threads).map(|_| Vec::new()).collect();
    for column in columns.into_columns() {
        for (t, chunk) in column.chunks_mut(part).enumerate() {
            shares[t].push(chunk);
        }
    }
    thread::scope(|scope| {
        let workers: Vec<_> = shares
            .into_iter()
            .enumerate()
            .map(|(t, share)| {
                scope.spawn(move || {
                    let read = sum_share(h.category, t, threads)
                        + sum_share(h.village, t, threads)
                        + sum_share(h.opening_balance, t, threads)
                        + sum_share(h.ytd_credited, t, threads)
                        + sum_share(e.household, t, threads)
                        + sum_share(e.kind, t, threads)
                        + sum_share(e.points, t, threads)
                        + sum_share(e.day, t, threads)
                        + sum_share(e.order, t, threads)
                        + sum_share(r.household, t, threads)
                        + sum_share(r.store, t, threads)
                        + sum_share(r.points, t, threads)
                        + sum_share(r.reimbursable, t, threads);
                    for column in share {
                        // Not a constant fill, which may become a memset
                        // with stores the kernel does not use.
                        for (i, value) in column.iter_mut().enumerate() {
                            *value = read ^ i as i64;
                        }
                    }
                    read
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|worker| worker.join().expect("a floor thread"))
            .fold(0, i64::wrapping_add)
    })
}

/// The sum of thread `t`'s share of `column`.
fn sum_share<T: Copy + Into<i64>>(column: &[T], t: usize, threads: usize) -> i64 {
    let part = column.len().div_ceil(threads).max(1);
    column.chunks(part).nth(t).map_or(0, |share| {
        share
            .iter()
            .fold(0i64, |sum, &v| sum.wrapping_add(v.into()))
    })
}
