//! What the C ABI's unit tests share: an engine opened on the memory
//! journal with the cheapest PIN hashing, requests run through
//! `jf_engine_execute`, and the last error read back.

use std::ffi::{CStr, CString};
use std::os::raw::c_char;
use std::ptr;

use crate::engine::{
    jf_engine, jf_engine_execute, jf_engine_last_error, jf_engine_open_memory, jf_engine_options,
};
use jifen_core::ErrorCode;

/// The host secret the tests open engines with.
pub const PEPPER: &[u8] = b"test-pepper";
/// PIN hashing at its lowest cost: the tests check calls, not the hash.
const MINIMAL: jf_engine_options = jf_engine_options {
    pin_hash_memory_kib: 8,
    pin_hash_iterations: 1,
};

/// Opens a memory engine on `policy`, checking that the output is written
/// only on success.
pub fn try_open(policy: &CStr) -> Result<*mut jf_engine, ErrorCode> {
    let mut engine = ptr::null_mut();
    let status = unsafe {
        jf_engine_open_memory(
            policy.as_ptr(),
            PEPPER.as_ptr(),
            PEPPER.len(),
            &MINIMAL,
            &mut engine,
        )
    };
    match status {
        ErrorCode::Ok => Ok(engine),
        code => {
            assert!(engine.is_null(), "the output is written only on success");
            Err(code)
        }
    }
}

/// Opens a memory engine on `policy`, which must open.
pub fn open(policy: &CStr) -> *mut jf_engine {
    try_open(policy).expect("the engine opens")
}

/// Runs one request, checking that the output is written only on success.
pub fn try_execute(engine: *mut jf_engine, request: &CStr) -> Result<String, ErrorCode> {
    let mut out = ptr::null_mut();
    let status = unsafe { jf_engine_execute(engine, request.as_ptr(), &mut out) };
    if status != ErrorCode::Ok {
        assert!(out.is_null(), "the output is written only on success");
        return Err(status);
    }
    let answer = text(out);
    unsafe { crate::jf_string_free(out) };
    Ok(answer)
}

/// Runs one request, which must succeed, and returns its answer.
pub fn execute(engine: *mut jf_engine, request: &str) -> String {
    let request = CString::new(request).expect("no NUL");
    try_execute(engine, &request).unwrap_or_else(|code| panic!("{request:?}: {code:?}"))
}

/// A string the library returned.
pub fn text(pointer: *const c_char) -> String {
    assert!(!pointer.is_null());
    unsafe { CStr::from_ptr(pointer) }
        .to_string_lossy()
        .into_owned()
}

/// The engine's last error message, checking the length it reports.
pub fn last_error(engine: *const jf_engine) -> String {
    let mut buf = [0 as c_char; 512];
    let mut needed = 0;
    let status = unsafe { jf_engine_last_error(engine, buf.as_mut_ptr(), buf.len(), &mut needed) };
    assert_eq!(status, ErrorCode::Ok);
    let message = unsafe { CStr::from_ptr(buf.as_ptr()) };
    assert_eq!(message.to_bytes_with_nul().len(), needed);
    message.to_string_lossy().into_owned()
}
