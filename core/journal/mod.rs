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
mod verify;

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub use error::JournalError;
pub use snapshot::{snapshot_key, Snapshot, SNAPSHOT_VERSION};
#[cfg(feature = "sqlite")]
pub use sqlite::{SqliteJournal, SCHEMA_VERSION};
pub use verify::{sealed, verify_chain, walk_chunks, ChainWalk, ScanChunk, StoredRecord};

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
    /// The default reads every record; a store should keep an index.
    fn key_seq(&self, key: &str) -> Result<Option<u64>, JournalError> {
        let mut found = None;
        self.replay(1, &mut |record| {
            if found.is_none() && record.body.key.as_deref() == Some(key) {
                found = Some(record.body.seq);
            }
            Ok(())
        })?;
        Ok(found)
    }

    /// Calls `visit` with up to `limit` records from `from_seq` on, in order,
    /// in their stored form (for verification without decoding). The default
    /// re-serializes replayed records; a store should hand out its bytes.
    fn scan(
        &self,
        from_seq: u64,
        limit: usize,
        visit: &mut dyn FnMut(StoredRecord<'_>) -> Result<(), JournalError>,
    ) -> Result<(), JournalError> {
        let mut left = limit;
        self.replay(from_seq, &mut |record| {
            if left == 0 {
                return Ok(());
            }
            left -= 1;
            visit(record.stored(&record.body.canonical_bytes()))
        })
    }

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

    /// A store that implements only what the trait requires.
    struct Plain(Vec<Record>);

    impl Journal for Plain {
        fn append(&mut self, record: &Record) -> Result<(), JournalError> {
            self.0.push(record.clone());
            Ok(())
        }

        fn replay(
            &self,
            from_seq: u64,
            visit: &mut dyn FnMut(Record) -> Result<(), JournalError>,
        ) -> Result<(), JournalError> {
            let skip = from_seq.saturating_sub(1) as usize;
            self.0.iter().skip(skip).try_for_each(|r| visit(r.clone()))
        }

        fn record(&self, seq: u64) -> Result<Option<Record>, JournalError> {
            Ok(self.0.iter().find(|r| r.body.seq == seq).cloned())
        }
    }

    fn record(seq: u64, prev: &str, key: Option<&str>) -> Record {
        let actor: Actor = serde_json::from_value(serde_json::json!({
            "id": format!("a{seq}"), "roles": ["scorer"]}))
        .expect("an actor");
        RecordBody {
            seq,
            at: DateTime::from_timestamp(1_750_000_000, 0).expect("a time"),
            actor: ActorId("admin".into()),
            reason: None,
            key: key.map(str::to_owned),
            fingerprint: key.map(|_| "ab".repeat(32)),
            events: vec![Event::ActorRegistered { actor }],
            result: serde_json::Value::Null,
        }
        .seal(prev)
    }

    #[test]
    fn the_default_key_lookup_and_scan_match_the_memory_journal() {
        let mut plain = Plain(Vec::new());
        let mut memory = MemoryJournal::new();
        let mut prev = GENESIS_HASH.to_owned();
        for seq in 1..=6 {
            let key = format!("k{seq}");
            let r = record(seq, &prev, (seq % 2 == 0).then_some(key.as_str()));
            prev = r.hash.clone();
            plain.append(&r).expect("stored");
            memory.append(&r).expect("stored");
        }
        for key in ["k2", "k4", "k3", "k9"] {
            assert_eq!(plain.key_seq(key), memory.key_seq(key), "{key}");
        }
        assert_eq!(plain.key_seq("k4"), Ok(Some(4)));
        let scanned = |journal: &dyn Journal, from, limit| {
            let mut seen = Vec::new();
            journal
                .scan(from, limit, &mut |r| {
                    seen.push((r.seq, r.hash.to_owned(), r.canonical.to_vec()));
                    Ok(())
                })
                .expect("scans");
            seen
        };
        assert_eq!(scanned(&plain, 2, 3), scanned(&memory, 2, 3));
        assert_eq!(
            scanned(&plain, 2, 3)
                .iter()
                .map(|r| r.0)
                .collect::<Vec<_>>(),
            [2, 3, 4]
        );
        assert_eq!(scanned(&plain, 5, 10).len(), 2);
    }
}
