//! The threads of a run: each takes its own rows of the household output
//! columns, as one range a thread or as pieces taken in turn.

use std::ops::Range;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

use super::{BulkError, HouseholdResultsMut};

/// A thread's share of the household output columns is a
/// [`HouseholdResultsMut`] of its rows.
impl<'a> HouseholdResultsMut<'a> {
    /// The columns' rows of each of `ranges`, consecutive ranges from the first row.
    pub(super) fn split_by(&mut self, ranges: &[Range<usize>]) -> Vec<HouseholdResultsMut<'_>> {
        let mut outs = Vec::with_capacity(ranges.len());
        let mut rest = self.reborrow();
        let mut offset = 0;
        for range in ranges {
            let (head, tail) = rest.split_at(range.end - offset);
            outs.push(head);
            rest = tail;
            offset = range.end;
        }
        outs
    }

    fn split_at(self, mid: usize) -> (HouseholdResultsMut<'a>, HouseholdResultsMut<'a>) {
        let mut halves = self.into_columns().map(|column| column.split_at_mut(mid));
        let heads = halves.each_mut().map(|(head, _)| std::mem::take(head));
        let tails = halves.map(|(_, tail)| tail);
        (
            HouseholdResultsMut::from_columns(heads),
            HouseholdResultsMut::from_columns(tails),
        )
    }
}

/// Runs `work` on each household range in its own thread (the first on the
/// calling thread), each writing only its own rows of `columns`.
pub(super) fn in_threads<T: Send>(
    columns: &mut HouseholdResultsMut<'_>,
    ranges: &[Range<usize>],
    work: impl Fn(usize, Range<usize>, HouseholdResultsMut<'_>) -> Result<T, BulkError> + Sync,
) -> Result<Vec<T>, BulkError> {
    let states = ranges.iter().map(|_| ());
    in_threads_with(columns, ranges, states, |r, range, out, ()| {
        work(r, range, out)
    })
}

/// As [`in_threads`], handing each range's thread its own of `states`.
pub(super) fn in_threads_with<S: Send, T: Send>(
    columns: &mut HouseholdResultsMut<'_>,
    ranges: &[Range<usize>],
    states: impl Iterator<Item = S>,
    work: impl Fn(usize, Range<usize>, HouseholdResultsMut<'_>, S) -> Result<T, BulkError> + Sync,
) -> Result<Vec<T>, BulkError> {
    let jobs: Vec<_> = ranges
        .iter()
        .cloned()
        .zip(columns.split_by(ranges))
        .zip(states)
        .enumerate()
        .collect();
    debug_assert_eq!(jobs.len(), ranges.len(), "a state for every range");
    let answers = in_parallel(jobs, |(thread, ((range, out), state))| {
        work(thread, range, out, state)
    });
    answers.into_iter().collect()
}

/// Runs `work` on every household range of `ranges` (pieces of the
/// households, in order) with its rows of the output, `outs` (one for each
/// range), a thread for each of `states` taking the pieces
/// in turn with that state as its own. A thread slowed, by the
/// machine or by costlier households, then leaves the others more pieces
/// rather than a wait at the end. A piece's answer is whether it settled;
/// the first piece, in order, that did not (`Ok(false)`) or failed decides
/// the run, and no thread takes a new piece after one has: each piece before
/// it was taken, so finished, first, and the answer is the one a single
/// thread taking every piece in order would give. The threads' states come
/// back when every piece settled.
pub(super) fn in_turns<O: Send, S: Send>(
    outs: Vec<O>,
    ranges: &[Range<usize>],
    states: Vec<S>,
    work: impl Fn(usize, Range<usize>, O, &mut S) -> Result<bool, BulkError> + Sync,
) -> Result<Option<Vec<S>>, BulkError> {
    debug_assert_eq!(outs.len(), ranges.len(), "an output for every range");
    let pieces: Vec<Mutex<Option<O>>> = outs.into_iter().map(|out| Mutex::new(Some(out))).collect();
    let next = AtomicUsize::new(0);
    let halted = AtomicBool::new(false);
    let take_turns = |mut mine: S| {
        let mut answers = Vec::new();
        while !halted.load(Ordering::Relaxed) {
            let piece = next.fetch_add(1, Ordering::Relaxed);
            // Each piece's columns are taken once, by the thread that drew it.
            let Some(out) = pieces.get(piece).and_then(|slot| slot.lock().ok()?.take()) else {
                break;
            };
            let answer = work(piece, ranges[piece].clone(), out, &mut mine);
            if !matches!(answer, Ok(true)) {
                halted.store(true, Ordering::Relaxed);
            }
            answers.push((piece, answer));
        }
        (mine, answers)
    };
    let (states, answers): (Vec<S>, Vec<_>) = in_parallel(states, take_turns).into_iter().unzip();
    let mut answers: Vec<_> = answers.into_iter().flatten().collect();
    answers.sort_unstable_by_key(|&(piece, _)| piece);
    for (_, answer) in answers {
        if !answer? {
            return Ok(None);
        }
    }
    Ok(Some(states))
}

/// Runs `work` on each input in its own thread (the first on the calling
/// thread) and returns the answers in order; a thread's panic goes on in the
/// caller. An input whose thread the system will not start (a process
/// limit) is worked on the calling thread once the first is done: the
/// answers are the same on any number of threads, only slower.
pub(super) fn in_parallel<I: Send, T: Send>(
    inputs: Vec<I>,
    work: impl Fn(I) -> T + Sync,
) -> Vec<T> {
    let slots: Vec<Mutex<Option<I>>> = inputs.into_iter().map(|i| Mutex::new(Some(i))).collect();
    // Each slot is taken once: by its thread, or by the caller when the
    // thread did not start.
    let run = |slot: &Mutex<Option<I>>| {
        let input = slot.lock().ok().and_then(|mut input| input.take());
        input.map(&work)
    };
    let run = &run;
    let answers: Vec<Option<T>> = std::thread::scope(|scope| {
        let Some((first, others)) = slots.split_first() else {
            return Vec::new();
        };
        let handles: Vec<_> = others
            .iter()
            .map(|slot| {
                std::thread::Builder::new()
                    .spawn_scoped(scope, move || run(slot))
                    .ok()
            })
            .collect();
        let mut answers = vec![run(first)];
        for (slot, handle) in others.iter().zip(handles) {
            answers.push(match handle {
                Some(handle) => handle
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
                None => run(slot),
            });
        }
        answers
    });
    answers.into_iter().flatten().collect()
}

/// `threads` ranges of `rows` rows of about equal size.
pub(super) fn even_split(rows: usize, threads: usize) -> Vec<Range<usize>> {
    (0..threads)
        .map(|t| rows * t / threads..rows * (t + 1) / threads)
        .collect()
}
