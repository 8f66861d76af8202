//! The one panic boundary every export goes through, and the re-entry guard.
//!
//! Since Rust 1.81 a panic unwinding out of an `extern "C"` function aborts the process, and
//! the process is someone else's program. Every export therefore runs its body inside
//! [`ffi_boundary!`](crate::ffi_boundary), which catches the panic, logs it and evaluates the export's fallback
//! (for the interposed functions: the real libc function, so a bug in the shim costs the
//! caller nothing but the shim's speed).

use std::cell::Cell;

/// Runs `$body` under `catch_unwind`; on a panic evaluates `$fallback` instead.
///
/// `$fallback` is evaluated only after the panic was caught, outside the unwinding body, and
/// must not panic itself (it calls the real libc function or returns a constant).
#[macro_export]
#[doc(hidden)]
macro_rules! ffi_boundary {
    ($fallback:expr, $body:block) => {
        match ::std::panic::catch_unwind(::std::panic::AssertUnwindSafe(|| $body)) {
            Ok(value) => value,
            Err(_) => {
                $crate::log::panic_caught();
                $fallback
            }
        }
    };
}

thread_local! {
    /// True while this thread is inside the shim's own logic. Const-initialised without a
    /// destructor, so reading it never allocates or registers anything.
    static INSIDE: Cell<bool> = const { Cell::new(false) };
}

/// Marks this thread as inside the shim until dropped (also when unwinding).
///
/// Anything the shim calls that could come back into an interposed function (an NSS module
/// under the real libc call, a library calling `getaddrinfo`) finds the flag set and is sent
/// straight to libc instead of recursing.
#[derive(Debug)]
pub(crate) struct ReentryGuard {
    _not_send: std::marker::PhantomData<*const ()>,
}

impl ReentryGuard {
    /// Enters the shim, or `None` when this thread is already inside it.
    pub(crate) fn enter() -> Option<ReentryGuard> {
        INSIDE.with(|inside| {
            if inside.get() {
                None
            } else {
                inside.set(true);
                Some(ReentryGuard {
                    _not_send: std::marker::PhantomData,
                })
            }
        })
    }
}

impl Drop for ReentryGuard {
    fn drop(&mut self) {
        INSIDE.with(|inside| inside.set(false));
    }
}

/// True while this thread is inside the shim (for tests of the guard).
pub fn is_inside_shim() -> bool {
    INSIDE.with(Cell::get)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guard_refuses_nested_entry_and_releases_on_drop() {
        let outer = ReentryGuard::enter().expect("first entry");
        assert!(is_inside_shim());
        assert!(ReentryGuard::enter().is_none());
        drop(outer);
        assert!(!is_inside_shim());
        assert!(ReentryGuard::enter().is_some());
    }

    #[test]
    fn guard_is_released_when_a_panic_unwinds_through_it() {
        let result = std::panic::catch_unwind(|| {
            let _guard = ReentryGuard::enter();
            panic!("injected");
        });
        assert!(result.is_err());
        assert!(!is_inside_shim());
    }

    #[test]
    fn boundary_returns_the_fallback_on_panic() {
        let value: i32 = ffi_boundary!(-7, {
            if std::hint::black_box(true) {
                panic!("injected panic inside the boundary");
            }
            1
        });
        assert_eq!(value, -7);
        let value: i32 = ffi_boundary!(-7, { 3 });
        assert_eq!(value, 3);
    }
}
