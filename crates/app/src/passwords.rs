//! argon2id hashing, off the async threads (hashing takes tens of milliseconds by design).

use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::Context;
use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};

pub async fn hash(password: String) -> anyhow::Result<String> {
    tokio::task::spawn_blocking(move || hash_blocking(&password)).await.context("hashing task")?
}

pub fn hash_blocking(password: &str) -> anyhow::Result<String> {
    let hash = Argon2::default().hash_password(password.as_bytes()).map_err(|e| anyhow::anyhow!("argon2: {e}"))?;
    Ok(hash.to_string())
}

/// Verifies passwords. An unknown user is checked against a dummy hash made with the same
/// parameters, so that a login for a name that does not exist costs the same argon2 work as a
/// wrong password (no user enumeration by timing). It counts every argon2 verification it runs,
/// so that tests can prove both paths do the work.
pub struct Checker {
    dummy: String,
    verifications: AtomicU64,
}

impl Checker {
    /// Makes the dummy hash now, so that the first unknown user is not slower than the rest.
    pub fn new() -> anyhow::Result<Self> {
        Ok(Checker { dummy: hash_blocking("dummy-password-for-timing")?, verifications: AtomicU64::new(0) })
    }

    /// Checks a password; for unknown users pass `None`.
    pub async fn verify(&self, password: &str, stored: Option<&str>) -> anyhow::Result<bool> {
        let stored = stored.unwrap_or(&self.dummy).to_owned();
        let password = password.to_owned();
        self.verifications.fetch_add(1, Ordering::Relaxed);
        tokio::task::spawn_blocking(move || {
            // A stored value that is not a valid hash never matches.
            match argon2::PasswordHash::new(&stored) {
                Ok(parsed) => Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok(),
                Err(_) => false,
            }
        })
        .await
        .context("verification task")
    }

    /// How many argon2 verifications this process has run through this checker.
    pub fn verifications(&self) -> u64 {
        self.verifications.load(Ordering::Relaxed)
    }
}
