//! State snapshots: the whole [`State`] as serde JSON at a record boundary,
//! so opening a long journal replays only the records after it.
//!
//! A snapshot is only ever a shortcut. It is used when everything about it
//! checks out (same build, intact bytes, the same shape of state as this build
//! writes, the same chain); otherwise it is ignored and the state is rebuilt
//! from the journal, which stays the one source of truth.
//!
//! Unlike records, a snapshot is not in the hash chain, so its digest is keyed
//! (HMAC-SHA-256 under a key derived from the host's secret pepper): someone
//! who can edit the file but does not hold the pepper cannot plant a snapshot
//! with other balances that the engine would trust.

use sha2::{Digest, Sha256};

use super::Checkpoint;
use crate::state::State;

/// What a snapshot must have been written by to be used: the snapshot format
/// and the crate version, so an upgrade never trusts state folded by older
/// rules and rebuilds it once from the journal instead.
pub const SNAPSHOT_VERSION: &str = concat!("jifen ", env!("CARGO_PKG_VERSION"), " snapshot 1");

/// The state after a record, serialized.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Snapshot {
    /// The last record folded into the state.
    pub seq: u64,
    /// That record's hash: the snapshot belongs to this chain only.
    pub hash: String,
    /// [`SNAPSHOT_VERSION`] of the build that wrote it.
    pub version: String,
    /// HMAC-SHA-256 of `state` under the snapshot key (hex), to tell a
    /// damaged or forged snapshot.
    pub digest: String,
    /// The state as compact JSON.
    pub state: Vec<u8>,
}

impl Snapshot {
    /// Captures `state`, sealed under `key` (see [`snapshot_key`]). Fails only
    /// if some part of the state cannot be written as JSON, in which case no
    /// snapshot is kept.
    pub fn capture(state: &State, key: &[u8; 32]) -> Result<Snapshot, serde_json::Error> {
        let bytes = serde_json::to_vec(state)?;
        Ok(Snapshot {
            seq: state.head.seq,
            hash: state.head.hash.clone(),
            version: SNAPSHOT_VERSION.to_owned(),
            digest: hex::encode(hmac_sha256(key, &bytes)),
            state: bytes,
        })
    }

    /// The state, when the snapshot can be trusted; why not otherwise.
    ///
    /// Besides the version and digest, the decoded state must serialize back
    /// to exactly the stored bytes: a field added to or removed from the state
    /// anywhere (even one with a serde default) changes the bytes, so a
    /// snapshot of another shape is rebuilt rather than silently defaulted.
    pub fn restore(&self, key: &[u8; 32]) -> Result<State, String> {
        if self.version != SNAPSHOT_VERSION {
            return Err(format!("written by {:?}", self.version));
        }
        if hex::encode(hmac_sha256(key, &self.state)) != self.digest {
            return Err("its bytes do not match their digest".into());
        }
        let state: State = serde_json::from_slice(&self.state).map_err(|e| e.to_string())?;
        let again = serde_json::to_vec(&state).map_err(|e| e.to_string())?;
        if again != self.state {
            return Err("the state has another shape in this build".into());
        }
        let head = Checkpoint {
            seq: self.seq,
            hash: self.hash.clone(),
        };
        if state.head != head {
            return Err("its state is not at its own head".into());
        }
        Ok(state)
    }
}

/// The key snapshots are sealed with, derived from the host's pepper (kept
/// apart from the PIN use of the same secret by a label).
pub fn snapshot_key(pepper: &[u8]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(b"jifen snapshot key\0");
    hasher.update(pepper);
    hasher.finalize().into()
}

/// HMAC-SHA-256 (RFC 2104) with a 32-byte key.
fn hmac_sha256(key: &[u8; 32], message: &[u8]) -> [u8; 32] {
    const BLOCK: usize = 64;
    let mut inner_pad = [0x36u8; BLOCK];
    let mut outer_pad = [0x5cu8; BLOCK];
    for (i, byte) in key.iter().enumerate() {
        inner_pad[i] ^= byte;
        outer_pad[i] ^= byte;
    }
    let inner = Sha256::new()
        .chain_update(inner_pad)
        .chain_update(message)
        .finalize();
    Sha256::new()
        .chain_update(outer_pad)
        .chain_update(inner)
        .finalize()
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_rfc_4231() {
        // Test case 1: a 20-byte key of 0x0b, padded with zeros to the block,
        // is the same HMAC key as the 32-byte key zero-extended.
        let mut key = [0u8; 32];
        key[..20].fill(0x0b);
        assert_eq!(
            hex::encode(hmac_sha256(&key, b"Hi There")),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
        );
    }

    fn state_at(seq: u64) -> State {
        State {
            head: Checkpoint {
                seq,
                hash: "ab".repeat(32),
            },
            ..State::default()
        }
    }

    #[test]
    fn a_snapshot_restores_under_its_key_only() {
        let key = snapshot_key(b"pepper");
        let snapshot = Snapshot::capture(&state_at(7), &key).expect("captures");
        let restored = snapshot.restore(&key).expect("restores");
        assert_eq!(restored.head, state_at(7).head);
        assert!(snapshot.restore(&snapshot_key(b"another pepper")).is_err());
    }

    #[test]
    fn a_snapshot_with_any_change_is_refused() {
        let key = snapshot_key(b"pepper");
        let snapshot = Snapshot::capture(&state_at(7), &key).expect("captures");
        let mut flipped = snapshot.clone();
        flipped.state[3] ^= 1;
        assert!(flipped.restore(&key).is_err());
        let mut elsewhere = snapshot.clone();
        elsewhere.seq = 8;
        assert!(elsewhere.restore(&key).is_err());
        let mut older = snapshot.clone();
        older.version = "jifen 0.0.1 snapshot 1".into();
        assert!(older.restore(&key).is_err());
        // Another shape: the same state with a field this build does not
        // write, re-sealed so that only the shape check can refuse it.
        let mut value: serde_json::Value = serde_json::from_slice(&snapshot.state).expect("JSON");
        value["added_later"] = serde_json::json!({});
        let mut reshaped = snapshot.clone();
        reshaped.state = serde_json::to_vec(&value).expect("JSON");
        reshaped.digest = hex::encode(hmac_sha256(&key, &reshaped.state));
        assert!(reshaped.restore(&key).is_err());
    }
}
