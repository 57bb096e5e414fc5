//! A value alone on its cache lines, for the shards of locks that threads serving
//! different users take side by side (the memory store's, the service's secret cache).

/// A value alone on its cache lines (128 bytes: two 64-byte lines, as adjacent-line
/// prefetching pairs them), so threads locking neighbouring shards, or counting events,
/// do not slow each other down by writing to one line.
#[derive(Debug, Default)]
#[repr(align(128))]
pub(crate) struct CacheLine<T>(pub(crate) T);

impl<T> std::ops::Deref for CacheLine<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}
