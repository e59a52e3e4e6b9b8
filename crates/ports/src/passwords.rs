//! Password hashing (argon2id in production).

use rodando_domain::user::{NewPassword, PasswordHash};

use crate::Unexpected;

/// Hashes and verifies passwords. CPU-bound: callers run it off the async executor.
#[cfg_attr(feature = "mocks", mockall::automock)]
pub trait PasswordHasher: Send + Sync {
    /// Hashes a new password with a fresh salt.
    ///
    /// # Errors
    /// [`Unexpected`] if the hashing primitive fails (it does not for valid parameters).
    fn hash(&self, password: &NewPassword) -> Result<PasswordHash, Unexpected>;

    /// Whether `password` matches `hash`. A malformed hash is simply "no match".
    fn verify(&self, password: &str, hash: &PasswordHash) -> bool;

    /// A hash of no real password, verified against when the user does not exist so that a
    /// wrong e-mail and a wrong password take the same time.
    fn dummy_hash(&self) -> PasswordHash;
}
