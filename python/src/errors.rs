//! The exception hierarchy and the one mapping from the core's error codes to it.
//!
//! Every core error becomes an instance of one family class, a subclass of
//! `JifenError`, carrying the stable `.code` number and `.name`. The mapping is
//! one exhaustive `match` over `jifen::ErrorCode` with no wildcard arm: a code
//! added to the core breaks this build until it is given a family here.

use jifen::ErrorCode;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use pyo3::types::PyType;
use pyo3::{create_exception, PyTypeInfo};

create_exception!(
    jifen._jifen,
    JifenError,
    PyException,
    "Any error jifen reports; `.code` is its stable number, `.name` its snake_case name."
);
create_exception!(
    jifen._jifen,
    InputError,
    JifenError,
    "The request is malformed or holds a value outside what the rule allows (codes 100-102)."
);
create_exception!(
    jifen._jifen,
    AccessError,
    JifenError,
    "The actor is unknown or lacks the role, or an idempotency key was reused (codes 103-106)."
);
create_exception!(
    jifen._jifen,
    PolicyError,
    JifenError,
    "The policy is unknown, invalid or not in force (codes 200s)."
);
create_exception!(
    jifen._jifen,
    HouseholdError,
    JifenError,
    "A household is unknown, duplicated or not in a state that allows the command (codes 300s)."
);
create_exception!(
    jifen._jifen,
    CardError,
    JifenError,
    "A card is unknown, duplicated, inactive, or its PIN is wrong (codes 400s)."
);
create_exception!(
    jifen._jifen,
    AccountError,
    JifenError,
    "Points or use counts do not allow the posting (codes 500s)."
);
create_exception!(
    jifen._jifen,
    JournalError,
    JifenError,
    "The journal failed, is corrupt, locked, or its hash chain is broken (codes 700s)."
);
create_exception!(
    jifen._jifen,
    ScoringError,
    JifenError,
    "The scoring workflow refuses the step (codes 800s)."
);
create_exception!(
    jifen._jifen,
    StoreError,
    JifenError,
    "A store, item, stock or redemption refuses the command (codes 900s)."
);
create_exception!(
    jifen._jifen,
    SettlementError,
    JifenError,
    "Settlement or reimbursement refuses the command (codes 1000s)."
);
create_exception!(
    jifen._jifen,
    BulkError,
    JifenError,
    "A columnar bulk operation refuses its input (codes 1100s)."
);

/// The exception class of an error code's family.
fn family(py: Python<'_>, code: ErrorCode) -> Bound<'_, PyType> {
    use ErrorCode::*;
    match code {
        // Boundary codes belong to the C surface; should one reach Python it
        // is reported as the base class.
        Ok | Panic | NullArgument | InvalidUtf8 | BufferTooSmall | InvalidEnumValue => {
            JifenError::type_object(py)
        }
        MalformedRequest | InvalidValue | BadPeriod => InputError::type_object(py),
        UnknownActor | MissingRole | DuplicateActor | IdempotencyConflict => {
            AccessError::type_object(py)
        }
        UnknownPreset | InvalidPolicy | NoPolicyInForce | UnknownCategory => {
            PolicyError::type_object(py)
        }
        UnknownHousehold
        | DuplicateHousehold
        | NonResidentNeedsApproval
        | HouseholdNotActive
        | InvalidHouseholdTransition
        | CategoryChangeOutOfOrder => HouseholdError::type_object(py),
        UnknownCard
        | DuplicateCard
        | HouseholdHasActiveCard
        | CardNotActive
        | WrongPin
        | CardLocked
        | BadPinFormat
        | NoPinSet
        | InvalidCardTransition => CardError::type_object(py),
        NonPositivePoints
        | InsufficientPoints
        | SelfTransfer
        | UnknownUseCountAccount
        | InsufficientUseCounts => AccountError::type_object(py),
        JournalIo | JournalCorrupt | JournalLocked | TamperDetected | CheckpointMismatch
        | UnsupportedSchema => JournalError::type_object(py),
        UnknownSheet
        | DuplicateSheet
        | InvalidSheetTransition
        | UnknownVillage
        | UnknownIndicator
        | PointsOutOfRange
        | IndicatorLimitReached
        | EntryDateOutOfRange
        | HouseholdNotInVillage
        | UnknownEntry
        | TooFewScorers
        | ReviewerScoredSheet
        | SupervisorIsScorer
        | OutsideJurisdiction
        | RepeatedReviewer
        | TooFewSupervisors
        | AlreadySigned
        | ReasonRequired
        | NoticeNotOver
        | NoticeClosed
        | ObjectionOpen
        | UnknownObjection
        | ObjectionAlreadyResolved
        | SheetAlreadyPosted
        | UnknownDeclaration
        | DuplicateDeclaration
        | DeclarationNotPending
        | PeriodClosed
        | PeriodNotOver
        | WrongPeriodKind
        | YearNotClosed
        | ReportAlreadyFiled
        | SheetPending => ScoringError::type_object(py),
        UnknownStore
        | DuplicateStore
        | NotStoreKeeper
        | StoreClosed
        | RedemptionDayClosed
        | UnknownItem
        | DuplicateItem
        | BannedCategory
        | PriceNotApproved
        | UnknownPriceProposal
        | InvalidPriceTransition
        | PriceProposalPending
        | OutOfStock
        | OnlyExpiredStock
        | UnknownLot
        | InsufficientLotStock
        | LotNotExpired
        | UnknownDonation
        | DuplicateDonation
        | OverAllocated
        | AllocationExhausted
        | UnknownReceipt
        | AlreadyVoided
        | VoidWindowClosed
        | SupervisorRequired
        | UnknownHold
        | HoldExpired
        | HoldClosed
        | PriceDutyConflict => StoreError::type_object(py),
        ColumnLength
        | IndexOutOfRange
        | InvalidEntryKind
        | InvalidRowPoints
        | InvalidEntryDay
        | InvalidFlag
        | RedemptionsExceedBalance
        | HouseholdSplitAcrossPartitions
        | PartitionMismatch
        | UnsupportedVetoPeriod
        | TooManyRows
        | OutOfMemory => BulkError::type_object(py),
        UnknownElder | ElderNotEligible | ElderAlreadyEnrolled | ElderNotEnrolled | BadAmount
        | InsufficientFund => SettlementError::type_object(py),
        UnknownStatement
        | StatementMonthNotOver
        | StatementWrongStage
        | StatementHasDifferences
        | StatementAlreadyPaid
        | StatementDutyConflict => SettlementError::type_object(py),
    }
}

/// Turns a core error into its Python exception, attaching to the
/// interpreter (for errors met while it was released).
pub fn raise(error: jifen::Error) -> PyErr {
    Python::attach(|py| to_py(py, &error))
}

/// The Python exception for a core error: its family's class, with `.code`,
/// `.name` and `.message` set and the message as its argument.
pub fn to_py(py: Python<'_>, error: &jifen::Error) -> PyErr {
    let code = error.code();
    let message = error.to_string();
    let raised = family(py, code)
        .call1((message.as_str(),))
        .and_then(|exception| {
            exception.setattr("code", code.number())?;
            exception.setattr("name", code.name())?;
            exception.setattr("message", message.as_str())?;
            Ok(exception)
        });
    match raised {
        Ok(exception) => PyErr::from_value(exception),
        Err(failure) => failure,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use strum::IntoEnumIterator;

    /// Codes come in blocks of 100 per domain; each maps to its domain's
    /// family (the 100 block holds both input and access codes).
    #[test]
    fn each_code_maps_to_the_family_of_its_block() {
        Python::initialize();
        Python::attach(|py| {
            for code in ErrorCode::iter() {
                let family = family(py, code);
                let name = family.name().map(|n| n.to_string()).unwrap_or_default();
                let expected: &[&str] = match code.number() {
                    0..=99 => &["JifenError"],
                    100..=199 => &["InputError", "AccessError"],
                    200..=299 => &["PolicyError"],
                    300..=399 => &["HouseholdError"],
                    400..=499 => &["CardError"],
                    500..=599 => &["AccountError"],
                    700..=799 => &["JournalError"],
                    800..=899 => &["ScoringError"],
                    900..=999 => &["StoreError"],
                    1000..=1099 => &["SettlementError"],
                    1100..=1199 => &["BulkError"],
                    other => panic!("code {other} is in no known block"),
                };
                assert!(expected.contains(&name.as_str()), "{code:?} -> {name}");
            }
        });
    }

    #[test]
    fn a_raised_error_carries_code_name_and_message() {
        Python::initialize();
        Python::attach(|py| {
            let error = jifen::Error::from(jifen::household::HouseholdError::Unknown {
                household: "H404".into(),
            });
            let raised = to_py(py, &error);
            assert!(raised.is_instance_of::<HouseholdError>(py));
            assert!(raised.is_instance_of::<JifenError>(py));
            let value = raised.value(py);
            let code: u32 = value.getattr("code").and_then(|c| c.extract()).unwrap();
            let name: String = value.getattr("name").and_then(|n| n.extract()).unwrap();
            assert_eq!((code, name.as_str()), (300, "unknown_household"));
            assert_eq!(value.str().unwrap().to_string(), error.to_string());
        });
    }
}
