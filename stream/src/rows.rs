//! Result columns written without zeroing them first.
//!
//! A settlement writes every row of its result columns before it reads
//! one, so the 800 MB of a fresh settlement's columns need not be zeroed
//! before the run, which costs as much memory traffic as writing them (a
//! tenth of a sorted run of ten million households on the machine of
//! `benches/README.md`). Safe Rust cannot give a vector rows it has not
//! written; [`write_fresh`] can, because it knows which rows were written:
//! each part of a column is a [`Rows`], written from its start onward, and
//! whatever a part did not write when the work ends is zeroed before the
//! vector takes its length.

use std::mem::MaybeUninit;
use std::ops::Range;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::{rows_before_line_at, stream_to};

/// One part of a result column, written from its start onward: by
/// appending rows after those written, or by writing again rows already
/// written. What has been written reads as a slice ([`Rows::written_rows`]).
pub struct Rows<'a> {
    rows: &'a mut [MaybeUninit<i64>],
    /// How many rows from the start are written.
    written: usize,
    /// Where [`write_fresh`] learns `written`; none for rows already
    /// initialised ([`Rows::of`]).
    reported: Option<&'a AtomicUsize>,
}

impl<'a> Rows<'a> {
    /// Rows that hold values already: a caller's own arrays, or a
    /// settlement's columns reused. They are written over from the start.
    pub fn of(column: &'a mut [i64]) -> Rows<'a> {
        // SAFETY: `MaybeUninit<i64>` has the layout of `i64`, and a `Rows`
        // only ever writes initialised values, so the column still holds
        // initialised rows when this borrow ends.
        let rows = unsafe { &mut *(column as *mut [i64] as *mut [MaybeUninit<i64>]) };
        Rows {
            rows,
            written: 0,
            reported: None,
        }
    }

    /// How many rows the part has.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// True when the part has no rows.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// How many of the part's rows, from its start, are written.
    pub fn written(&self) -> usize {
        self.written
    }

    /// The rows written so far.
    pub fn written_rows(&mut self) -> &mut [i64] {
        let written = &mut self.rows[..self.written];
        // SAFETY: the first `written` rows have been written with values
        // of `i64`, and `MaybeUninit<i64>` has its layout.
        unsafe { &mut *(written as *mut [MaybeUninit<i64>] as *mut [i64]) }
    }

    /// Writes `values` from row `first`, which is at most the rows written
    /// (it writes again what was, and appends the rest), whole cache lines
    /// past the cache as [`super::stream_into`] does. Call
    /// [`super::fence`] before another thread reads them.
    ///
    /// # Panics
    /// When `first` lies beyond the rows written, or the values beyond the
    /// part: a pass writing out of its order.
    pub fn stream_at(&mut self, first: usize, values: &[i64]) {
        assert!(first <= self.written, "rows written out of order");
        let end = first + values.len();
        let to = &mut self.rows[first..end];
        // SAFETY: `to` is `values.len()` rows this part holds exclusively.
        unsafe { stream_to(to.as_mut_ptr().cast::<i64>(), values) };
        self.wrote(end);
    }

    /// Appends `len` rows of `value` after those written, and gives them
    /// to be worked on in place.
    ///
    /// # Panics
    /// When they reach beyond the part.
    pub fn fill_next(&mut self, len: usize, value: i64) -> &mut [i64] {
        let start = self.written;
        for row in &mut self.rows[start..start + len] {
            row.write(value);
        }
        self.wrote(start + len);
        &mut self.written_rows()[start..]
    }

    /// How many rows lie before the part's first whole cache line.
    pub fn rows_before_line(&self) -> usize {
        rows_before_line_at(self.rows.as_ptr().cast::<i64>(), self.rows.len())
    }

    /// Notes that the rows up to `end` are written.
    fn wrote(&mut self, end: usize) {
        if end > self.written {
            self.written = end;
            if let Some(reported) = self.reported {
                reported.store(end, Ordering::Release);
            }
        }
    }
}

/// Gives each of `columns` the rows `ranges` cover (consecutive ranges from
/// row 0) without zeroing them first: `work` gets each range's [`Rows`] of
/// every column, and when it returns, any row its part did not write is
/// zeroed and every column has the rows. What the columns held before is
/// gone. A caller reserves the columns' room first to be refused softly;
/// here a column without it grows as `Vec::reserve_exact` grows it.
///
/// # Panics
/// When the ranges are not consecutive from row 0; and when `work`
/// panics, leaving the columns empty.
pub fn write_fresh<const K: usize, R>(
    mut columns: [&mut Vec<i64>; K],
    ranges: &[Range<usize>],
    work: impl FnOnce(Vec<[Rows<'_>; K]>) -> R,
) -> R {
    let rows = ranges.last().map_or(0, |range| range.end);
    let consecutive = ranges
        .iter()
        .zip(std::iter::once(0).chain(ranges.iter().map(|range| range.end)))
        .all(|(range, start)| range.start == start && range.start <= range.end);
    assert!(consecutive, "ranges not consecutive from row 0");
    let written: Vec<[AtomicUsize; K]> = ranges
        .iter()
        .map(|_| std::array::from_fn(|_| AtomicUsize::new(0)))
        .collect();
    for column in columns.iter_mut() {
        column.clear();
        column.reserve_exact(rows);
    }
    let answer = {
        let mut rests = columns
            .each_mut()
            .map(|column| &mut column.spare_capacity_mut()[..rows]);
        let parts = ranges.iter().zip(&written).map(|(range, reported)| {
            std::array::from_fn(|k| {
                let (head, tail) = std::mem::take(&mut rests[k]).split_at_mut(range.len());
                rests[k] = tail;
                Rows {
                    rows: head,
                    written: 0,
                    reported: Some(&reported[k]),
                }
            })
        });
        work(parts.collect())
    };
    for (k, column) in columns.iter_mut().enumerate() {
        let spare = column.spare_capacity_mut();
        for (range, reported) in ranges.iter().zip(&written) {
            let done = reported[k].load(Ordering::Acquire).min(range.len());
            for row in &mut spare[range.start + done..range.end] {
                row.write(0);
            }
        }
        // SAFETY: the column has room for `rows` rows (reserved above), and
        // each of them lies in one range, whose part wrote its first
        // `done` (a `Rows` reports only rows it wrote) and which was zeroed
        // from there.
        unsafe { column.set_len(rows) };
    }
    answer
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_row_is_what_its_part_wrote_or_zero() {
        let mut a = vec![-1; 3];
        let mut b = Vec::new();
        let ranges = [0..10, 10..10, 10..37];
        let lens = write_fresh([&mut a, &mut b], &ranges, |parts| {
            let mut lens = Vec::new();
            for (p, [a, b]) in parts.into_iter().enumerate() {
                let (mut a, mut b) = (a, b);
                lens.push((a.len(), b.len()));
                let values: Vec<i64> = (0..a.len() as i64).map(|v| v + 100 * p as i64).collect();
                // The whole of `a`, in two writes and one again; half of `b`.
                let half = values.len() / 2;
                a.stream_at(0, &values[..half]);
                a.stream_at(half, &values[half..]);
                a.stream_at(1.min(half), &values[1.min(half)..half]);
                b.fill_next(half, 7)[..].fill(9);
                assert_eq!(a.written_rows(), &values[..]);
            }
            super::super::fence();
            lens
        });
        assert_eq!(lens, [(10, 10), (0, 0), (27, 27)]);
        let want_a: Vec<i64> = (0..10).chain(200..227).collect();
        assert_eq!(a, want_a);
        let mut want_b = vec![9; 5];
        want_b.extend([0; 5]);
        want_b.extend([9; 13]);
        want_b.extend([0; 14]);
        assert_eq!(b, want_b);
    }

    #[test]
    fn rows_of_a_column_write_over_it_from_the_start() {
        let mut column = [5i64; 20];
        let mut rows = Rows::of(&mut column[3..]);
        assert_eq!((rows.len(), rows.written()), (17, 0));
        assert!(rows.written_rows().is_empty());
        rows.stream_at(0, &[1, 2, 3]);
        rows.fill_next(2, 0)[1] = 4;
        assert_eq!(rows.written_rows(), &[1, 2, 3, 0, 4]);
        assert_eq!(column[..10], [5, 5, 5, 1, 2, 3, 0, 4, 5, 5]);
    }

    #[test]
    #[should_panic(expected = "out of order")]
    fn a_gap_is_refused() {
        let mut column = [0i64; 4];
        Rows::of(&mut column).stream_at(1, &[1]);
    }

    #[test]
    #[should_panic(expected = "not consecutive")]
    fn ranges_must_cover_the_rows_in_order() {
        write_fresh([&mut Vec::new()], &[0..2, 3..4], |_| ());
    }
}
