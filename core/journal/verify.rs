//! Checking the hash chain: record by record in constant memory, and for a
//! whole store chunk by chunk, hashing one chunk on another thread while the
//! next is read.

use std::ops::Range;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

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
    /// The canonical bytes of its [`RecordBody`](super::RecordBody).
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
        self.follow(record, sealed(&record))
    }

    /// [`ChainWalk::step`] with the seal already checked by [`sealed`] (on
    /// any thread: it depends on the record alone). A record whose stored
    /// previous hash is the head's and whose seal holds is exactly a record
    /// whose hash covers the head's hash and its bytes.
    pub fn follow(&mut self, record: StoredRecord<'_>, sealed: bool) -> Result<(), JournalError> {
        let seq = self.seq + 1;
        let linked = record.prev_hash.as_bytes() == self.hash && record.hash.len() == 64;
        if record.seq != seq || !linked || !sealed {
            return Err(JournalError::TamperDetected { seq });
        }
        if let Some(expect) = &self.expect {
            if expect.seq == seq && expect.hash != record.hash {
                return Err(JournalError::CheckpointMismatch { seq });
            }
        }
        self.seq = seq;
        self.hash.copy_from_slice(record.hash.as_bytes());
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

/// Whether a stored record's hash is the SHA-256 of its stored previous hash
/// and its bytes. The link to the record before is checked by the walk.
pub fn sealed(record: &StoredRecord<'_>) -> bool {
    let mut hasher = Sha256::new();
    hasher.update(record.prev_hash.as_bytes());
    hasher.update(record.canonical);
    let mut hash = [0u8; 64];
    hex::encode_to_slice(hasher.finalize(), &mut hash)
        .expect("a SHA-256 digest is 32 bytes, 64 hex digits");
    record.hash.as_bytes() == hash
}

/// Reads up to `limit` records from a sequence number on, handing each to
/// the visitor in its stored form ([`super::Journal::scan`], behind a lock).
pub type ScanChunk<'a> = dyn FnMut(
        u64,
        usize,
        &mut dyn FnMut(StoredRecord<'_>) -> Result<(), JournalError>,
    ) -> Result<(), JournalError>
    + 'a;

/// Steps `walk` through every record `scan` yields after its head, `chunk`
/// at a time, in constant memory (two chunks at most).
///
/// Each chunk is copied out of the store; while the next one is read, a
/// helper thread checks the seals of the current one, and the reading thread
/// joins in once it has read. Reading and hashing overlap on an idle machine
/// (about half again as fast on two cores), and a busy one loses little:
/// whatever the helper did not get to, the reader hashes itself.
pub fn walk_chunks(
    walk: &mut ChainWalk,
    chunk: usize,
    scan: &mut ScanChunk<'_>,
) -> Result<(), JournalError> {
    let mut read = |from: u64, into: &mut Chunk| {
        into.clear();
        scan(from, chunk, &mut |record| {
            into.push(record);
            Ok(())
        })
    };
    let mut current = Chunk::default();
    let mut next = Chunk::default();
    read(walk.seq + 1, &mut current)?;
    while let Some(last) = current.last_seq() {
        let seals = Seals::new(current.len());
        let read_next = std::thread::scope(|scope| {
            // Without the helper (a process the system lets start no more
            // threads) the reader checks every seal itself.
            let _helper = std::thread::Builder::new().spawn_scoped(scope, || seals.check(&current));
            let read_next = read(last + 1, &mut next);
            seals.check(&current);
            read_next
        });
        for index in 0..current.len() {
            walk.follow(current.get(index), seals.sealed(index))?;
        }
        read_next?;
        std::mem::swap(&mut current, &mut next);
    }
    Ok(())
}

/// The seals of one chunk, checked block by block by whichever thread
/// claims the next block.
struct Seals {
    claimed: AtomicUsize,
    sealed: Vec<AtomicBool>,
}

impl Seals {
    const BLOCK: usize = 256;

    fn new(len: usize) -> Seals {
        Seals {
            claimed: AtomicUsize::new(0),
            sealed: (0..len).map(|_| AtomicBool::new(false)).collect(),
        }
    }

    /// Checks blocks of `chunk` until none is left unclaimed.
    fn check(&self, chunk: &Chunk) {
        loop {
            let start = self.claimed.fetch_add(Seals::BLOCK, Ordering::Relaxed);
            if start >= self.sealed.len() {
                return;
            }
            let end = (start + Seals::BLOCK).min(self.sealed.len());
            for index in start..end {
                self.sealed[index].store(sealed(&chunk.get(index)), Ordering::Relaxed);
            }
        }
    }

    /// Read after the threads that checked the chunk were joined.
    fn sealed(&self, index: usize) -> bool {
        self.sealed[index].load(Ordering::Relaxed)
    }
}

/// Records copied out of a store: their text and bytes in one buffer.
#[derive(Default)]
struct Chunk {
    data: Vec<u8>,
    records: Vec<Span>,
}

/// Where a copied record's parts are in its chunk's buffer.
struct Span {
    seq: u64,
    prev_hash: Range<usize>,
    hash: Range<usize>,
    canonical: Range<usize>,
}

impl Chunk {
    fn push(&mut self, record: StoredRecord<'_>) {
        let mut put = |bytes: &[u8]| {
            let start = self.data.len();
            self.data.extend_from_slice(bytes);
            start..self.data.len()
        };
        let prev_hash = put(record.prev_hash.as_bytes());
        let hash = put(record.hash.as_bytes());
        let canonical = put(record.canonical);
        self.records.push(Span {
            seq: record.seq,
            prev_hash,
            hash,
            canonical,
        });
    }

    fn get(&self, index: usize) -> StoredRecord<'_> {
        let span = &self.records[index];
        // Both were copied from text, so they are text.
        let text =
            |range: &Range<usize>| std::str::from_utf8(&self.data[range.clone()]).unwrap_or("");
        StoredRecord {
            seq: span.seq,
            prev_hash: text(&span.prev_hash),
            hash: text(&span.hash),
            canonical: &self.data[span.canonical.clone()],
        }
    }

    fn clear(&mut self) {
        self.data.clear();
        self.records.clear();
    }

    fn len(&self) -> usize {
        self.records.len()
    }

    fn last_seq(&self) -> Option<u64> {
        self.records.last().map(|span| span.seq)
    }
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

    /// Walks `records` through [`walk_chunks`] three at a time, as a store
    /// would hand them out.
    fn walk_in_chunks(
        records: &[(u64, Record, Vec<u8>)],
        through: Option<&Checkpoint>,
    ) -> Result<Checkpoint, JournalError> {
        let mut walk = through.map_or_else(ChainWalk::new, ChainWalk::through);
        walk_chunks(&mut walk, 3, &mut |from, limit, visit| {
            records
                .iter()
                .filter(|(seq, ..)| *seq >= from)
                .take(limit)
                .try_for_each(|(seq, record, bytes)| {
                    visit(StoredRecord {
                        seq: *seq,
                        ..record.stored(bytes)
                    })
                })
        })?;
        walk.finish()
    }

    #[test]
    fn a_chunked_walk_names_the_same_record_as_a_step_by_step_one() {
        let records: Vec<(u64, Record, Vec<u8>)> = chain(10)
            .into_iter()
            .map(|(r, b)| (r.body.seq, r, b))
            .collect();
        assert_eq!(walk_in_chunks(&records, None).map(|h| h.seq), Ok(10));
        for target in 0..records.len() {
            let seq = target as u64 + 1;
            let mut flipped = records.clone();
            flipped[target].2[5] ^= 0x10;
            assert_eq!(
                walk_in_chunks(&flipped, None),
                Err(JournalError::TamperDetected { seq }),
                "byte of record {seq}"
            );
            let mut missing = records.clone();
            missing.remove(target);
            let walked = walk_in_chunks(&missing, None);
            if seq == 10 {
                assert_eq!(
                    walked.map(|h| h.seq),
                    Ok(9),
                    "only a checkpoint shows a lost tail"
                );
            } else {
                assert_eq!(walked, Err(JournalError::TamperDetected { seq }));
            }
            let at = Checkpoint {
                seq,
                hash: records[target].1.hash.clone(),
            };
            assert_eq!(walk_in_chunks(&records, Some(&at)).map(|h| h.seq), Ok(10));
            assert_eq!(
                walk_in_chunks(&missing, Some(&at)).map_err(|e| e.code()),
                Err(if seq == 10 {
                    crate::ErrorCode::CheckpointMismatch
                } else {
                    crate::ErrorCode::TamperDetected
                })
            );
        }
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
