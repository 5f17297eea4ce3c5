//! The allocator jifen's surfaces run on: the system allocator, except that
//! large blocks get mappings of their own, kept for reuse within the most
//! the process has had in use at once, and huge pages.
//!
//! **Mappings of their own** for every block of [`MAPPED_THRESHOLD`] or
//! more. glibc maps a large block apart too, but once one is freed it
//! raises its threshold to that block's size (up to 32 MiB) and serves
//! later blocks from its heaps, where freeing them gives nothing back: a
//! process that settles a month twice then holds the first run's working
//! buffers through the second, and an analyst's notebook grows with every
//! run. A fixed threshold of our own keeps each run's peak what it was the
//! first time.
//!
//! **Kept for reuse**: a freed mapping is kept for the next block of about
//! its size, its pages still resident, so that a settlement repeated on
//! the same population does not have the kernel (and, on a virtual
//! machine, the host) zero and back its memory again each run. The first
//! block no kept mapping serves has them all given back before it is
//! mapped, so the process never holds more than it once had in use (the
//! `kept` module).
//!
//! **Huge pages** for every block of [`HUGE_PAGE_THRESHOLD`] or more. A
//! month's settlement writes ten result columns of 8 bytes a household
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
//! static ALLOCATOR: jifen_alloc::LargeBlocks = jifen_alloc::LargeBlocks;
//! ```
//!
//! Neither changes what a block holds. Both are Linux's: elsewhere every
//! block is the system allocator's, and a kernel without transparent huge
//! pages ignores the advice.

use std::alloc::{GlobalAlloc, Layout, System};

#[cfg(target_os = "linux")]
mod kept;

/// Blocks this large or larger get a mapping of their own: big enough that
/// the system call is nothing beside filling the block, small enough that
/// every working buffer of a settlement is one.
pub const MAPPED_THRESHOLD: usize = 1 << 20;

/// Blocks this large or larger are advised to use huge pages: numpy's
/// threshold. Smaller ones would waste most of a 2 MiB page.
pub const HUGE_PAGE_THRESHOLD: usize = 4 << 20;

/// The system allocator, with large blocks mapped apart and on huge pages.
#[derive(Clone, Copy, Debug, Default)]
pub struct LargeBlocks;

// SAFETY: a block is mapped apart exactly when its layout says so
// (`mapped`), and the layout a block is freed or resized with is the one it
// was made with, so each block goes back to whoever made it: `munmap` or
// `mremap` for the mapped, the system allocator for the others. Mappings
// are page-aligned, and only layouts aligned to a page at most are mapped.
// The huge page advice only tells the kernel how to back the pages of the
// block just returned, which stays the caller's and keeps its bytes.
unsafe impl GlobalAlloc for LargeBlocks {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if mapped(layout.size(), layout.align()) {
            return map::new(layout.size(), false);
        }
        // SAFETY: the caller's contract for `GlobalAlloc::alloc`.
        advised(unsafe { System.alloc(layout) }, layout.size())
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if mapped(layout.size(), layout.align()) {
            // A fresh anonymous mapping reads as zeros; a kept one is
            // zeroed by `map::new`.
            return map::new(layout.size(), true);
        }
        // SAFETY: the caller's contract for `GlobalAlloc::alloc_zeroed`.
        advised(unsafe { System.alloc_zeroed(layout) }, layout.size())
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if mapped(layout.size(), layout.align()) {
            // SAFETY: the block was mapped by `map::new` or `map::resize`
            // with this size.
            unsafe { map::free(ptr, layout.size()) }
        } else {
            // SAFETY: the caller's contract for `GlobalAlloc::dealloc`.
            unsafe { System.dealloc(ptr, layout) }
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let align = layout.align();
        match (mapped(layout.size(), align), mapped(new_size, align)) {
            // SAFETY: the block was mapped with `layout.size()`.
            (true, true) => unsafe { map::resize(ptr, layout.size(), new_size) },
            // SAFETY: the caller's contract for `GlobalAlloc::realloc`.
            (false, false) => advised(unsafe { System.realloc(ptr, layout, new_size) }, new_size),
            _ => {
                // Between the two kinds: a new block, the bytes both hold
                // copied, the old one freed.
                // SAFETY: `new_size` is non-zero and, rounded up to
                // `align`, does not overflow (the caller's contract).
                let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, align) };
                // SAFETY: as above, a valid non-zero layout.
                let new = unsafe { self.alloc(new_layout) };
                if !new.is_null() {
                    // SAFETY: both blocks hold at least the bytes copied and
                    // are distinct; the old one is the caller's to free.
                    unsafe {
                        std::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size));
                        self.dealloc(ptr, layout);
                    }
                }
                new
            }
        }
    }
}

/// Gives every kept mapping back to the system now, and says how many bytes
/// that was. A process that has settled and dropped the results calls it
/// when its memory should shrink to what it holds (an analyst's notebook
/// before loading something else, a platform between monthly runs): kept
/// mappings are otherwise held until a block none of them serves. The next
/// settlement then maps its memory afresh. Always 0 where nothing is
/// mapped apart (systems other than Linux).
pub fn give_back_kept() -> usize {
    map::give_back_kept()
}

/// Whether a block of `size` bytes aligned to `align` is mapped apart.
#[inline]
fn mapped(size: usize, align: usize) -> bool {
    cfg!(target_os = "linux") && size >= MAPPED_THRESHOLD && align <= map::PAGE
}

/// Advises huge pages for the 2 MiB-aligned part of a large block of the
/// system allocator's (only whole, aligned 2 MiB stretches can be huge
/// pages, and the rest of their pages may be other blocks'), and returns it.
#[inline]
fn advised(block: *mut u8, size: usize) -> *mut u8 {
    if !block.is_null() && size >= HUGE_PAGE_THRESHOLD {
        let start = (block as usize).next_multiple_of(HUGE_PAGE);
        let end = (block as usize + size) / HUGE_PAGE * HUGE_PAGE;
        if start < end {
            advise_huge_pages(start, end - start);
        }
    }
    block
}

/// The size of a huge page on the systems that have them.
const HUGE_PAGE: usize = 2 << 20;

/// Advises huge pages for `size` bytes from `start`, which lie in a block
/// just allocated.
#[cfg(target_os = "linux")]
fn advise_huge_pages(start: usize, size: usize) {
    // SAFETY: the range lies within the block just allocated (the caller's
    // word); the advice neither reads nor changes its bytes. Its outcome is
    // ignored: a kernel without transparent huge pages refuses it, and the
    // block is then served by ordinary pages as it would be anyway.
    unsafe {
        libc::madvise(start as *mut libc::c_void, size, libc::MADV_HUGEPAGE);
    }
}

#[cfg(not(target_os = "linux"))]
fn advise_huge_pages(_start: usize, _size: usize) {}

/// Blocks in anonymous mappings of their own. A null pointer when the
/// system refuses, as [`GlobalAlloc`] asks.
#[cfg(target_os = "linux")]
mod map {
    use std::ptr::null_mut;

    use super::kept::{self, Block};
    use super::{advise_huge_pages, HUGE_PAGE_THRESHOLD};

    /// The alignment every mapping has: the smallest page of any system.
    pub(super) const PAGE: usize = 4096;

    /// A large mapping is advised whole, so that it stays one mapping to
    /// the kernel (advising a part would split it, and a mapping in parts
    /// cannot be resized); the kernel puts huge pages where they fit.
    fn advised(block: *mut libc::c_void, size: usize) -> *mut u8 {
        if block == libc::MAP_FAILED {
            return null_mut();
        }
        if size >= HUGE_PAGE_THRESHOLD {
            advise_huge_pages(block as usize, size);
        }
        block.cast()
    }

    /// A block of `size` bytes: a kept mapping when one serves it (zeroed
    /// here when the caller asks for zeros), else a new mapping, the kept
    /// ones given back first ([`kept`]).
    pub(super) fn new(size: usize, zeroed: bool) -> *mut u8 {
        if let Some((address, rest)) = kept::take(size) {
            unmap(rest.as_slice());
            if zeroed {
                // SAFETY: the kept mapping holds `size` bytes nothing uses.
                unsafe { std::ptr::write_bytes(address as *mut u8, 0, size) };
            }
            return address as *mut u8;
        }
        give_back_kept();
        advised(mapping(size), size)
    }

    /// Gives every kept mapping back to the system: the bytes given back.
    pub(super) fn give_back_kept() -> usize {
        let mut blocks = [Block::default(); kept::SLOTS];
        let count = kept::give_back_all(&mut blocks);
        unmap(&blocks[..count]);
        blocks[..count].iter().map(|block| block.size).sum()
    }

    fn mapping(size: usize) -> *mut libc::c_void {
        // SAFETY: a new private anonymous mapping touches no existing memory.
        unsafe {
            libc::mmap(
                null_mut(),
                size,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        }
    }

    /// Gives mappings back to the system.
    fn unmap(blocks: &[Block]) {
        for block in blocks {
            // SAFETY: each is a mapping made here that nothing uses: a kept
            // one, or the part of one beyond the block taken from it.
            unsafe { libc::munmap(block.address as *mut libc::c_void, block.size) };
        }
    }

    /// Keeps a freed block's mapping for reuse, or gives it back.
    ///
    /// # Safety
    /// `block` is a mapping of `size` bytes made here, not used afterwards.
    pub(super) unsafe fn free(block: *mut u8, size: usize) {
        if !kept::keep(block as usize, size) {
            unmap(&[Block {
                address: block as usize,
                size: kept::pages(size),
            }]);
        }
    }

    /// Grows or shrinks a mapping, moving it if it must; its bytes move
    /// with it, without a copy.
    ///
    /// # Safety
    /// `block` is a mapping of `size` bytes made here.
    pub(super) unsafe fn resize(block: *mut u8, size: usize, new_size: usize) -> *mut u8 {
        // A block grown or shrunk ends the pattern the kept mappings serve,
        // as a new one does.
        give_back_kept();
        // SAFETY: the caller's contract; on failure the old mapping stays.
        let moved = unsafe { libc::mremap(block.cast(), size, new_size, libc::MREMAP_MAYMOVE) };
        advised(moved, new_size)
    }
}

/// Elsewhere nothing is mapped apart ([`mapped`] is false).
#[cfg(not(target_os = "linux"))]
mod map {
    pub(super) const PAGE: usize = 4096;

    pub(super) fn new(_size: usize, _zeroed: bool) -> *mut u8 {
        std::ptr::null_mut()
    }

    pub(super) unsafe fn free(_block: *mut u8, _size: usize) {}

    pub(super) unsafe fn resize(_block: *mut u8, _size: usize, _new_size: usize) -> *mut u8 {
        std::ptr::null_mut()
    }

    pub(super) fn give_back_kept() -> usize {
        0
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    /// The flags (`VmFlags`) of the mapping that holds `address`, if one
    /// does.
    fn mapping_of(address: usize) -> Option<String> {
        let smaps = std::fs::read_to_string("/proc/self/smaps").expect("smaps");
        let mut inside = false;
        for line in smaps.lines() {
            let first = line.split_whitespace().next().unwrap_or_default();
            if let Some((from, to)) = first.split_once('-') {
                let bound = |hex| usize::from_str_radix(hex, 16).unwrap_or(0);
                inside = (bound(from)..bound(to)).contains(&address);
            } else if inside && first == "VmFlags:" {
                return Some(line.to_owned());
            }
        }
        None
    }

    /// One test, so that nothing else allocates in its thread between its
    /// steps: a small block must lie in memory nothing advised, a freed
    /// block's address in no mapping.
    #[test]
    fn large_blocks_are_mapped_apart_and_advised_and_resizing_keeps_the_bytes() {
        // glibc serves blocks up to this size from its heaps once one was
        // mapped and freed; ours are mapped apart all the same.
        let raised = Layout::from_size_align(2 * MAPPED_THRESHOLD, 8).expect("layout");
        // SAFETY: a valid, non-zero layout, freed with itself.
        unsafe { System.dealloc(System.alloc(raised), raised) };
        let zeroed: Vec<u64> = vec![0; MAPPED_THRESHOLD / 8];
        assert!(zeroed.iter().all(|&x| x == 0));
        let address = zeroed.as_ptr() as usize;
        assert!(mapping_of(address).is_some());

        // A freed block is kept, and the next block of its size reuses it,
        // zeroed when asked for zeroed.
        let kept_before = kept::count();
        drop(zeroed);
        assert_eq!(kept::count(), kept_before + 1);
        let mut reused: Vec<u64> = Vec::with_capacity(MAPPED_THRESHOLD / 8);
        assert_eq!(reused.as_ptr() as usize, address, "a kept block is reused");
        reused.resize(MAPPED_THRESHOLD / 8, u64::MAX);
        drop(reused);
        let zeroed: Vec<u64> = vec![0; MAPPED_THRESHOLD / 8];
        assert_eq!(zeroed.as_ptr() as usize, address);
        assert!(
            zeroed.iter().all(|&x| x == 0),
            "a reused block asked for zeroed is"
        );
        drop(zeroed);
        // Given back when asked, every byte of them, then nothing more.
        assert_eq!(kept::count(), kept_before + 1);
        assert!(give_back_kept() >= MAPPED_THRESHOLD);
        assert_eq!((kept::count(), give_back_kept()), (0, 0));
        assert_eq!(mapping_of(address), None, "a freed block is given back");
        // A block no kept one serves has them all given back first.
        drop(Vec::<u64>::with_capacity(MAPPED_THRESHOLD / 8));
        assert!(kept::count() > 0);
        let other: Vec<u64> = Vec::with_capacity(2 * MAPPED_THRESHOLD / 8);
        assert_eq!(kept::count(), 0, "kept blocks are given back");
        let other_block = other.as_ptr() as usize..other.as_ptr() as usize + 2 * MAPPED_THRESHOLD;
        if !other_block.contains(&address) {
            assert_eq!(mapping_of(address), None, "a freed block is given back");
        }
        drop(other);

        let small: Vec<u64> = vec![7; 1 << 10];
        let large: Vec<u64> = vec![7; 8 << 20];
        assert!(small.iter().all(|&x| x == 7) && large.iter().all(|&x| x == 7));
        // Resizing within the system's blocks, from them to a mapping,
        // within mappings and back.
        let mut grown: Vec<u64> = (0..1000).collect();
        grown.reserve_exact(1000);
        grown.reserve_exact(HUGE_PAGE_THRESHOLD);
        assert!(grown.iter().copied().eq(0..1000));
        grown.extend(1000..MAPPED_THRESHOLD as u64);
        grown.reserve_exact(4 * MAPPED_THRESHOLD);
        assert!(grown.iter().copied().eq(0..MAPPED_THRESHOLD as u64));
        grown.truncate(1000);
        grown.shrink_to_fit();
        assert!(grown.iter().copied().eq(0..1000));

        // A kernel with transparent huge pages marks an advised mapping
        // `hg`, whatever mode they are in.
        if !std::path::Path::new("/sys/kernel/mm/transparent_hugepage").exists() {
            eprintln!("this kernel has no transparent huge pages");
            return;
        }
        // The middle of a block lies in its advised, aligned part.
        let advised = |block: *const u64, bytes: usize| {
            let flags = mapping_of(block as usize + bytes / 2).expect("no mapping found");
            flags.contains(" hg")
        };
        assert!(!advised(small.as_ptr(), 8 << 10));
        assert!(advised(large.as_ptr(), 64 << 20));
        grown.reserve_exact(HUGE_PAGE_THRESHOLD);
        assert!(advised(grown.as_ptr(), 8 * grown.capacity()));
    }

    #[global_allocator]
    static ALLOCATOR: LargeBlocks = LargeBlocks;
}
