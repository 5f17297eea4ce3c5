//! A validated entry packed into 64 bits: the kind (2 bits) and the points
//! (25) in the low 27, above them either the household's index within its
//! block (16 bits, for the first level) or the entry's (day, order) sort key
//! (5 and 32 bits, for the households posted entry by entry).

const KIND_SHIFT: u32 = 25;
const ABOVE_SHIFT: u32 = 27;
const POINTS: u64 = (1 << KIND_SHIFT) - 1;

#[inline(always)]
fn kind_and_points(kind: u8, points: i64) -> u64 {
    (u64::from(kind & 3) << KIND_SHIFT) | (points as u64 & POINTS)
}

/// An entry with its household's index within its block.
#[inline(always)]
pub(super) fn with_low(low: u16, kind: u8, points: i64) -> u64 {
    (u64::from(low) << ABOVE_SHIFT) | kind_and_points(kind, points)
}

#[inline(always)]
pub(super) fn low(entry: u64) -> usize {
    (entry >> ABOVE_SHIFT) as u16 as usize
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

#[inline(always)]
pub(super) fn kind(entry: u64) -> u8 {
    ((entry >> KIND_SHIFT) & 3) as u8
}

#[inline(always)]
pub(super) fn points(entry: u64) -> i64 {
    (entry & POINTS) as i64
}
