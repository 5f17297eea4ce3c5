//! The append-only journal: every accepted command is one record holding its
//! events, sealed into a SHA-256 hash chain so any change to the past shows.
//!
//! The [`Journal`] trait is the storage seam: [`MemoryJournal`] here, the
//! durable [`SqliteJournal`] beside it. A journal may also keep state
//! [`Snapshot`]s so that opening replays only the records after the last one.

mod error;
mod snapshot;
#[cfg(feature = "sqlite")]
mod sqlite;

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub use error::JournalError;
pub use snapshot::{snapshot_key, Snapshot, SNAPSHOT_VERSION};
#[cfg(feature = "sqlite")]
pub use sqlite::{SqliteJournal, SCHEMA_VERSION};

use crate::event::Event;
use crate::primitives::ActorId;

/// The hash before the first record.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What a record commits to, in canonical form (the fields in this order,
/// serialized as compact JSON).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RecordBody {
    /// Position in the journal, from 1.
    pub seq: u64,
    /// When the command was accepted.
    pub at: DateTime<Utc>,
    /// Who issued it.
    pub actor: ActorId,
    /// Why, as the actor gave it.
    pub reason: Option<String>,
    /// The client's idempotency key, if any.
    pub key: Option<String>,
    /// Fingerprint of the request the key was used for.
    pub fingerprint: Option<String>,
    /// The events the command produced.
    pub events: Vec<Event>,
    /// The command's result as returned to the caller.
    pub result: serde_json::Value,
}

/// A sealed record.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// The content.
    #[serde(flatten)]
    pub body: RecordBody,
    /// The previous record's hash (hex).
    pub prev_hash: String,
    /// SHA-256 over the previous hash and this record's canonical bytes (hex).
    pub hash: String,
}

impl RecordBody {
    /// The canonical bytes the hash covers.
    pub fn canonical_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("records serialize: every field is plain data")
    }

    /// Seals the body after `prev_hash`.
    pub fn seal(self, prev_hash: &str) -> Record {
        let hash = chain_hash(prev_hash, &self.canonical_bytes());
        Record {
            body: self,
            prev_hash: prev_hash.to_owned(),
            hash,
        }
    }
}

/// SHA-256 of the previous hash's text and a record's canonical bytes, as hex.
pub fn chain_hash(prev_hash: &str, canonical: &[u8]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(prev_hash.as_bytes());
    hasher.update(canonical);
    hex::encode(hasher.finalize())
}

impl Record {
    /// Whether the record's hash matches its content and follows `prev_hash`.
    pub fn verifies_after(&self, prev_hash: &str) -> bool {
        self.prev_hash == prev_hash
            && self.hash == chain_hash(prev_hash, &self.body.canonical_bytes())
    }

    /// The record's stored form over its canonical bytes.
    pub fn stored<'a>(&'a self, canonical: &'a [u8]) -> StoredRecord<'a> {
        StoredRecord {
            seq: self.body.seq,
            prev_hash: &self.prev_hash,
            hash: &self.hash,
            canonical,
        }
    }
}

/// A point in a journal's history that a county server can keep and later
/// check the journal against.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// The last record's sequence number.
    pub seq: u64,
    /// Its hash.
    pub hash: String,
}

/// A record as stored: the bytes its hash covers, not decoded. Verification
/// reads records in this form, so checking a chain costs hashing, not parsing.
#[derive(Clone, Copy, Debug)]
pub struct StoredRecord<'a> {
    /// Position in the journal.
    pub seq: u64,
    /// The previous record's hash as stored (hex).
    pub prev_hash: &'a str,
    /// This record's hash as stored (hex).
    pub hash: &'a str,
    /// The canonical bytes of its [`RecordBody`].
    pub canonical: &'a [u8],
}

/// Checks a hash chain one record at a time, holding only the head, so a
/// journal of any length is verified in constant memory.
#[derive(Clone, Debug)]
pub struct ChainWalk {
    seq: u64,
    hash: [u8; 64],
    expect: Option<Checkpoint>,
}

impl ChainWalk {
    /// A walk from the genesis hash.
    pub fn new() -> ChainWalk {
        let mut hash = [0u8; 64];
        hash.copy_from_slice(GENESIS_HASH.as_bytes());
        ChainWalk {
            seq: 0,
            hash,
            expect: None,
        }
    }

    /// A walk that must pass through `checkpoint`: the record at its sequence
    /// number must have its hash.
    pub fn through(checkpoint: &Checkpoint) -> ChainWalk {
        ChainWalk {
            expect: Some(checkpoint.clone()),
            ..ChainWalk::new()
        }
    }

    /// Checks the next record: its position, its link to the head, and its
    /// hash over the stored bytes. Fails with the record's sequence number.
    pub fn step(&mut self, record: StoredRecord<'_>) -> Result<(), JournalError> {
        let seq = self.seq + 1;
        if record.seq != seq || record.prev_hash.as_bytes() != self.hash {
            return Err(JournalError::TamperDetected { seq });
        }
        let mut hasher = Sha256::new();
        hasher.update(self.hash);
        hasher.update(record.canonical);
        let mut hash = [0u8; 64];
        hex::encode_to_slice(hasher.finalize(), &mut hash)
            .expect("a SHA-256 digest is 32 bytes, 64 hex digits");
        if record.hash.as_bytes() != hash {
            return Err(JournalError::TamperDetected { seq });
        }
        if let Some(expect) = &self.expect {
            if expect.seq == seq && expect.hash.as_bytes() != hash {
                return Err(JournalError::CheckpointMismatch { seq });
            }
        }
        self.seq = seq;
        self.hash = hash;
        Ok(())
    }

    /// The last record checked (the genesis before any).
    pub fn head(&self) -> Checkpoint {
        Checkpoint {
            seq: self.seq,
            hash: String::from_utf8_lossy(&self.hash).into_owned(),
        }
    }

    /// Ends the walk: the head, provided the walk reached the checkpoint it
    /// had to pass through.
    pub fn finish(self) -> Result<Checkpoint, JournalError> {
        if let Some(expect) = &self.expect {
            let passed = if expect.seq == 0 {
                expect.hash == GENESIS_HASH
            } else {
                self.seq >= expect.seq
            };
            if !passed {
                return Err(JournalError::CheckpointMismatch { seq: expect.seq });
            }
        }
        Ok(self.head())
    }
}

impl Default for ChainWalk {
    fn default() -> ChainWalk {
        ChainWalk::new()
    }
}

/// Walks a sequence of records, checking each one's seal and link; names the
/// first bad sequence number.
pub fn verify_chain(records: impl IntoIterator<Item = Record>) -> Result<Checkpoint, JournalError> {
    let mut walk = ChainWalk::new();
    for record in records {
        walk.step(record.stored(&record.body.canonical_bytes()))?;
    }
    walk.finish()
}

/// Storage for records. Appending is atomic: a record is stored whole or not at all.
pub trait Journal: Send {
    /// Stores one sealed record after the current head.
    fn append(&mut self, record: &Record) -> Result<(), JournalError>;

    /// Calls `visit` with every record from `from_seq` on, in order.
    fn replay(
        &self,
        from_seq: u64,
        visit: &mut dyn FnMut(Record) -> Result<(), JournalError>,
    ) -> Result<(), JournalError>;

    /// The record at `seq`, if stored.
    fn record(&self, seq: u64) -> Result<Option<Record>, JournalError>;

    /// The sequence number of the record that carries idempotency key `key`.
    fn key_seq(&self, key: &str) -> Result<Option<u64>, JournalError>;

    /// Calls `visit` with up to `limit` records from `from_seq` on, in order,
    /// in their stored form (for verification without decoding).
    fn scan(
        &self,
        from_seq: u64,
        limit: usize,
        visit: &mut dyn FnMut(StoredRecord<'_>) -> Result<(), JournalError>,
    ) -> Result<(), JournalError>;

    /// Whether the store keeps snapshots; when it does not, none are taken.
    fn keeps_snapshots(&self) -> bool {
        false
    }

    /// The latest snapshot kept, if any. The engine checks it before use.
    fn load_snapshot(&self) -> Result<Option<Snapshot>, JournalError> {
        Ok(None)
    }

    /// Keeps `snapshot` in place of any earlier one.
    fn save_snapshot(&mut self, _snapshot: &Snapshot) -> Result<(), JournalError> {
        Ok(())
    }
}

/// A journal held in memory: for tests, simulations and short-lived analysis.
#[derive(Debug, Default)]
pub struct MemoryJournal {
    records: Vec<Record>,
    keys: HashMap<String, u64>,
}

impl MemoryJournal {
    /// An empty journal.
    pub fn new() -> MemoryJournal {
        MemoryJournal::default()
    }
}

impl Journal for MemoryJournal {
    fn append(&mut self, record: &Record) -> Result<(), JournalError> {
        if let Some(key) = &record.body.key {
            self.keys.insert(key.clone(), record.body.seq);
        }
        self.records.push(record.clone());
        Ok(())
    }

    fn replay(
        &self,
        from_seq: u64,
        visit: &mut dyn FnMut(Record) -> Result<(), JournalError>,
    ) -> Result<(), JournalError> {
        let start = from_seq.saturating_sub(1) as usize;
        for record in self.records.iter().skip(start) {
            visit(record.clone())?;
        }
        Ok(())
    }

    fn record(&self, seq: u64) -> Result<Option<Record>, JournalError> {
        Ok(seq
            .checked_sub(1)
            .and_then(|i| self.records.get(i as usize))
            .cloned())
    }

    fn key_seq(&self, key: &str) -> Result<Option<u64>, JournalError> {
        Ok(self.keys.get(key).copied())
    }

    fn scan(
        &self,
        from_seq: u64,
        limit: usize,
        visit: &mut dyn FnMut(StoredRecord<'_>) -> Result<(), JournalError>,
    ) -> Result<(), JournalError> {
        let start = from_seq.saturating_sub(1) as usize;
        for record in self.records.iter().skip(start).take(limit) {
            visit(record.stored(&record.body.canonical_bytes()))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::Actor;

    /// A short chain of realistic records, sealed one after another.
    fn chain(len: u64) -> Vec<(Record, Vec<u8>)> {
        let mut prev = GENESIS_HASH.to_owned();
        (1..=len)
            .map(|seq| {
                let actor: Actor = serde_json::from_value(serde_json::json!({
                    "id": format!("a{seq}"), "roles": ["scorer"]}))
                .expect("an actor");
                let record = RecordBody {
                    seq,
                    at: DateTime::from_timestamp(1_750_000_000 + seq as i64, 0).expect("a time"),
                    actor: ActorId("admin".into()),
                    reason: Some("原因".into()),
                    key: Some(format!("k{seq}")),
                    fingerprint: Some("ab".repeat(32)),
                    events: vec![Event::ActorRegistered { actor }],
                    result: serde_json::json!({"n": seq}),
                }
                .seal(&prev);
                prev = record.hash.clone();
                let bytes = record.body.canonical_bytes();
                (record, bytes)
            })
            .collect()
    }

    fn walk<'a>(
        records: impl IntoIterator<Item = StoredRecord<'a>>,
    ) -> Result<Checkpoint, JournalError> {
        let mut walk = ChainWalk::new();
        for record in records {
            walk.step(record)?;
        }
        walk.finish()
    }

    #[test]
    fn every_single_byte_flip_of_every_record_is_named() {
        let records = chain(4);
        let head = walk(records.iter().map(|(r, b)| r.stored(b))).expect("intact");
        assert_eq!(head.seq, 4);
        for (target, (record, bytes)) in records.iter().enumerate() {
            for index in 0..bytes.len() {
                for bit in [0x01, 0x80] {
                    let mut flipped = bytes.clone();
                    flipped[index] ^= bit;
                    let stored = records.iter().enumerate().map(|(i, (r, b))| {
                        if i == target {
                            r.stored(&flipped)
                        } else {
                            r.stored(b)
                        }
                    });
                    assert_eq!(
                        walk(stored),
                        Err(JournalError::TamperDetected {
                            seq: record.body.seq
                        }),
                        "byte {index} of record {}",
                        record.body.seq
                    );
                }
            }
        }
    }

    #[test]
    fn a_missing_or_moved_record_is_named() {
        let records = chain(5);
        let stored: Vec<StoredRecord<'_>> = records.iter().map(|(r, b)| r.stored(b)).collect();
        let mut missing = stored.clone();
        missing.remove(2);
        assert_eq!(walk(missing), Err(JournalError::TamperDetected { seq: 3 }));
        let mut swapped = stored.clone();
        swapped.swap(1, 2);
        assert_eq!(walk(swapped), Err(JournalError::TamperDetected { seq: 2 }));
        // Swapped and renumbered, as a store might hand them back.
        let mut renumbered = stored.clone();
        renumbered.swap(1, 2);
        renumbered[1].seq = 2;
        renumbered[2].seq = 3;
        assert_eq!(
            walk(renumbered),
            Err(JournalError::TamperDetected { seq: 2 })
        );
    }

    #[test]
    fn a_walk_through_a_checkpoint_needs_the_record_at_it() {
        let records = chain(5);
        let stored = || records.iter().map(|(r, b)| r.stored(b));
        let at_three = Checkpoint {
            seq: 3,
            hash: records[2].0.hash.clone(),
        };
        let mut walk = ChainWalk::through(&at_three);
        stored().try_for_each(|r| walk.step(r)).expect("passes");
        assert_eq!(walk.finish().map(|h| h.seq), Ok(5));

        let mut short = ChainWalk::through(&at_three);
        stored()
            .take(2)
            .try_for_each(|r| short.step(r))
            .expect("intact so far");
        assert_eq!(
            short.finish(),
            Err(JournalError::CheckpointMismatch { seq: 3 })
        );

        let elsewhere = Checkpoint {
            seq: 3,
            hash: records[3].0.hash.clone(),
        };
        let mut other = ChainWalk::through(&elsewhere);
        assert_eq!(
            stored().try_for_each(|r| other.step(r)),
            Err(JournalError::CheckpointMismatch { seq: 3 })
        );
        assert_eq!(
            verify_chain(records.iter().map(|(r, _)| r.clone())).map(|h| h.seq),
            Ok(5)
        );
    }
}
