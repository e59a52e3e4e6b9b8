//! Locking the adapter's small in-process tables.

use std::sync::{Mutex, MutexGuard, PoisonError};

/// Locks `table`. A holder that panicked left it consistent (every critical section is a few
/// map operations), so a poisoned lock is taken over rather than failing every later caller.
pub(crate) fn lock<T>(table: &Mutex<T>) -> MutexGuard<'_, T> {
    table.lock().unwrap_or_else(PoisonError::into_inner)
}
