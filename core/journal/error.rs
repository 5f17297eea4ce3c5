use thiserror::Error;

use crate::error::ErrorCode;

/// Errors of the journal store.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum JournalError {
    /// The store failed to read or write.
    #[error("journal store failed: {detail}")]
    Io { detail: String },
    /// A record cannot be decoded, or names a figure no command could have.
    #[error("journal record {seq} is corrupt: {detail}")]
    Corrupt { seq: u64, detail: String },
    /// Another engine (in this process or another) or another program holds
    /// the journal file.
    #[error("the journal file is held by another engine or program")]
    Locked,
    /// The hash chain is broken.
    #[error("the journal's hash chain breaks at record {seq}")]
    TamperDetected { seq: u64 },
    /// The journal does not extend a checkpoint.
    #[error("the journal does not extend the checkpoint at record {seq}")]
    CheckpointMismatch { seq: u64 },
    /// Written by a newer schema.
    #[error("the journal has schema version {found}; this build reads up to {supported}")]
    UnsupportedSchema { found: u32, supported: u32 },
}

impl JournalError {
    /// The stable code.
    pub fn code(&self) -> ErrorCode {
        match self {
            JournalError::Io { .. } => ErrorCode::JournalIo,
            JournalError::Corrupt { .. } => ErrorCode::JournalCorrupt,
            JournalError::Locked => ErrorCode::JournalLocked,
            JournalError::TamperDetected { .. } => ErrorCode::TamperDetected,
            JournalError::CheckpointMismatch { .. } => ErrorCode::CheckpointMismatch,
            JournalError::UnsupportedSchema { .. } => ErrorCode::UnsupportedSchema,
        }
    }
}
