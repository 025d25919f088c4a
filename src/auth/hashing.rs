//! Password hashing with argon2id (m = 19456 KiB, t = 2, p = 1, OWASP's
//! recommendation), run off the async runtime with a bounded number of
//! hashes at once so a login flood cannot starve other requests.
//!
//! Each hashing slot keeps its 19 MiB of argon2 working memory and reuses it.
//! Allocated afresh per hash, the memory went back to glibc's heap, whose
//! mmap threshold then rose to 19 MiB; every blocking thread's arena came to
//! keep a 19 MiB block, and 50 logins left the server at 156 MiB instead of 43.

use std::sync::{Arc, Mutex};

use argon2::password_hash::{Output, ParamsString, PasswordHash, Salt, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use secrecy::{ExposeSecret as _, SecretString};
use tokio::sync::Semaphore;

pub const MEMORY_KIB: u32 = 19_456;
pub const ITERATIONS: u32 = 2;
pub const PARALLELISM: u32 = 1;

#[derive(Debug, thiserror::Error)]
pub enum HashError {
    #[error("password hashing failed: {0}")]
    Hash(String),
    #[error("the hashing pool is shut down")]
    Closed,
}

/// Whether a password matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verification {
    Invalid,
    /// Matched; `needs_rehash` when the stored parameters are weaker than ours.
    Valid {
        needs_rehash: bool,
    },
}

fn argon2() -> Argon2<'static> {
    let params = Params::new(MEMORY_KIB, ITERATIONS, PARALLELISM, None).expect("constant parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Argon2's working memory, kept between hashes.
type Memory = Vec<Block>;

/// The argon2 output of `password` under `argon`, computed in `memory`
/// (grown to the parameters' size when it is smaller).
fn compute(
    argon: &Argon2<'_>,
    password: &[u8],
    salt: Salt<'_>,
    output_len: usize,
    memory: &mut Memory,
) -> Result<Output, argon2::password_hash::Error> {
    let mut salt_bytes = [0u8; 64];
    let salt = salt.decode_b64(&mut salt_bytes)?;
    let blocks = argon.params().block_count();
    if memory.len() < blocks {
        memory.resize(blocks, Block::default());
    }
    Output::init_with(output_len, |out| {
        Ok(argon.hash_password_into_with_memory(password, salt, out, &mut memory[..blocks])?)
    })
}

fn hash_blocking(password: &str, memory: &mut Memory) -> Result<String, HashError> {
    let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
    let argon = argon2();
    let hashed = |memory: &mut Memory| -> Result<String, argon2::password_hash::Error> {
        let output = compute(
            &argon,
            password.as_bytes(),
            salt.as_salt(),
            Params::DEFAULT_OUTPUT_LEN,
            memory,
        )?;
        Ok(PasswordHash {
            algorithm: Algorithm::Argon2id.ident(),
            version: Some(Version::V0x13.into()),
            params: ParamsString::try_from(argon.params())?,
            salt: Some(salt.as_salt()),
            hash: Some(output),
        }
        .to_string())
    };
    hashed(memory).map_err(|e| HashError::Hash(e.to_string()))
}

/// True when `phc` was made with weaker settings than the current ones.
pub fn needs_rehash(phc: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(phc) else {
        return true;
    };
    if parsed.algorithm.as_str() != "argon2id" || parsed.version != Some(0x13) {
        return true;
    }
    let Ok(params) = Params::try_from(&parsed) else {
        return true;
    };
    params.m_cost() < MEMORY_KIB || params.t_cost() < ITERATIONS || params.p_cost() < PARALLELISM
}

fn verify_blocking(password: &str, phc: &str, memory: &mut Memory) -> Verification {
    let mut matches = || -> Option<bool> {
        // Verify with the parameters stored in the hash (they may be older ones).
        let parsed = PasswordHash::new(phc).ok()?;
        let expected = parsed.hash?;
        let argon = Argon2::new(
            Algorithm::try_from(parsed.algorithm).ok()?,
            parsed
                .version
                .map_or(Some(Version::default()), |v| Version::try_from(v).ok())?,
            Params::try_from(&parsed).ok()?,
        );
        let computed = compute(&argon, password.as_bytes(), parsed.salt?, expected.len(), memory).ok()?;
        // `Output`'s equality is constant-time.
        Some(computed == expected)
    };
    match matches() {
        Some(true) => Verification::Valid {
            needs_rehash: needs_rehash(phc),
        },
        _ => Verification::Invalid,
    }
}

/// Gives a hashing slot back only after it has rested twice as long as it
/// worked, so argon2 can use at most a third of the cores its slots stand
/// for however many guesses arrive: a password-guessing flood slows logins
/// down, not webhooks and pages. The caller has its answer already; only the
/// next hash in this slot waits.
fn rest_then_release(permit: tokio::sync::OwnedSemaphorePermit, worked: std::time::Duration) {
    tokio::spawn(async move {
        tokio::time::sleep(worked * 2).await;
        drop(permit);
    });
}

/// Hashes and verifies passwords on the blocking pool, at most `permits` at a time.
#[derive(Clone)]
pub struct PasswordHasher {
    permits: Arc<Semaphore>,
    /// Working memory for the slots: at most one per permit, each reused.
    memories: Arc<Mutex<Vec<Memory>>>,
    /// A real hash of a random password: unknown emails are verified against
    /// it so they cost the same time as real accounts.
    dummy: Arc<String>,
}

impl std::fmt::Debug for PasswordHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordHasher")
            .field("available", &self.permits.available_permits())
            .finish()
    }
}

impl PasswordHasher {
    /// `max_concurrent` hashes at once (the rest wait their turn).
    pub fn new(max_concurrent: usize) -> Self {
        let random: String = {
            use rand::RngCore as _;
            let mut bytes = [0u8; 24];
            rand::rng().fill_bytes(&mut bytes);
            bytes.iter().map(|b| format!("{b:02x}")).collect()
        };
        let mut memory = Memory::new();
        let dummy = hash_blocking(&random, &mut memory).expect("hashing a fixed-size random string works");
        Self {
            permits: Arc::new(Semaphore::new(max_concurrent.max(1))),
            memories: Arc::new(Mutex::new(vec![memory])),
            dummy: Arc::new(dummy),
        }
    }

    pub async fn hash(&self, password: &SecretString) -> Result<String, HashError> {
        let password = password.expose_secret().to_owned();
        self.in_slot(move |memory| hash_blocking(&password, memory)).await?
    }

    /// Verifies against `stored`, or against the dummy hash when there is no
    /// account, doing the same work either way.
    pub async fn verify(&self, password: &SecretString, stored: Option<&str>) -> Result<Verification, HashError> {
        let password = password.expose_secret().to_owned();
        let (phc, real) = match stored {
            Some(phc) => (phc.to_owned(), true),
            None => (self.dummy.as_str().to_owned(), false),
        };
        let outcome = self
            .in_slot(move |memory| verify_blocking(&password, &phc, memory))
            .await?;
        Ok(if real { outcome } else { Verification::Invalid })
    }

    /// Runs `work` on the blocking pool in a hashing slot, which then rests
    /// (see [`rest_then_release`]).
    async fn in_slot<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Memory) -> T + Send + 'static,
    ) -> Result<T, HashError> {
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| HashError::Closed)?;
        let started = std::time::Instant::now();
        let memories = self.memories.clone();
        let done = tokio::task::spawn_blocking(move || {
            // A poisoned lock only means another hash panicked; the memory list is still whole.
            let taken = memories.lock().unwrap_or_else(|e| e.into_inner()).pop();
            let mut memory = taken.unwrap_or_default();
            let result = work(&mut memory);
            memories.lock().unwrap_or_else(|e| e.into_inner()).push(memory);
            result
        })
        .await
        .map_err(|e| HashError::Hash(e.to_string()));
        rest_then_release(permit, started.elapsed());
        done
    }
}

#[cfg(test)]
mod tests {
    use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};

    use super::*;

    #[tokio::test]
    async fn hashes_carry_the_required_parameters_and_verify() {
        let hasher = PasswordHasher::new(2);
        let password = SecretString::from("purple-river-lamp-9417".to_owned());
        let phc = hasher.hash(&password).await.unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert_eq!(
            hasher.verify(&password, Some(&phc)).await.unwrap(),
            Verification::Valid { needs_rehash: false }
        );
        let wrong = SecretString::from("purple-river-lamp-9418".to_owned());
        assert_eq!(hasher.verify(&wrong, Some(&phc)).await.unwrap(), Verification::Invalid);
        assert_eq!(hasher.verify(&password, None).await.unwrap(), Verification::Invalid);
    }

    #[test]
    fn weaker_hashes_need_rehashing() {
        let weak = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(4096, 1, 1, None).unwrap(),
        );
        let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
        let phc = weak
            .hash_password(b"purple-river-lamp-9417", &salt)
            .unwrap()
            .to_string();
        assert!(needs_rehash(&phc));
        let mut memory = Memory::new();
        assert_eq!(
            verify_blocking("purple-river-lamp-9417", &phc, &mut memory),
            Verification::Valid { needs_rehash: true }
        );
        assert_eq!(
            verify_blocking("purple-river-lamp-9418", &phc, &mut memory),
            Verification::Invalid
        );
        let strong = hash_blocking("x", &mut memory).unwrap();
        // Our hashes are standard PHC strings the argon2 crate itself verifies.
        argon2()
            .verify_password(b"x", &PasswordHash::new(&strong).unwrap())
            .unwrap();
        assert!(!needs_rehash(&strong));
    }
}
