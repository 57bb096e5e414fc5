//! A global allocator for tests that look for secrets left in freed memory: while a
//! thread is watching, it copies every block that thread frees into a log (reallocation
//! as allocate + copy + free, which is `GlobalAlloc`'s default `realloc` and what any
//! allocator may do), so a secret found in the log was freed without being wiped
//! (`Zeroizing` buffers log only zeros). A test binary includes it with `#[path]` and
//! gets the `#[global_allocator]` with it; `lock()` keeps its tests one at a time.
#![allow(dead_code)] // Each test binary uses part.
#![allow(unsafe_code)] // A GlobalAlloc needs it; the library itself forbids unsafe code.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::{Cell, UnsafeCell};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

const LOG_SIZE: usize = 32 << 20;

struct Log(UnsafeCell<[u8; LOG_SIZE]>);
// SAFETY: only the one watching thread writes (WATCH_LOCK serialises the tests), and
// the log is read only after watching stopped.
unsafe impl Sync for Log {}

static LOG: Log = Log(UnsafeCell::new([0; LOG_SIZE]));
static LOG_LEN: AtomicUsize = AtomicUsize::new(0);
static LOG_FULL: AtomicBool = AtomicBool::new(false);

thread_local! {
    static WATCHING: Cell<bool> = const { Cell::new(false) };
}

struct Watching;

// SAFETY: every block is allocated and freed by the system allocator; the log copy
// reads the block before it is freed.
unsafe impl GlobalAlloc for Watching {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if WATCHING.try_with(Cell::get).unwrap_or(false) {
            let size = layout.size();
            let at = LOG_LEN.fetch_add(size + 1, Ordering::SeqCst);
            if at + size < LOG_SIZE {
                unsafe {
                    let log = LOG.0.get().cast::<u8>();
                    std::ptr::copy_nonoverlapping(ptr, log.add(at), size);
                    *log.add(at + size) = 0;
                }
            } else {
                LOG_FULL.store(true, Ordering::SeqCst);
            }
        }
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // As GlobalAlloc's default: a new block, a copy, and the old block freed.
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        let new = unsafe { self.alloc(new_layout) };
        if !new.is_null() {
            unsafe {
                std::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size));
                self.dealloc(ptr, layout);
            }
        }
        new
    }
}

#[global_allocator]
static ALLOCATOR: Watching = Watching;

static WATCH_LOCK: Mutex<()> = Mutex::new(());

/// What the current thread freed while `f` ran, searchable after.
pub struct Freed;

pub fn watch<T>(f: impl FnOnce() -> T) -> (T, Freed) {
    LOG_LEN.store(0, Ordering::SeqCst);
    LOG_FULL.store(false, Ordering::SeqCst);
    WATCHING.with(|w| w.set(true));
    let out = f();
    WATCHING.with(|w| w.set(false));
    assert!(!LOG_FULL.load(Ordering::SeqCst), "the freed-memory log overflowed");
    (out, Freed)
}

impl Freed {
    fn bytes(&self) -> &'static [u8] {
        let len = LOG_LEN.load(Ordering::SeqCst).min(LOG_SIZE);
        // SAFETY: watching has stopped; nothing writes the log until the next watch,
        // which the test lock keeps from starting while this is read.
        unsafe { std::slice::from_raw_parts(LOG.0.get().cast::<u8>(), len) }
    }

    /// Whether `needle` was in a freed block; a short one (a 6-digit code, which may
    /// stand inside a timestamp by chance) only when not inside a longer run of letters
    /// and digits.
    pub fn holds(&self, needle: &[u8]) -> bool {
        let hay = self.bytes();
        if needle.is_empty() || hay.len() < needle.len() {
            return false;
        }
        let short = needle.len() <= 8;
        (0..=hay.len() - needle.len()).any(|at| {
            hay[at..at + needle.len()] == *needle
                && !(short && at.checked_sub(1).is_some_and(|b| hay[b].is_ascii_alphanumeric()))
                && !(short && hay.get(at + needle.len()).is_some_and(u8::is_ascii_alphanumeric))
        })
    }
}

pub fn lock() -> std::sync::MutexGuard<'static, ()> {
    WATCH_LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
