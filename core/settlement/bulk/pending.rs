//! Result rows held a few dozen at a time and written a whole cache line at
//! a time past the cache, by the passes that post households in row order.

use jifen_stream::Rows;

use super::{HouseholdColumns, HouseholdResultsMut};

/// Households posted and not yet written: a few dozen rows of every result
/// column, written out together a whole cache line at a time past the cache
/// ([`jifen_stream`]), so that writing the results does not first read them.
pub(super) struct Pending {
    rows: [[i64; PENDING]; 10],
    /// The output row of `rows[_][0]`.
    first: usize,
    /// Where the rows of the first column start within their cache line.
    offset: usize,
}

/// Rows held before they are written: eight cache lines of each column.
pub(super) const PENDING: usize = 8 * jifen_stream::LINE;

/// Where a pass's held rows go: its rows of the result columns.
pub(super) trait Target {
    /// How many rows lie before the first column's first whole cache line.
    fn rows_before_line(&self) -> usize;

    /// Writes each column's `rows` (in [`super::HouseholdResults::COLUMNS`]'
    /// order) from row `first`.
    fn write_rows(&mut self, first: usize, rows: [&[i64]; 10]);
}

/// Columns that hold rows already: a caller's, or a settlement's reused.
impl Target for HouseholdResultsMut<'_> {
    fn rows_before_line(&self) -> usize {
        jifen_stream::rows_before_line(self.awarded)
    }

    fn write_rows(&mut self, first: usize, rows: [&[i64]; 10]) {
        for (column, rows) in self.each_mut().into_iter().zip(rows) {
            jifen_stream::stream_into(&mut column[first..first + rows.len()], rows);
        }
    }
}

/// Columns written from the start of the pass's rows onward, fresh ones
/// among them ([`jifen_stream::write_fresh`]).
impl Target for HouseholdColumns<Rows<'_>> {
    fn rows_before_line(&self) -> usize {
        self.awarded.rows_before_line()
    }

    fn write_rows(&mut self, first: usize, rows: [&[i64]; 10]) {
        for (column, rows) in self.fields_mut().into_iter().zip(rows) {
            column.stream_at(first, rows);
        }
    }
}

impl Pending {
    pub fn new(out: &impl Target) -> Pending {
        let line = jifen_stream::LINE;
        Pending {
            rows: [[0; PENDING]; 10],
            first: 0,
            offset: (line - out.rows_before_line() % line) % line,
        }
    }

    /// Holds `row` (in [`super::HouseholdResults::COLUMNS`]' order) for
    /// output row `i`, the row after the last one held, and writes the held
    /// rows when they reach the end of a cache line and fill the buffer.
    #[inline(always)]
    pub fn push(&mut self, i: usize, row: [i64; 10], out: &mut impl Target) {
        self.hold(i, row);
        if self.due(i) {
            self.write(i + 1, out);
        }
    }

    /// Holds `row` for output row `i`, any row not yet written.
    #[inline(always)]
    pub fn hold(&mut self, i: usize, row: [i64; 10]) {
        let at = i - self.first;
        for (column, value) in self.rows.iter_mut().zip(row) {
            column[at] = value;
        }
    }

    /// Whether the rows held up to row `i` are to be written now: they
    /// reach the end of a cache line and fill the buffer.
    #[inline(always)]
    pub fn due(&self, i: usize) -> bool {
        let at = i - self.first;
        let line_ends = (i + 1 + self.offset) % jifen_stream::LINE == 0;
        at + 1 == PENDING || (line_ends && at + jifen_stream::LINE >= PENDING)
    }

    /// Writes the rows held, up to row `end`.
    pub fn write(&mut self, end: usize, out: &mut impl Target) {
        let held = end - self.first;
        out.write_rows(self.first, self.rows.each_ref().map(|rows| &rows[..held]));
        self.first = end;
    }
}

/// However the pass ends, what it streamed is visible before its thread
/// hands its rows on.
impl Drop for Pending {
    fn drop(&mut self) {
        jifen_stream::fence();
    }
}
