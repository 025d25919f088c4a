//! Encryption at rest with AES-256-GCM.
//!
//! A sealed value is `version (1) ‖ key id (1) ‖ nonce (12) ‖ ciphertext+tag`.
//! Every encryption uses a fresh random 96-bit nonce. Associated data binds
//! a ciphertext to the row it belongs to (e.g. `totp:<account id>`), so a
//! value copied into another row fails to open. The key id lets keys rotate:
//! the current key seals, older keys still open.

use aes_gcm::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};

const VERSION: u8 = 1;
const NONCE_LEN: usize = 12;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CryptoError {
    #[error("the sealed value is malformed")]
    Malformed,
    #[error("no key with id {0}")]
    UnknownKey(u8),
    #[error("the value does not open with this key and context (tampered, or copied from another row)")]
    Open,
}

/// The data keys: one current key that seals, and older ones that still open.
#[derive(Clone)]
pub struct DataKeys {
    current: (u8, Aes256Gcm),
    older: Vec<(u8, Aes256Gcm)>,
}

impl std::fmt::Debug for DataKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DataKeys(current id {}, {} older)", self.current.0, self.older.len())
    }
}

impl DataKeys {
    /// `current` seals with id `current_id`; `older` are (id, key) pairs kept for reading.
    pub fn new(current_id: u8, current: &[u8; 32], older: &[(u8, [u8; 32])]) -> Self {
        let cipher = |key: &[u8; 32]| Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(key));
        Self {
            current: (current_id, cipher(current)),
            older: older.iter().map(|(id, key)| (*id, cipher(key))).collect(),
        }
    }

    pub fn current_id(&self) -> u8 {
        self.current.0
    }

    /// Encrypts `plaintext` bound to `context`.
    pub fn seal(&self, plaintext: &[u8], context: &str) -> Vec<u8> {
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let ciphertext = self
            .current
            .1
            .encrypt(
                &nonce,
                Payload {
                    msg: plaintext,
                    aad: context.as_bytes(),
                },
            )
            .expect("AES-GCM encryption of an in-memory buffer cannot fail");
        let mut out = Vec::with_capacity(2 + NONCE_LEN + ciphertext.len());
        out.push(VERSION);
        out.push(self.current.0);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ciphertext);
        out
    }

    /// Decrypts a value sealed for `context`.
    pub fn open(&self, sealed: &[u8], context: &str) -> Result<Vec<u8>, CryptoError> {
        if sealed.len() < 2 + NONCE_LEN + 16 || sealed[0] != VERSION {
            return Err(CryptoError::Malformed);
        }
        let key_id = sealed[1];
        let cipher = if key_id == self.current.0 {
            &self.current.1
        } else {
            &self
                .older
                .iter()
                .find(|(id, _)| *id == key_id)
                .ok_or(CryptoError::UnknownKey(key_id))?
                .1
        };
        let nonce = Nonce::from_slice(&sealed[2..2 + NONCE_LEN]);
        cipher
            .decrypt(
                nonce,
                Payload {
                    msg: &sealed[2 + NONCE_LEN..],
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| CryptoError::Open)
    }

    /// Whether a sealed value was made with an older key (for `rotate-keys`).
    pub fn is_stale(&self, sealed: &[u8]) -> bool {
        sealed.get(1).is_some_and(|id| *id != self.current.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_tamper_wrong_context_and_rotation() {
        let old = DataKeys::new(1, &[7u8; 32], &[]);
        let sealed = old.seal(b"EAAG-token", "channel:1");
        assert_eq!(old.open(&sealed, "channel:1").unwrap(), b"EAAG-token");
        assert_ne!(old.seal(b"EAAG-token", "channel:1"), sealed, "fresh nonce each time");
        assert_eq!(
            old.open(&sealed, "channel:2"),
            Err(CryptoError::Open),
            "bound to its row"
        );
        let mut tampered = sealed.clone();
        let last = tampered.len() - 1;
        tampered[last] ^= 1;
        assert_eq!(old.open(&tampered, "channel:1"), Err(CryptoError::Open));
        let rotated = DataKeys::new(2, &[9u8; 32], &[(1, [7u8; 32])]);
        assert_eq!(rotated.open(&sealed, "channel:1").unwrap(), b"EAAG-token");
        assert!(rotated.is_stale(&sealed));
        let resealed = rotated.seal(b"EAAG-token", "channel:1");
        assert!(!rotated.is_stale(&resealed));
        assert_eq!(old.open(&resealed, "channel:1"), Err(CryptoError::UnknownKey(2)));
        assert_eq!(old.open(b"short", "x"), Err(CryptoError::Malformed));
    }
}
