//! The C boundary: every `extern "C"` body runs inside [`boundary!`], which
//! returns early for NULL pointers and turns a Rust panic into a status, so no
//! unwind ever crosses into C. The helpers here read arguments and write
//! outputs; they are the only places that dereference C pointers.

use std::ffi::{c_char, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};

use jifen_core::ErrorCode;

/// What an exported function returns when its body panics or a required
/// pointer is NULL, and how a body's value becomes the C return value.
pub(crate) trait BoundaryReturn: Sized {
    /// What the body evaluates to: `Result<(), ErrorCode>` for status
    /// functions, so bodies can use `?`; the return value itself otherwise.
    type Body;
    /// The C return value of a body's value.
    fn from_body(body: Self::Body) -> Self;
    /// The value returned after a caught panic.
    fn panicked() -> Self;
    /// The value returned when a required pointer is NULL.
    fn null_argument() -> Self;
}

impl BoundaryReturn for ErrorCode {
    type Body = Result<(), ErrorCode>;
    fn from_body(body: Result<(), ErrorCode>) -> ErrorCode {
        match body {
            Ok(()) => ErrorCode::Ok,
            Err(code) => code,
        }
    }
    fn panicked() -> ErrorCode {
        ErrorCode::Panic
    }
    fn null_argument() -> ErrorCode {
        ErrorCode::NullArgument
    }
}

/// Functions returning a static string answer NULL when they cannot.
impl BoundaryReturn for *const c_char {
    type Body = *const c_char;
    fn from_body(body: *const c_char) -> *const c_char {
        body
    }
    fn panicked() -> *const c_char {
        std::ptr::null()
    }
    fn null_argument() -> *const c_char {
        std::ptr::null()
    }
}

/// Functions answering a count of bytes answer 0 when they cannot.
impl BoundaryReturn for usize {
    type Body = usize;
    fn from_body(body: usize) -> usize {
        body
    }
    fn panicked() -> usize {
        0
    }
    fn null_argument() -> usize {
        0
    }
}

/// `void` functions (the frees) have nothing to report.
impl BoundaryReturn for () {
    type Body = ();
    fn from_body(body: ()) {
        body
    }
    fn panicked() {}
    fn null_argument() {}
}

/// Runs `body`, turning a panic into [`BoundaryReturn::panicked`]. Use it
/// through [`boundary!`].
pub(crate) fn guard<R: BoundaryReturn>(body: impl FnOnce() -> R::Body) -> R {
    // AssertUnwindSafe: after a panic the caller only sees a status; handles
    // keep no half-updated state (the engine applies events only after they
    // are stored, and the last-error slot is replaced whole).
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(body) => R::from_body(body),
        Err(_) => R::panicked(),
    }
}

/// The one boundary of every exported function:
/// `boundary!(non_null(a, b) { body })` returns
/// [`BoundaryReturn::null_argument`] when any listed pointer is NULL, then runs
/// `body` with panics caught. Pointers that may be NULL are left out of the list.
macro_rules! boundary {
    (non_null($($arg:ident),* $(,)?) $body:block) => {{
        $(
            if $arg.is_null() {
                return $crate::boundary::BoundaryReturn::null_argument();
            }
        )*
        $crate::boundary::guard(|| $body)
    }};
}
pub(crate) use boundary;

/// Borrows a NUL-terminated C string argument as UTF-8.
///
/// # Safety
/// `ptr` is NULL or points to a NUL-terminated string that outlives `'a`.
pub(crate) unsafe fn str_arg<'a>(ptr: *const c_char) -> Result<&'a str, ErrorCode> {
    if ptr.is_null() {
        // Normally caught by `boundary!`; checked again so a pointer missing
        // from a non_null list still cannot be dereferenced.
        return Err(ErrorCode::NullArgument);
    }
    // SAFETY: non-NULL and NUL-terminated by the caller's contract.
    let text = unsafe { CStr::from_ptr(ptr) };
    text.to_str().map_err(|_| ErrorCode::InvalidUtf8)
}

/// Borrows `len` bytes at `ptr` (`ptr` may be NULL only when `len` is 0).
///
/// # Safety
/// `ptr` points to `len` readable bytes that outlive `'a`.
pub(crate) unsafe fn bytes_arg<'a>(ptr: *const u8, len: usize) -> Result<&'a [u8], ErrorCode> {
    // SAFETY: the caller's contract.
    unsafe { slice_arg(ptr, len) }
}

/// Borrows an array of `len` values at `ptr` (`ptr` may be NULL only when `len` is 0).
///
/// # Safety
/// `ptr` points to `len` readable, aligned values that outlive `'a`.
pub(crate) unsafe fn slice_arg<'a, T>(ptr: *const T, len: usize) -> Result<&'a [T], ErrorCode> {
    match (ptr.is_null(), len) {
        (_, 0) => Ok(&[]),
        (true, _) => Err(ErrorCode::NullArgument),
        // SAFETY: non-NULL with `len` readable values by the caller's contract.
        (false, _) => Ok(unsafe { std::slice::from_raw_parts(ptr, len) }),
    }
}

/// Writes an output parameter.
///
/// # Safety
/// `out` is non-NULL, aligned and writable.
pub(crate) unsafe fn write_out<T>(out: *mut T, value: T) -> Result<(), ErrorCode> {
    if out.is_null() {
        return Err(ErrorCode::NullArgument);
    }
    // SAFETY: non-NULL and writable by the caller's contract.
    unsafe { out.write(value) };
    Ok(())
}

/// Text as a C string. Interior NULs (possible only in messages that quote a
/// caller's input) become U+FFFD, so the text is never cut short or lost.
pub(crate) fn c_string(text: String) -> CString {
    CString::new(text).unwrap_or_else(|error| {
        let cleaned = String::from_utf8_lossy(&error.into_vec()).replace('\0', "\u{FFFD}");
        CString::new(cleaned).unwrap_or_default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(body: impl FnOnce() -> Result<(), ErrorCode>) -> ErrorCode {
        guard(body)
    }

    fn checked(first: *const c_char, second: *const u8) -> ErrorCode {
        boundary!(non_null(first, second) { Ok(()) })
    }

    /// As an exported function: an unwind out of `extern "C"` would abort
    /// the test process, so returning at all shows the panic was caught inside.
    extern "C" fn exported_panicking(argument: *const c_char) -> ErrorCode {
        boundary!(non_null(argument) {
            panic!("a bug behind the boundary")
        })
    }

    #[test]
    fn a_null_listed_pointer_is_reported_before_the_body_runs() {
        let text = c"x";
        let byte = 0u8;
        assert_eq!(checked(std::ptr::null(), &byte), ErrorCode::NullArgument);
        assert_eq!(
            checked(text.as_ptr(), std::ptr::null()),
            ErrorCode::NullArgument
        );
        assert_eq!(checked(text.as_ptr(), &byte), ErrorCode::Ok);
    }

    #[test]
    fn a_panic_becomes_the_panic_status_or_null() {
        assert_eq!(status(|| panic!("a bug")), ErrorCode::Panic);
        let pointer: *const c_char = guard(|| panic!("a bug"));
        assert!(pointer.is_null());
        guard::<()>(|| panic!("a bug"));
        assert_eq!(exported_panicking(c"x".as_ptr()), ErrorCode::Panic);
        assert_eq!(
            exported_panicking(std::ptr::null()),
            ErrorCode::NullArgument
        );
    }

    #[test]
    fn a_body_error_is_returned_as_its_code() {
        assert_eq!(
            status(|| Err(ErrorCode::UnknownHousehold)),
            ErrorCode::UnknownHousehold
        );
        assert_eq!(status(|| Ok(())), ErrorCode::Ok);
    }

    #[test]
    fn string_arguments_must_be_utf8() {
        let bad = c"\xff\xfe";
        assert_eq!(
            unsafe { str_arg(bad.as_ptr()) },
            Err(ErrorCode::InvalidUtf8)
        );
        assert_eq!(unsafe { str_arg(c"村".as_ptr()) }, Ok("村"));
        assert_eq!(
            unsafe { str_arg(std::ptr::null()) },
            Err(ErrorCode::NullArgument)
        );
    }

    #[test]
    fn byte_arguments_may_be_null_only_when_empty() {
        assert_eq!(unsafe { bytes_arg(std::ptr::null(), 0) }, Ok(&[][..]));
        assert_eq!(
            unsafe { bytes_arg(std::ptr::null(), 3) },
            Err(ErrorCode::NullArgument)
        );
        assert_eq!(unsafe { bytes_arg(b"abc".as_ptr(), 2) }, Ok(&b"ab"[..]));
    }

    #[test]
    fn interior_nuls_do_not_lose_the_text() {
        assert_eq!(c_string("a\0b".into()).to_str(), Ok("a\u{FFFD}b"));
        assert_eq!(c_string("plain".into()).to_str(), Ok("plain"));
    }
}
