//! A global allocator that counts allocations and live bytes, for the tests and
//! benches that measure what the library allocates. Forwards every call unchanged to
//! the system allocator.
#![allow(unsafe_code)] // A GlobalAlloc needs it; the library itself forbids unsafe code.
#![allow(dead_code)] // Each user reads a different counter.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicIsize, AtomicUsize, Ordering};

/// Counts allocations (and reallocations) and the bytes live on the heap.
pub struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);
static LIVE: AtomicIsize = AtomicIsize::new(0);

thread_local! {
    /// This thread's allocations: what `allocations_during` counts, so the test
    /// harness's own threads (its output, its timers) never add to a measurement.
    static MINE: Cell<usize> = const { Cell::new(0) };
}

fn count_mine() {
    // `try_with`: a thread being torn down still allocates, without its counter.
    let _ = MINE.try_with(|mine| mine.set(mine.get() + 1));
}

// SAFETY: every call is forwarded unchanged to the system allocator.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::SeqCst);
        count_mine();
        LIVE.fetch_add(layout.size() as isize, Ordering::SeqCst);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::SeqCst);
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::SeqCst);
        count_mine();
        LIVE.fetch_add(new_size as isize - layout.size() as isize, Ordering::SeqCst);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// Allocations made so far.
pub fn allocations() -> usize {
    ALLOCATIONS.load(Ordering::SeqCst)
}

/// Bytes live on the heap now (since the counter started).
pub fn live_bytes() -> isize {
    LIVE.load(Ordering::SeqCst)
}

/// The allocations `work` makes on this thread.
pub fn allocations_during(work: impl FnOnce()) -> usize {
    let before = MINE.with(Cell::get);
    work();
    MINE.with(Cell::get) - before
}
