//! The allocator jifen's surfaces run on: the system allocator, asking the
//! kernel to back every block of [`HUGE_PAGE_THRESHOLD`] or more with huge
//! pages.
//!
//! A month's settlement writes ten result columns of 8 bytes a household
//! (800 MB for ten million households) into fresh memory. On Linux, with
//! transparent huge pages in `madvise` mode (the default of Debian, Ubuntu
//! and most distributions), the first touch of that memory otherwise faults
//! it in 4 KiB at a time, which costs more than the settlement itself; with
//! 2 MiB pages it is 512 times fewer faults, and fewer TLB misses while
//! columns are read. numpy advises every array of 4 MiB or more the same
//! way, so the tables an analyst hands jifen are already in such memory.
//!
//! This is its own crate because the core is pure Rust without `unsafe` or
//! libc: the C library and the Python module declare it as their global
//! allocator, and so can a Rust program that embeds jifen:
//!
//! ```
//! #[global_allocator]
//! static ALLOCATOR: jifen_alloc::HugePages = jifen_alloc::HugePages;
//! ```
//!
//! The advice changes where the kernel finds pages, never what a block
//! holds, and is skipped where it is not understood (other systems,
//! kernels without transparent huge pages).

use std::alloc::{GlobalAlloc, Layout, System};

/// Blocks this large or larger are advised to use huge pages: numpy's
/// threshold. Smaller ones would waste most of a 2 MiB page.
pub const HUGE_PAGE_THRESHOLD: usize = 4 << 20;

/// The system allocator, advising huge pages for large blocks.
#[derive(Clone, Copy, Debug, Default)]
pub struct HugePages;

// SAFETY: every call is the system allocator's, with the caller's
// arguments; the advice afterwards only tells the kernel how to back pages
// of the block just returned, which stays the caller's and keeps its bytes.
unsafe impl GlobalAlloc for HugePages {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract for `GlobalAlloc::alloc`.
        advised(unsafe { System.alloc(layout) }, layout.size())
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract for `GlobalAlloc::alloc_zeroed`.
        advised(unsafe { System.alloc_zeroed(layout) }, layout.size())
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract for `GlobalAlloc::dealloc`.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller's contract for `GlobalAlloc::realloc`.
        advised(unsafe { System.realloc(ptr, layout, new_size) }, new_size)
    }
}

/// Advises huge pages for the 2 MiB-aligned part of a large block (only
/// whole, aligned 2 MiB stretches can be huge pages), and returns it.
#[inline]
fn advised(block: *mut u8, size: usize) -> *mut u8 {
    if !block.is_null() && size >= HUGE_PAGE_THRESHOLD {
        advise_huge_pages(block, size);
    }
    block
}

/// The size of a huge page on the systems that have them.
const HUGE_PAGE: usize = 2 << 20;

#[cfg(target_os = "linux")]
fn advise_huge_pages(block: *mut u8, size: usize) {
    let start = (block as usize).next_multiple_of(HUGE_PAGE);
    let end = (block as usize + size) / HUGE_PAGE * HUGE_PAGE;
    if start < end {
        // SAFETY: the range lies within the block just allocated; the
        // advice neither reads nor changes its bytes. Its outcome is
        // ignored: a kernel without transparent huge pages refuses it, and
        // the block is then served by ordinary pages as it would be anyway.
        unsafe {
            libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_HUGEPAGE);
        }
    }
}

#[cfg(not(target_os = "linux"))]
fn advise_huge_pages(_block: *mut u8, _size: usize) {}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    /// The flags (`VmFlags`) of the mapping that holds `address`.
    fn flags_of(address: usize) -> String {
        let smaps = std::fs::read_to_string("/proc/self/smaps").expect("smaps");
        let mut inside = false;
        for line in smaps.lines() {
            let first = line.split_whitespace().next().unwrap_or_default();
            if let Some((from, to)) = first.split_once('-') {
                let bound = |hex| usize::from_str_radix(hex, 16).unwrap_or(0);
                inside = (bound(from)..bound(to)).contains(&address);
            } else if inside && first == "VmFlags:" {
                return line.to_owned();
            }
        }
        String::new()
    }

    /// One test, so that nothing else allocates in its thread between its
    /// steps: a small block must lie in memory nothing advised.
    #[test]
    fn large_blocks_are_advised_small_ones_are_not_and_growing_keeps_the_bytes() {
        let small: Vec<u64> = vec![7; 1 << 10];
        let large: Vec<u64> = vec![7; 8 << 20];
        let mut grown: Vec<u64> = (0..1000).collect();
        grown.reserve_exact(HUGE_PAGE_THRESHOLD);
        assert!(small.iter().all(|&x| x == 7) && large.iter().all(|&x| x == 7));
        assert!(grown.iter().copied().eq(0..1000));
        // A kernel with transparent huge pages marks an advised mapping
        // `hg`, whatever mode they are in.
        if !std::path::Path::new("/sys/kernel/mm/transparent_hugepage").exists() {
            eprintln!("this kernel has no transparent huge pages");
            return;
        }
        // The middle of a block lies in its advised, aligned part.
        let advised = |block: *const u64, bytes: usize| {
            let flags = flags_of(block as usize + bytes / 2);
            assert!(flags.starts_with("VmFlags:"), "no mapping found");
            flags.contains(" hg")
        };
        assert!(!advised(small.as_ptr(), 8 << 10));
        assert!(advised(large.as_ptr(), 64 << 20));
        assert!(advised(grown.as_ptr(), 8 * grown.capacity()));
    }

    #[global_allocator]
    static ALLOCATOR: HugePages = HugePages;
}
