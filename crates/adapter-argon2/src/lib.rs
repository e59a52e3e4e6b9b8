//! # rodando-adapter-argon2
//!
//! [`PasswordHasher`] over argon2id with the crate's recommended parameters (OWASP's
//! m = 19 MiB, t = 2, p = 1), stored as PHC strings so parameters can be raised later without
//! invalidating existing hashes: verification reads them from each hash.

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash as Phc;
use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
use rodando_domain::user::{NewPassword, PasswordHash};
use rodando_ports::Unexpected;
use rodando_ports::passwords::PasswordHasher;

/// Argon2id hasher.
pub struct Argon2Hasher {
    argon2: Argon2<'static>,
    dummy: PasswordHash,
}

impl Argon2Hasher {
    /// Builds the hasher and its dummy hash (one hashing, ~20 ms in release).
    ///
    /// # Errors
    /// [`Unexpected`] if the platform has no secure random source.
    pub fn new() -> Result<Self, Unexpected> {
        let argon2 = Argon2::default();
        let dummy = hash_with(&argon2, "dummy password nobody has")?;
        Ok(Self { argon2, dummy })
    }
}

fn hash_with(argon2: &Argon2<'static>, password: &str) -> Result<PasswordHash, Unexpected> {
    let phc: Phc = argon2
        .hash_password(password.as_bytes())
        .map_err(|e| Unexpected::msg(format!("argon2 hashing failed: {e}")))?;
    Ok(PasswordHash::from_phc(phc.to_string()))
}

impl PasswordHasher for Argon2Hasher {
    fn hash(&self, password: &NewPassword) -> Result<PasswordHash, Unexpected> {
        hash_with(&self.argon2, password.expose())
    }

    fn verify(&self, password: &str, hash: &PasswordHash) -> bool {
        Phc::new(hash.as_str()).is_ok_and(|phc| {
            self.argon2
                .verify_password(password.as_bytes(), &phc)
                .is_ok()
        })
    }

    fn dummy_hash(&self) -> PasswordHash {
        self.dummy.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_its_password_only() {
        let hasher = Argon2Hasher::new().unwrap();
        let hash = hasher
            .hash(&NewPassword::parse("rodando123").unwrap())
            .unwrap();
        assert!(hash.as_str().starts_with("$argon2id$"));
        assert!(hasher.verify("rodando123", &hash));
        assert!(!hasher.verify("rodando124", &hash));
        assert!(!hasher.verify("", &hash));
    }

    #[test]
    fn hashes_are_salted() {
        let hasher = Argon2Hasher::new().unwrap();
        let p = NewPassword::parse("same password").unwrap();
        assert_ne!(hasher.hash(&p).unwrap(), hasher.hash(&p).unwrap());
    }

    #[test]
    fn a_malformed_hash_matches_nothing() {
        let hasher = Argon2Hasher::new().unwrap();
        assert!(!hasher.verify("x", &PasswordHash::from_phc("not a phc string".into())));
        assert!(!hasher.verify(
            "dummy password nobody has",
            &PasswordHash::from_phc(String::new())
        ));
        assert!(hasher.verify("dummy password nobody has", &hasher.dummy_hash()));
    }
}
