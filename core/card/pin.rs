//! PIN hashing: Argon2id with a per-card random salt and the host's pepper.
//! Only the PHC hash string is ever stored; it carries its own cost settings,
//! so raising the cost later keeps old hashes verifiable.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use serde::{Deserialize, Serialize};

use super::CardError;
use crate::error::{Error, InputError};

/// The Argon2id cost. The default (19 MiB, 2 passes) verifies in tens of
/// milliseconds on a kiosk; tests and bulk imports may lower it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PinHashCost {
    /// Memory in KiB.
    pub memory_kib: u32,
    /// Passes over memory.
    pub iterations: u32,
}

impl Default for PinHashCost {
    fn default() -> PinHashCost {
        PinHashCost {
            memory_kib: 19 * 1024,
            iterations: 2,
        }
    }
}

impl PinHashCost {
    /// The cheapest cost Argon2 allows, for tests and bulk imports.
    pub const MINIMAL: PinHashCost = PinHashCost {
        memory_kib: 8,
        iterations: 1,
    };
}

/// Hashes and checks PINs with the engine's pepper.
#[derive(Clone)]
pub struct PinHasher {
    pepper: Vec<u8>,
    cost: PinHashCost,
}

impl std::fmt::Debug for PinHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PinHasher")
            .field("cost", &self.cost)
            .finish_non_exhaustive()
    }
}

impl PinHasher {
    /// A hasher with the host's pepper (a secret kept outside the journal).
    /// Fails when the cost or the pepper is outside what Argon2 accepts, so a
    /// bad setting shows when the engine opens, not at the first PIN.
    pub fn new(pepper: &[u8], cost: PinHashCost) -> Result<PinHasher, Error> {
        let hasher = PinHasher {
            pepper: pepper.to_vec(),
            cost,
        };
        hasher.argon2()?;
        Ok(hasher)
    }

    fn argon2(&self) -> Result<Argon2<'_>, Error> {
        let params =
            Params::new(self.cost.memory_kib, self.cost.iterations, 1, None).map_err(|e| {
                InputError::InvalidValue {
                    field: "pin_hash_cost",
                    detail: e.to_string(),
                }
            })?;
        Argon2::new_with_secret(&self.pepper, Algorithm::Argon2id, Version::V0x13, params).map_err(
            |e| {
                Error::from(InputError::InvalidValue {
                    field: "pepper",
                    detail: e.to_string(),
                })
            },
        )
    }

    /// Checks the PIN's shape and returns its salted hash.
    pub fn hash(&self, pin: &str, digits: u32) -> Result<String, Error> {
        check_format(pin, digits)?;
        let salt = SaltString::generate(&mut OsRng);
        let hash = self
            .argon2()?
            .hash_password(pin.as_bytes(), &salt)
            .map_err(|e| InputError::InvalidValue {
                field: "pin",
                detail: e.to_string(),
            })?;
        Ok(hash.to_string())
    }

    /// Whether `pin` matches the stored hash.
    pub fn verify(&self, pin: &str, stored: &str) -> Result<bool, Error> {
        let parsed = PasswordHash::new(stored).map_err(|e| InputError::InvalidValue {
            field: "pin_hash",
            detail: e.to_string(),
        })?;
        Ok(self
            .argon2()?
            .verify_password(pin.as_bytes(), &parsed)
            .is_ok())
    }
}

/// A PIN is exactly `digits` ASCII digits.
pub fn check_format(pin: &str, digits: u32) -> Result<(), CardError> {
    if pin.len() == digits as usize && pin.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(CardError::BadPinFormat { digits })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_only_its_pin_and_pepper() {
        let hasher = PinHasher::new(b"county-pepper", PinHashCost::MINIMAL).unwrap();
        let hash = hasher.hash("123456", 6).unwrap();
        assert!(!hash.contains("123456"));
        assert!(hasher.verify("123456", &hash).unwrap());
        assert!(!hasher.verify("654321", &hash).unwrap());
        let other_pepper = PinHasher::new(b"another", PinHashCost::MINIMAL).unwrap();
        assert!(PinHasher::new(
            b"x",
            PinHashCost {
                memory_kib: 1,
                iterations: 1
            }
        )
        .is_err());
        assert!(!other_pepper.verify("123456", &hash).unwrap());
        assert_ne!(
            hash,
            hasher.hash("123456", 6).unwrap(),
            "each hash has its own salt"
        );
        assert!(hasher.hash("12345", 6).is_err());
        assert!(hasher.hash("12345a", 6).is_err());
    }
}
