//! Reimbursement statements from C: fetch a store's statement of a month (a
//! JSON string: its lines and payments vary in number) and record its payment
//! (typed). Each builds the query or command the JSON door accepts; the rules
//! live in `jifen::settlement::statement`.
#![allow(non_camel_case_types)]

use std::ffi::c_char;

use chrono::NaiveDate;
use jifen_core::command::{Command, Query, Request};
use jifen_core::primitives::{Month, Yuan};
use jifen_core::settlement::statement::StatementId;
use jifen_core::store::StoreId;
use jifen_core::{Error, ErrorCode};

use crate::boundary::{boundary, c_string, write_out};
use crate::engine::jf_engine;
use crate::kiosk::{call_arg, jf_call, reason_arg};

/// A recorded payment.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct jf_payment {
    /// The amount paid (the statement's amount), in fen.
    pub amount_fen: i64,
}

/// The statement id of `store` and `month` (`YYYY-MM`).
///
/// # Safety
/// Both are NUL-terminated strings.
unsafe fn statement_arg(
    engine: &jf_engine,
    store: *const c_char,
    month: *const c_char,
) -> Result<StatementId, ErrorCode> {
    // SAFETY: the caller's contract.
    let store = StoreId::from(unsafe { engine.text(store, "store") }?);
    let month = unsafe { engine.text(month, "month") }?
        .parse::<Month>()
        .map_err(|error| engine.fail_with(&Error::from(error)))?;
    Ok(StatementId::of(&store, month))
}

/// Writes `store`'s reimbursement statement of `month` (`YYYY-MM`) as JSON to
/// `*statement_json_out` (free with `jf_string_free`): its status, points,
/// amount, due date, funding split, lines (one per receipt), the store's
/// submission and its differences, sign-offs and payments. JSON because the
/// lines and payments vary in number. Records nothing.
///
/// # Safety
/// `engine` is a live handle; `store` and `month` are NUL-terminated strings;
/// `statement_json_out` is writable.
#[no_mangle]
pub unsafe extern "C" fn jf_statement_get(
    engine: *mut jf_engine,
    store: *const c_char,
    month: *const c_char,
    statement_json_out: *mut *mut c_char,
) -> ErrorCode {
    boundary!(non_null(engine, store, month, statement_json_out) {
        // SAFETY: the caller's contract, for each pointer.
        let engine = unsafe { &*engine };
        let statement = unsafe { statement_arg(engine, store, month) }?;
        let answer = engine
            .engine
            .query(&Query::Statement { statement })
            .map_err(|error| engine.fail_with(&error))?;
        // SAFETY: writable by the caller's contract.
        unsafe { write_out(statement_json_out, c_string(answer.to_string()).into_raw()) }
    })
}

/// Records the payment of `store`'s approved statement of `month`, once: the
/// caller (`call->actor`) must hold the finance role; `reference` is the
/// bank's or treasury's reference and `date` (`YYYY-MM-DD`) the day the money
/// left. On success `*payment_out` holds the amount paid.
///
/// # Safety
/// `engine` is a live handle; `call` points to a `jf_call`; `store`, `month`,
/// `reference` and `date` are NUL-terminated strings; `payment_out` is writable.
#[no_mangle]
pub unsafe extern "C" fn jf_statement_record_payment(
    engine: *mut jf_engine,
    call: *const jf_call,
    store: *const c_char,
    month: *const c_char,
    reference: *const c_char,
    date: *const c_char,
    payment_out: *mut jf_payment,
) -> ErrorCode {
    boundary!(non_null(engine, call, store, month, reference, date, payment_out) {
        // SAFETY: the caller's contract, for each pointer.
        let engine = unsafe { &*engine };
        let reason = unsafe { reason_arg(engine, &*call) }?.map(str::to_owned);
        let call = unsafe { call_arg(engine, &*call) }?;
        let statement = unsafe { statement_arg(engine, store, month) }?;
        let reference = unsafe { engine.text(reference, "reference") }?.to_owned();
        let date_text = unsafe { engine.text(date, "date") }?;
        let date = date_text.parse::<NaiveDate>().map_err(|_| {
            engine.fail(
                ErrorCode::InvalidValue,
                format!("date {date_text:?} is not written as YYYY-MM-DD"),
            )
        })?;
        let outcome = engine
            .engine
            .execute(Request {
                actor: call.actor,
                at: call.at,
                key: call.key,
                reason,
                command: Command::RecordPayment {
                    statement,
                    reference,
                    date,
                },
            })
            .map_err(|error| engine.fail_with(&error))?;
        let amount: Yuan = serde_json::from_value(outcome.result["amount"].clone())
            .map_err(|error| engine.fail_with(&Error::from(error)))?;
        let amount_fen = engine.whole_fen(amount)?;
        // SAFETY: writable by the caller's contract.
        unsafe { write_out(payment_out, jf_payment { amount_fen }) }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::jf_engine_free;
    use crate::testing::{last_error, open, try_execute};
    use std::ffi::{CStr, CString};
    use std::ptr;

    /// 2025-04-07T02:00:00Z in Unix seconds.
    const PAY_DAY: i64 = 1_743_991_200;

    /// The reimbursement_month scenario's engine, up to (not including) its
    /// first accepted payment: the statement S1-2025-03 is approved.
    fn approved() -> *mut jf_engine {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/scenarios/reimbursement_month.json"
        );
        let text = std::fs::read_to_string(path).expect("the scenario is readable");
        let scenario: serde_json::Value = serde_json::from_str(&text).expect("JSON");
        let policy = CString::new(scenario["policy"].as_str().expect("a preset").to_owned())
            .expect("no NUL");
        let engine = open(&policy);
        let steps = scenario["steps"].as_array().expect("steps");
        for step in steps {
            let request = &step["do"];
            if request["command"]["type"] == "record_payment" && step.get("error").is_none() {
                break;
            }
            let request = CString::new(request.to_string()).expect("no NUL");
            // Steps that expect an error fail here too; only their effect matters.
            let _ = try_execute(engine, &request);
        }
        engine
    }

    fn get(
        engine: *mut jf_engine,
        store: &CStr,
        month: &CStr,
    ) -> Result<serde_json::Value, ErrorCode> {
        let mut out = ptr::null_mut();
        let status = unsafe { jf_statement_get(engine, store.as_ptr(), month.as_ptr(), &mut out) };
        if status != ErrorCode::Ok {
            assert!(out.is_null());
            return Err(status);
        }
        let text = unsafe { CStr::from_ptr(out) }
            .to_string_lossy()
            .into_owned();
        unsafe { crate::jf_string_free(out) };
        Ok(serde_json::from_str(&text).expect("JSON"))
    }

    fn finance() -> jf_call {
        jf_call {
            actor: c"fin".as_ptr(),
            at_unix: PAY_DAY,
            idempotency_key: ptr::null(),
            reason: ptr::null(),
        }
    }

    fn pay(
        engine: *mut jf_engine,
        call: &jf_call,
        reference: &CStr,
        date: &CStr,
    ) -> Result<jf_payment, ErrorCode> {
        let mut payment = jf_payment { amount_fen: -1 };
        let status = unsafe {
            jf_statement_record_payment(
                engine,
                call,
                c"S1".as_ptr(),
                c"2025-03".as_ptr(),
                reference.as_ptr(),
                date.as_ptr(),
                &mut payment,
            )
        };
        match status {
            ErrorCode::Ok => Ok(payment),
            code => {
                assert_eq!(payment.amount_fen, -1, "written only on success");
                Err(code)
            }
        }
    }

    #[test]
    fn an_approved_statement_is_paid_once_and_shows_its_payment() {
        let engine = approved();
        let before = get(engine, c"S1", c"2025-03").expect("the statement");
        assert_eq!(before["status"], "approved");
        let amount: Yuan = serde_json::from_value(before["amount"].clone()).expect("an amount");

        let keeper = jf_call {
            actor: c"keeper".as_ptr(),
            ..finance()
        };
        assert_eq!(
            pay(engine, &keeper, c"BANK-1", c"2025-04-07"),
            Err(ErrorCode::MissingRole)
        );
        assert_eq!(
            pay(engine, &finance(), c"BANK-1", c"7 April"),
            Err(ErrorCode::InvalidValue)
        );
        let message = last_error(engine);
        assert!(message.contains("7 April"), "{message}");

        let paid = pay(engine, &finance(), c"BANK-1", c"2025-04-07").expect("paid");
        assert_eq!(Some(paid.amount_fen), amount.whole_fen());
        assert!(paid.amount_fen > 0);
        assert_eq!(
            pay(engine, &finance(), c"BANK-2", c"2025-04-08"),
            Err(ErrorCode::StatementAlreadyPaid)
        );

        let after = get(engine, c"S1", c"2025-03").expect("the statement");
        assert_eq!(after["status"], "paid");
        assert_eq!(after["payments"][0]["reference"], "BANK-1");
        assert_eq!(after["payments"].as_array().map(Vec::len), Some(1));
        unsafe { jf_engine_free(engine) };
    }

    #[test]
    fn a_missing_or_misnamed_statement_is_refused() {
        let engine = approved();
        assert_eq!(
            get(engine, c"S9", c"2025-03"),
            Err(ErrorCode::UnknownStatement)
        );
        assert_eq!(get(engine, c"S1", c"2025-3x"), Err(ErrorCode::BadPeriod));
        let mut out = ptr::null_mut();
        let status =
            unsafe { jf_statement_get(engine, ptr::null(), c"2025-03".as_ptr(), &mut out) };
        assert_eq!(status, ErrorCode::NullArgument);
        let status = unsafe {
            jf_statement_record_payment(
                engine,
                &finance(),
                c"S1".as_ptr(),
                c"2025-03".as_ptr(),
                c"X".as_ptr(),
                c"2025-04-07".as_ptr(),
                ptr::null_mut(),
            )
        };
        assert_eq!(status, ErrorCode::NullArgument);
        unsafe { jf_engine_free(engine) };
    }
}
