//! Freed mappings kept for the next blocks of about their size, until a
//! block none of them serves.
//!
//! A fresh mapping is zeroed by the kernel page by page as it is first
//! touched, and on a virtual machine that hands freed memory back to its
//! host (virtio-balloon free page reporting, as cloud machines do) each
//! of those pages may first have to be backed by the host again: a
//! settlement's result columns and working buffers, faulted in anew on
//! every run, made later shuffled runs of ten million households range
//! from 0.9 s to 4.4 s on one such machine, most of it in the kernel's page
//! clearing (benches/README.md). A kept mapping is reused as it is, its
//! pages still resident.
//!
//! A process repeating a settlement on one population asks for the same
//! sizes run after run and finds them here. The first block none of the
//! kept mappings serves ends that pattern: every kept mapping is given back
//! before a new one is made, so the mappings alive and kept never exceed
//! the most the process had alive at once, and what a finished run left
//! is not held through a different one.

use std::sync::{Mutex, MutexGuard, TryLockError};

use super::map::PAGE;

/// How many freed mappings are kept at most: more than a settlement's
/// result columns and working buffers.
pub(super) const SLOTS: usize = 64;

/// A mapping: its address and its size in whole pages.
#[derive(Clone, Copy, Default)]
pub(super) struct Block {
    pub(super) address: usize,
    pub(super) size: usize,
}

struct Kept {
    blocks: [Block; SLOTS],
    count: usize,
}

static KEPT: Mutex<Kept> = Mutex::new(Kept {
    blocks: [Block {
        address: 0,
        size: 0,
    }; SLOTS],
    count: 0,
});

/// `size` rounded up to whole pages, as the kernel maps it.
pub(super) fn pages(size: usize) -> usize {
    size.next_multiple_of(PAGE)
}

/// The kept mappings, unless another thread holds them past a short wait:
/// the block is then mapped or unmapped as if nothing were kept. An
/// allocator must not wait on a lock its caller cannot see, and a child
/// forked while another thread held it would wait forever.
fn lock() -> Option<MutexGuard<'static, Kept>> {
    for _ in 0..SPINS {
        match KEPT.try_lock() {
            Ok(kept) => return Some(kept),
            // The list is whole after every step, so a thread that panicked
            // holding the lock left nothing half done.
            Err(TryLockError::Poisoned(poisoned)) => return Some(poisoned.into_inner()),
            Err(TryLockError::WouldBlock) => std::hint::spin_loop(),
        }
    }
    None
}

/// How many times [`lock`] tries: the lock is held for a few comparisons.
const SPINS: usize = 1000;

/// A kept mapping for a block of `size` bytes: the smallest holding it and
/// at most a quarter larger (a settlement's buffers vary that little from
/// run to run), with the part beyond the block, to unmap.
pub(super) fn take(size: usize) -> Option<(usize, Option<Block>)> {
    let size = pages(size);
    let mut kept = lock()?;
    let count = kept.count;
    let slot = (0..count)
        .filter(|&slot| (size..=size + size / 4).contains(&kept.blocks[slot].size))
        .min_by_key(|&slot| kept.blocks[slot].size)?;
    let block = kept.blocks[slot];
    kept.blocks[slot] = kept.blocks[count - 1];
    kept.count -= 1;
    let rest = (block.size > size).then_some(Block {
        address: block.address + size,
        size: block.size - size,
    });
    Some((block.address, rest))
}

/// Every kept mapping, taken from the list into `unmap`: how many.
pub(super) fn give_back_all(unmap: &mut [Block; SLOTS]) -> usize {
    let Some(mut kept) = lock() else {
        return 0;
    };
    let count = kept.count;
    unmap[..count].copy_from_slice(&kept.blocks[..count]);
    kept.count = 0;
    count
}

/// Keeps a freed mapping of `size` bytes for reuse; `false` when it is to
/// be unmapped (no slot is free).
pub(super) fn keep(address: usize, size: usize) -> bool {
    let Some(mut kept) = lock() else {
        return false;
    };
    let count = kept.count;
    if count == SLOTS {
        return false;
    }
    kept.blocks[count] = Block {
        address,
        size: pages(size),
    };
    kept.count += 1;
    true
}

/// How many mappings are kept: what tests check.
#[cfg(test)]
pub(super) fn count() -> usize {
    lock().map_or(0, |kept| kept.count)
}
