//! Status codes at the C boundary. There is one list of codes, the core's
//! [`ErrorCode`]; cbindgen exports it as `jf_status` (see `cbindgen.toml`), and
//! this module only gives C its names as static NUL-terminated strings.

use std::collections::BTreeMap;
use std::ffi::{c_char, CString};
use std::sync::OnceLock;

use jifen_core::ErrorCode;
use strum::IntoEnumIterator;

use crate::boundary::{boundary, c_string};

/// Every code's name as a C string, built once and kept for the process.
fn names() -> &'static BTreeMap<u32, CString> {
    static NAMES: OnceLock<BTreeMap<u32, CString>> = OnceLock::new();
    NAMES.get_or_init(|| {
        ErrorCode::iter()
            .map(|code| (code.number(), c_string(code.name().to_owned())))
            .collect()
    })
}

/// The stable snake_case name of a status (`"unknown_household"` for
/// `JF_STATUS_UNKNOWN_HOUSEHOLD`), or NULL when `status` is no known code.
/// The string is static: never free it.
#[no_mangle]
pub extern "C" fn jf_status_name(status: u32) -> *const c_char {
    boundary!(non_null() {
        names().get(&status).map_or(std::ptr::null(), |name| name.as_ptr())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CStr;

    fn name(status: u32) -> Option<&'static str> {
        let pointer = jf_status_name(status);
        (!pointer.is_null()).then(|| {
            // SAFETY: a non-NULL answer is a static NUL-terminated string.
            unsafe { CStr::from_ptr(pointer) }
                .to_str()
                .unwrap_or("<not utf-8>")
        })
    }

    #[test]
    fn every_code_has_its_core_name_and_others_have_none() {
        for code in ErrorCode::iter() {
            assert_eq!(name(code.number()), Some(code.name()));
        }
        assert_eq!(name(300), Some("unknown_household"));
        assert_eq!(name(99), None);
        assert_eq!(name(u32::MAX), None);
    }
}
