//! Validated entries packed for the grouping pass. A first-level entry is
//! 32 bits, so partitioning a chunk moves 4 bytes a row: its household's
//! index within its block (14 bits), its kind (2) and its points (16), or 0
//! points when it carries more ([`fits_in_block_entry`]), those kept apart
//! as a [`large`] entry. An entry of a household posted entry by entry is
//! 64 bits: its kind (2 bits) and points (25) in the low 27, above them its
//! (day, order) sort key (5 and 32 bits).

const KIND_SHIFT: u32 = 25;
const ABOVE_SHIFT: u32 = 27;
const POINTS: u64 = (1 << KIND_SHIFT) - 1;

const BLOCK_KIND_SHIFT: u32 = 16;
const BLOCK_LOW_SHIFT: u32 = 18;
const BLOCK_POINTS: u32 = (1 << BLOCK_KIND_SHIFT) - 1;

/// The household's index within its block takes the bits above the kind.
pub(super) const BLOCK_LOW_BITS: u32 = u32::BITS - BLOCK_LOW_SHIFT;

/// Whether a well-formed entry's points fit a first-level entry; the rare
/// entries of 2¹⁶ points or more are kept apart ([`large`]).
#[inline(always)]
pub(super) fn fits_in_block_entry(points: i64) -> bool {
    (points as u64) <= u64::from(BLOCK_POINTS)
}

/// An entry with its household's index within its block, and its points
/// when they [fit](fits_in_block_entry) (0 otherwise).
#[inline(always)]
pub(super) fn in_block(low: u16, kind: u8, points: i64) -> u32 {
    let points = if fits_in_block_entry(points) {
        points as u32
    } else {
        0
    };
    (u32::from(low) << BLOCK_LOW_SHIFT) | (u32::from(kind & 3) << BLOCK_KIND_SHIFT) | points
}

#[inline(always)]
pub(super) fn low(entry: u32) -> usize {
    (entry >> BLOCK_LOW_SHIFT) as usize
}

#[inline(always)]
pub(super) fn block_kind(entry: u32) -> u8 {
    ((entry >> BLOCK_KIND_SHIFT) & 3) as u8
}

#[inline(always)]
pub(super) fn block_points(entry: u32) -> i64 {
    i64::from(entry & BLOCK_POINTS)
}

/// The points of an entry too large for a first-level entry, with its
/// household above them, so that sorting large entries sorts them by
/// household.
#[inline(always)]
pub(super) fn large(household: u32, kind: u8, points: i64) -> u64 {
    (u64::from(household) << 32) | kind_and_points(kind, points)
}

#[inline(always)]
pub(super) fn large_household(entry: u64) -> usize {
    (entry >> 32) as usize
}

#[inline(always)]
fn kind_and_points(kind: u8, points: i64) -> u64 {
    (u64::from(kind & 3) << KIND_SHIFT) | (points as u64 & POINTS)
}

/// An entry with its (day, order) sort key.
#[inline(always)]
pub(super) fn with_key(kind: u8, points: i64, day: u8, order: u32) -> u64 {
    (u64::from(day) << 59) | (u64::from(order) << ABOVE_SHIFT) | kind_and_points(kind, points)
}

#[inline(always)]
pub(super) fn key(entry: u64) -> u64 {
    entry >> ABOVE_SHIFT
}

/// The kind of a keyed or a [`large`] entry.
#[inline(always)]
pub(super) fn kind(entry: u64) -> u8 {
    ((entry >> KIND_SHIFT) & 3) as u8
}

/// The points of a keyed or a [`large`] entry.
#[inline(always)]
pub(super) fn points(entry: u64) -> i64 {
    (entry & POINTS) as i64
}
