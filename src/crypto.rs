//! Encryption at rest with AES-256-GCM.
//!
//! A sealed value is `version (1) ‖ key id (1) ‖ nonce (12) ‖ ciphertext+tag`.
//! Every encryption uses a fresh random 96-bit nonce. Associated data binds
//! a ciphertext to the row it belongs to (e.g. `totp:<account id>`), so a
//! value copied into another row fails to open. The key id lets keys rotate:
//! the current key seals, older keys still open.
//!
//! Values that must also be found again (a customer's platform id, which for
//! WhatsApp is their phone number) are stored twice: sealed, for showing and
//! sending, and as a keyed lookup hash, `version (1) ‖ key id (1) ‖
//! HMAC-SHA256(lookup key, value)`. Each data key has its own lookup key,
//! `HMAC-SHA256(data key, "bikriagent lookup key v1")`, so the hash is
//! useless without `BIKRI_DATA_KEY` and never reuses the encryption key
//! itself. A hash made under an older key is found by
//! [`DataKeys::lookup_hashes`] and rewritten under the current one by
//! `rotate-keys` (see `customer_ids::rotate`).

use aes_gcm::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use hmac::{Hmac, Mac as _};
use sha2::Sha256;

const VERSION: u8 = 1;
const NONCE_LEN: usize = 12;

/// What a lookup key is derived with, from its data key.
const LOOKUP_LABEL: &[u8] = b"bikriagent lookup key v1";

/// Length of a lookup hash: version, key id and the HMAC-SHA256.
pub const LOOKUP_HASH_LEN: usize = 2 + 32;

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
    /// (key id, lookup key) of every key, the current one first.
    lookup: Vec<(u8, [u8; 32])>,
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
        let lookup = std::iter::once((current_id, lookup_key(current)))
            .chain(older.iter().map(|(id, key)| (*id, lookup_key(key))))
            .collect();
        Self {
            current: (current_id, cipher(current)),
            older: older.iter().map(|(id, key)| (*id, cipher(key))).collect(),
            lookup,
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

    /// Whether a sealed value or a lookup hash was made with an older key (for `rotate-keys`).
    pub fn is_stale(&self, sealed: &[u8]) -> bool {
        sealed.get(1).is_some_and(|id| *id != self.current.0)
    }

    /// The keyed hash of `value` under the current key, to store next to the
    /// sealed value and find the row by later.
    pub fn lookup_hash(&self, value: &str) -> Vec<u8> {
        let (id, key) = &self.lookup[0];
        keyed_hash(*id, key, value)
    }

    /// The keyed hashes of `value` under every configured key, the current
    /// one first: a lookup matches rows hashed before a key rotation too.
    pub fn lookup_hashes(&self, value: &str) -> Vec<Vec<u8>> {
        self.lookup
            .iter()
            .map(|(id, key)| keyed_hash(*id, key, value))
            .collect()
    }
}

fn lookup_key(data_key: &[u8; 32]) -> [u8; 32] {
    let mut mac = <Hmac<Sha256> as hmac::Mac>::new_from_slice(data_key).expect("HMAC takes a key of any length");
    mac.update(LOOKUP_LABEL);
    mac.finalize().into_bytes().into()
}

fn keyed_hash(id: u8, lookup_key: &[u8; 32], value: &str) -> Vec<u8> {
    let mut mac = <Hmac<Sha256> as hmac::Mac>::new_from_slice(lookup_key).expect("HMAC takes a key of any length");
    mac.update(value.as_bytes());
    let mut out = Vec::with_capacity(LOOKUP_HASH_LEN);
    out.push(VERSION);
    out.push(id);
    out.extend_from_slice(&mac.finalize().into_bytes());
    out
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

    #[test]
    fn lookup_hashes_are_keyed_stable_and_survive_rotation() {
        let old = DataKeys::new(1, &[7u8; 32], &[]);
        let hash = old.lookup_hash("8801711000000");
        assert_eq!(hash.len(), LOOKUP_HASH_LEN);
        assert_eq!(hash, old.lookup_hash("8801711000000"), "the same value, the same hash");
        assert_ne!(hash, old.lookup_hash("8801711000001"));
        assert!(!hash.windows(4).any(|w| w == b"8801"), "the value is not in its hash");
        let other = DataKeys::new(1, &[8u8; 32], &[]);
        assert_ne!(other.lookup_hash("8801711000000"), hash, "without the key, no match");
        // Not the data key itself: the lookup key is derived with its own label.
        let mut plain = <Hmac<Sha256> as hmac::Mac>::new_from_slice(&[7u8; 32]).unwrap();
        plain.update(b"8801711000000");
        assert_ne!(&hash[2..], plain.finalize().into_bytes().as_slice());

        let rotated = DataKeys::new(2, &[9u8; 32], &[(1, [7u8; 32])]);
        let hashes = rotated.lookup_hashes("8801711000000");
        assert_eq!(hashes.len(), 2);
        assert_eq!(hashes[0], rotated.lookup_hash("8801711000000"), "current first");
        assert!(
            hashes.contains(&hash),
            "rows hashed before the rotation are still found"
        );
        assert!(rotated.is_stale(&hash));
        assert!(!rotated.is_stale(&hashes[0]));
    }
}
