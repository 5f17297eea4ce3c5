//! The engine handle: open it on a policy, execute JSON requests and queries
//! through it, read the message of its last failed call, free it.

use std::ffi::{c_char, CString};
use std::sync::{Mutex, PoisonError};

use jifen_core::card::PinHashCost;
use jifen_core::{Engine, EngineOptions, Error, ErrorCode, Policy, Yuan};

use crate::boundary::{boundary, bytes_arg, c_string, str_arg, write_out};

/// An engine over an in-memory journal. Opaque to C: create it with
/// `jf_engine_open_memory`, release it with `jf_engine_free`.
#[allow(non_camel_case_types)]
pub struct jf_engine {
    pub(crate) engine: Engine,
    /// The message of the latest failed call on this handle ("" before any).
    last_error: Mutex<CString>,
}

impl jf_engine {
    /// Records a failed call's message and returns its code.
    pub(crate) fn fail(&self, code: ErrorCode, message: String) -> ErrorCode {
        // A poisoned slot holds a whole CString either way; replace it.
        *self
            .last_error
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = c_string(message);
        code
    }

    pub(crate) fn fail_with(&self, error: &Error) -> ErrorCode {
        self.fail(error.code(), error.to_string())
    }

    /// An amount in whole fen, as C carries money; recording a message when
    /// it is not a whole number of fen.
    pub(crate) fn whole_fen(&self, amount: Yuan) -> Result<i64, ErrorCode> {
        amount.whole_fen().ok_or_else(|| {
            self.fail(
                ErrorCode::InvalidValue,
                format!("the amount {amount} is not a whole number of fen"),
            )
        })
    }

    /// Borrows a string argument, recording a message naming it when it is not UTF-8.
    ///
    /// # Safety
    /// As [`str_arg`].
    pub(crate) unsafe fn text<'a>(
        &self,
        ptr: *const c_char,
        what: &str,
    ) -> Result<&'a str, ErrorCode> {
        // SAFETY: the caller's contract.
        unsafe { str_arg(ptr) }.map_err(|code| match code {
            ErrorCode::InvalidUtf8 => self.fail(code, format!("the {what} is not valid UTF-8")),
            other => other,
        })
    }
}

/// Settings for `jf_engine_open_memory`. A field left 0 keeps its default.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct jf_engine_options {
    /// Argon2id memory cost of PIN hashes in KiB (0: the default, 19456; at least 8).
    pub pin_hash_memory_kib: u32,
    /// Argon2id passes of PIN hashes (0: the default, 2).
    pub pin_hash_iterations: u32,
}

impl jf_engine_options {
    fn pin_hash_cost(&self) -> PinHashCost {
        let default = PinHashCost::default();
        let or_default = |value: u32, default: u32| if value == 0 { default } else { value };
        PinHashCost {
            memory_kib: or_default(self.pin_hash_memory_kib, default.memory_kib),
            iterations: or_default(self.pin_hash_iterations, default.iterations),
        }
    }
}

/// Opens an engine over a new in-memory journal.
///
/// `policy_json` is a preset name (`baisha-2019`) or a policy JSON object
/// (which may `"extends"` a preset). `pepper` is the host's secret mixed into
/// every PIN hash (`pepper_len` bytes; NULL only when `pepper_len` is 0).
/// `options` may be NULL for the defaults. On success `*engine_out` receives a
/// handle to free with `jf_engine_free`; on failure only the status tells why
/// (there is no handle to hold a message).
///
/// # Safety
/// `policy_json` is a NUL-terminated string; `pepper` points to `pepper_len`
/// readable bytes; `options` is NULL or points to a `jf_engine_options`;
/// `engine_out` is writable.
#[no_mangle]
pub unsafe extern "C" fn jf_engine_open_memory(
    policy_json: *const c_char,
    pepper: *const u8,
    pepper_len: usize,
    options: *const jf_engine_options,
    engine_out: *mut *mut jf_engine,
) -> ErrorCode {
    boundary!(non_null(policy_json, engine_out) {
        // SAFETY: the caller's contract above, for each pointer.
        let policy = unsafe { str_arg(policy_json) }?;
        let pepper = unsafe { bytes_arg(pepper, pepper_len) }?;
        let options = unsafe { options.as_ref() }.copied().unwrap_or_default();
        let policy = Policy::from_json(policy).map_err(|error| error.code())?;
        let options = EngineOptions::new(pepper).with_pin_hash_cost(options.pin_hash_cost());
        let engine = Engine::open_memory(policy, options).map_err(|error| error.code())?;
        // SAFETY: `engine_out` is writable by the caller's contract.
        unsafe { hand_out(engine, engine_out) }
    })
}

/// Opens (or creates) an engine over the SQLite journal at `path`, the
/// embedded durable store: every accepted command is on disk before the call
/// returns. `policy_json` is the policy a new journal starts with (a preset
/// name or a policy object); it may be NULL for an existing journal, which
/// keeps its own. `pepper` and `options` as for `jf_engine_open_memory`; the
/// pepper must be the same every time a journal is opened. Fails with
/// `JF_STATUS_JOURNAL_LOCKED` when another engine holds the file.
///
/// # Safety
/// `path` is a NUL-terminated UTF-8 path; `policy_json` is NULL or a
/// NUL-terminated string; `pepper` points to `pepper_len` readable bytes;
/// `options` is NULL or points to a `jf_engine_options`; `engine_out` is writable.
#[no_mangle]
pub unsafe extern "C" fn jf_engine_open(
    path: *const c_char,
    policy_json: *const c_char,
    pepper: *const u8,
    pepper_len: usize,
    options: *const jf_engine_options,
    engine_out: *mut *mut jf_engine,
) -> ErrorCode {
    boundary!(non_null(path, engine_out) {
        // SAFETY: the caller's contract above, for each pointer.
        let path = unsafe { str_arg(path) }?;
        let policy = if policy_json.is_null() {
            None
        } else {
            // SAFETY: non-NULL, NUL-terminated by the caller's contract.
            let text = unsafe { str_arg(policy_json) }?;
            Some(Policy::from_json(text).map_err(|error| error.code())?)
        };
        // SAFETY: the caller's contract above.
        let pepper = unsafe { bytes_arg(pepper, pepper_len) }?;
        // SAFETY: NULL or a valid `jf_engine_options` by the caller's contract.
        let options = unsafe { options.as_ref() }.copied().unwrap_or_default();
        let options = EngineOptions::new(pepper).with_pin_hash_cost(options.pin_hash_cost());
        let engine = Engine::open(path, policy, options).map_err(|error| error.code())?;
        // SAFETY: `engine_out` is writable by the caller's contract.
        unsafe { hand_out(engine, engine_out) }
    })
}

/// Boxes an engine into a handle and writes it to `engine_out`.
///
/// # Safety
/// `engine_out` is writable.
unsafe fn hand_out(engine: Engine, engine_out: *mut *mut jf_engine) -> Result<(), ErrorCode> {
    let handle = Box::into_raw(Box::new(jf_engine {
        engine,
        last_error: Mutex::new(CString::default()),
    }));
    // SAFETY: `engine_out` is writable by the caller's contract.
    unsafe { write_out(engine_out, handle) }.inspect_err(|_| {
        // SAFETY: just made by Box::into_raw and not handed out.
        drop(unsafe { Box::from_raw(handle) });
    })
}

/// Exports the journal's checkpoint (`{"seq": …, "hash": …}`) for a county
/// server to keep; a later `jf_engine_verify_against` proves the journal only
/// grew from it. Free the string with `jf_string_free`.
///
/// # Safety
/// `engine` is a live handle; `checkpoint_json_out` is writable.
#[no_mangle]
pub unsafe extern "C" fn jf_engine_checkpoint(
    engine: *mut jf_engine,
    checkpoint_json_out: *mut *mut c_char,
) -> ErrorCode {
    boundary!(non_null(engine, checkpoint_json_out) {
        // SAFETY: a live handle; only shared references are ever made to it.
        let engine = unsafe { &*engine };
        let head = engine.engine.checkpoint();
        let json = serde_json::json!({ "seq": head.seq, "hash": head.hash }).to_string();
        // SAFETY: writable by the caller's contract.
        unsafe { write_out(checkpoint_json_out, c_string(json).into_raw()) }
    })
}

/// Verifies the whole chain and that it extends `checkpoint_json` (as
/// exported by `jf_engine_checkpoint`): `JF_STATUS_CHECKPOINT_MISMATCH` when
/// the journal does not contain that record with that hash,
/// `JF_STATUS_TAMPER_DETECTED` when the chain breaks.
///
/// # Safety
/// `engine` is a live handle; `checkpoint_json` is a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn jf_engine_verify_against(
    engine: *mut jf_engine,
    checkpoint_json: *const c_char,
) -> ErrorCode {
    boundary!(non_null(engine, checkpoint_json) {
        // SAFETY: a live handle; only shared references are ever made to it.
        let engine = unsafe { &*engine };
        // SAFETY: NUL-terminated by the caller's contract.
        let text = unsafe { str_arg(checkpoint_json) }?;
        let checkpoint = serde_json::from_str(text)
            .map_err(|error| engine.fail_with(&Error::from(error)))?;
        engine
            .engine
            .verify_against(&checkpoint)
            .map_err(|error| engine.fail_with(&error))?;
        Ok(())
    })
}

/// Executes a JSON request (`{"actor": …, "command": {"type": …}}`) or query
/// (`{"query": {"type": …}}`). On success `*result_json_out` receives the JSON
/// answer, to free with `jf_string_free`. On failure the status is the error's
/// code and its message becomes the handle's last error
/// (`jf_engine_last_error`); `JF_STATUS_NULL_ARGUMENT` and `JF_STATUS_PANIC`
/// leave the last error as it was.
///
/// # Safety
/// `engine` is a live handle from `jf_engine_open_memory`; `request_json` is a
/// NUL-terminated string; `result_json_out` is writable.
#[no_mangle]
pub unsafe extern "C" fn jf_engine_execute(
    engine: *mut jf_engine,
    request_json: *const c_char,
    result_json_out: *mut *mut c_char,
) -> ErrorCode {
    boundary!(non_null(engine, request_json, result_json_out) {
        // SAFETY: a live handle; only shared references are ever made to it.
        let engine = unsafe { &*engine };
        // SAFETY: NUL-terminated by the caller's contract.
        let request = unsafe { str_arg(request_json) }.map_err(|code| {
            engine.fail(code, "the request is not valid UTF-8".into())
        })?;
        let answer = engine
            .engine
            .execute_json(request)
            .map_err(|error| engine.fail_with(&error))?;
        // SAFETY: writable by the caller's contract.
        unsafe { write_out(result_json_out, c_string(answer).into_raw()) }
    })
}

/// Walks the journal's hash chain end to end and, when every record links to
/// the one before, writes its head as JSON (`{"seq": n, "hash": "…"}`) to
/// `*head_json_out` (free with `jf_string_free`). A broken chain returns
/// `JF_STATUS_TAMPER_DETECTED` with the first bad sequence number in the last
/// error.
///
/// # Safety
/// `engine` is a live handle; `head_json_out` is writable.
#[no_mangle]
pub unsafe extern "C" fn jf_engine_verify(
    engine: *mut jf_engine,
    head_json_out: *mut *mut c_char,
) -> ErrorCode {
    boundary!(non_null(engine, head_json_out) {
        // SAFETY: a live handle; only shared references are ever made to it.
        let engine = unsafe { &*engine };
        let head = engine
            .engine
            .verify()
            .map_err(|error| engine.fail_with(&error))?;
        let json = serde_json::json!({ "seq": head.seq, "hash": head.hash }).to_string();
        // SAFETY: writable by the caller's contract.
        unsafe { write_out(head_json_out, c_string(json).into_raw()) }
    })
}

/// Copies the message of the latest failed call on `engine` ("" if none) into
/// `buf` as a NUL-terminated string and writes its size including the NUL to
/// `*needed_out`. When `len` is smaller, nothing is copied, `*needed_out` still
/// receives the size and the status is `JF_STATUS_BUFFER_TOO_SMALL`; pass
/// `buf = NULL, len = 0` to ask for the size alone.
///
/// # Safety
/// `engine` is a live handle; `buf` is NULL or points to `len` writable bytes;
/// `needed_out` is writable.
#[no_mangle]
pub unsafe extern "C" fn jf_engine_last_error(
    engine: *const jf_engine,
    buf: *mut c_char,
    len: usize,
    needed_out: *mut usize,
) -> ErrorCode {
    boundary!(non_null(engine, needed_out) {
        // SAFETY: a live handle.
        let engine = unsafe { &*engine };
        let message = engine
            .last_error
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let bytes = message.as_bytes_with_nul();
        // SAFETY: writable by the caller's contract.
        unsafe { write_out(needed_out, bytes.len()) }?;
        if bytes.len() > len {
            return Err(ErrorCode::BufferTooSmall);
        }
        if buf.is_null() {
            return Err(ErrorCode::NullArgument);
        }
        // SAFETY: `buf` holds `len >= bytes.len()` writable bytes and cannot
        // overlap the handle's own message.
        unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), buf.cast::<u8>(), bytes.len()) };
        Ok(())
    })
}

/// Frees an engine handle. NULL does nothing. The handle must not be in use
/// by another thread, and must not be used after.
///
/// # Safety
/// `engine` is NULL or a live handle from `jf_engine_open_memory`, freed once.
#[no_mangle]
pub unsafe extern "C" fn jf_engine_free(engine: *mut jf_engine) {
    boundary!(non_null(engine) {
        // SAFETY: made by Box::into_raw in jf_engine_open_memory, freed once.
        drop(unsafe { Box::from_raw(engine) });
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CStr;
    use std::ptr;

    use crate::testing::{last_error, try_execute as execute, try_open as open, PEPPER};

    #[test]
    fn null_arguments_are_refused() {
        let mut engine = ptr::null_mut();
        let status = unsafe {
            jf_engine_open_memory(
                ptr::null(),
                PEPPER.as_ptr(),
                PEPPER.len(),
                ptr::null(),
                &mut engine,
            )
        };
        assert_eq!(status, ErrorCode::NullArgument);
        let status = unsafe {
            jf_engine_open_memory(
                c"baisha-2019".as_ptr(),
                ptr::null(),
                4,
                ptr::null(),
                &mut engine,
            )
        };
        assert_eq!(status, ErrorCode::NullArgument);
        assert!(engine.is_null());

        let engine = open(c"baisha-2019").expect("opens");
        let mut out = ptr::null_mut();
        let status = unsafe { jf_engine_execute(engine, ptr::null(), &mut out) };
        assert_eq!(status, ErrorCode::NullArgument);
        let status = unsafe { jf_engine_execute(ptr::null_mut(), c"{}".as_ptr(), &mut out) };
        assert_eq!(status, ErrorCode::NullArgument);
        let status = unsafe { jf_engine_execute(engine, c"{}".as_ptr(), ptr::null_mut()) };
        assert_eq!(status, ErrorCode::NullArgument);
        let mut needed = 0;
        let status = unsafe { jf_engine_last_error(ptr::null(), ptr::null_mut(), 0, &mut needed) };
        assert_eq!(status, ErrorCode::NullArgument);
        assert_eq!(last_error(engine), "", "NULL arguments leave no message");
        unsafe { jf_engine_free(engine) };
        unsafe { jf_engine_free(ptr::null_mut()) };
    }

    #[test]
    fn invalid_utf8_is_refused_with_its_code() {
        assert_eq!(open(c"\xffbaisha"), Err(ErrorCode::InvalidUtf8));
        let engine = open(c"baisha-2019").expect("opens");
        assert_eq!(
            execute(engine, c"{\"query\": \xc3}"),
            Err(ErrorCode::InvalidUtf8)
        );
        assert_eq!(last_error(engine), "the request is not valid UTF-8");
        unsafe { jf_engine_free(engine) };
    }

    #[test]
    fn policy_errors_come_back_as_their_codes() {
        assert_eq!(open(c"no-such-county"), Err(ErrorCode::InvalidPolicy));
        assert_eq!(open(c"\"no-such-county\""), Err(ErrorCode::UnknownPreset));
        let zero_cost = jf_engine_options::default().pin_hash_cost();
        assert_eq!(zero_cost, PinHashCost::default());
    }

    #[test]
    fn a_failed_request_leaves_its_message_until_the_next_failure() {
        let engine = open(c"baisha-2019").expect("opens");
        let query = c"{\"query\": {\"type\": \"balance\", \"household\": \"H404\"}}";
        assert_eq!(execute(engine, query), Err(ErrorCode::UnknownHousehold));
        let message = last_error(engine);
        assert!(message.contains("H404"), "{message}");
        let answer = execute(engine, c"{\"query\": {\"type\": \"verify\"}}").expect("verifies");
        assert!(answer.contains("\"seq\":1"), "{answer}");
        assert_eq!(last_error(engine), message, "success keeps the last error");
        assert_eq!(
            execute(engine, c"not json"),
            Err(ErrorCode::MalformedRequest)
        );
        assert_ne!(last_error(engine), message);
        unsafe { jf_engine_free(engine) };
    }

    #[test]
    fn verify_reports_the_head_every_command_moves() {
        let engine = open(c"baisha-2019").expect("opens");
        let head = |engine| {
            let mut out = ptr::null_mut();
            assert_eq!(unsafe { jf_engine_verify(engine, &mut out) }, ErrorCode::Ok);
            let text = unsafe { CStr::from_ptr(out) }
                .to_string_lossy()
                .into_owned();
            unsafe { crate::jf_string_free(out) };
            serde_json::from_str::<serde_json::Value>(&text).expect("JSON")
        };
        let genesis = head(engine);
        assert_eq!(genesis["seq"], 1);
        execute(
            engine,
            c"{\"actor\": \"a\", \"command\": {\"type\": \"register_actor\", \"actor\": {\"id\": \"a\", \"roles\": [\"administrator\"]}}}",
        )
        .expect("registers");
        let after = head(engine);
        assert_eq!(after["seq"], 2);
        assert_ne!(after["hash"], genesis["hash"]);
        let mut out = ptr::null_mut();
        assert_eq!(
            unsafe { jf_engine_verify(ptr::null_mut(), &mut out) },
            ErrorCode::NullArgument
        );
        assert_eq!(
            unsafe { jf_engine_verify(engine, ptr::null_mut()) },
            ErrorCode::NullArgument
        );
        unsafe { jf_engine_free(engine) };
    }

    #[test]
    fn a_short_buffer_gets_the_needed_size_and_nothing_else() {
        let engine = open(c"baisha-2019").expect("opens");
        assert_eq!(execute(engine, c"[]"), Err(ErrorCode::MalformedRequest));
        let full = last_error(engine);
        let mut needed = 0;
        let status = unsafe { jf_engine_last_error(engine, ptr::null_mut(), 0, &mut needed) };
        assert_eq!(status, ErrorCode::BufferTooSmall);
        assert_eq!(needed, full.len() + 1);
        let mut small = [b'#' as c_char; 4];
        let status =
            unsafe { jf_engine_last_error(engine, small.as_mut_ptr(), small.len(), &mut needed) };
        assert_eq!(status, ErrorCode::BufferTooSmall);
        assert_eq!(small, [b'#' as c_char; 4], "nothing is copied");
        unsafe { jf_engine_free(engine) };
    }
}
