//! Checking the hash chain record by record, in constant memory.

use sha2::{Digest, Sha256};

use super::{Checkpoint, JournalError, Record, GENESIS_HASH};

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

    /// The sequence number of the last record checked (0 before any).
    pub fn seq(&self) -> u64 {
        self.seq
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::Actor;
    use crate::event::Event;
    use crate::journal::RecordBody;
    use crate::primitives::ActorId;
    use chrono::DateTime;

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
