//! Access tokens signed here rather than by a server's login: for a server that checks only the
//! signature (the Node baseline of the benchmark). They are signed by `rodando-adapter-jwt`, the
//! server's own token service, so their claims are exactly the ones a login would issue.

use std::time::Duration;

use rodando_adapter_jwt::{JwtConfig, JwtTokenService};
use rodando_domain::ids::{SessionId, UserId};
use rodando_domain::user::{AppAudience, UserType};
use rodando_ports::tokens::{AccessGrant, SignedToken, TokenService};
use secrecy::SecretString;
use time::OffsetDateTime;
use uuid::Uuid;

/// Why no token could be minted.
#[derive(Debug, Clone, thiserror::Error)]
#[error("cannot mint a token: {0}")]
pub struct MintError(String);

/// Mints access tokens with one HS256 secret and issuer.
pub struct Minter {
    service: JwtTokenService,
}

impl std::fmt::Debug for Minter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Minter")
    }
}

impl Minter {
    /// A minter of tokens valid for `ttl`, signed with `secret` for `issuer`.
    ///
    /// # Errors
    /// An empty secret or a zero lifetime.
    pub fn new(secret: &str, issuer: &str, ttl: Duration) -> Result<Self, MintError> {
        let ttl = time::Duration::try_from(ttl).map_err(|e| MintError(e.to_string()))?;
        let config = JwtConfig {
            access_secret: SecretString::from(secret.to_owned()),
            // Never used: only access tokens are minted, but the service wants a distinct key.
            refresh_secret: SecretString::from(format!("{secret}\u{0}unused-refresh-key")),
            issuer: issuer.to_owned(),
            access_ttl: ttl,
            refresh_ttl: ttl,
        };
        let service = JwtTokenService::new(&config).map_err(|e| MintError(e.to_string()))?;
        Ok(Self { service })
    }

    /// An access token for a new random user and session of `user_type`, for the app that type
    /// signs in to (drivers `driver_app`, admins `admin_panel`, passengers `passenger_app`).
    ///
    /// # Errors
    /// Only if signing fails.
    pub fn mint(&self, user_type: UserType) -> Result<SignedToken, MintError> {
        let audience = match user_type {
            UserType::Driver => AppAudience::DriverApp,
            UserType::Admin => AppAudience::AdminPanel,
            UserType::Passenger => AppAudience::PassengerApp,
        };
        let grant = AccessGrant {
            user_id: UserId::from_uuid(Uuid::new_v4()),
            session_id: SessionId::from_uuid(Uuid::new_v4()),
            user_type,
            audience,
            email: None,
            phone_number: None,
        };
        self.service
            .issue_access(&grant, OffsetDateTime::now_utc())
            .map_err(|e| MintError(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use jsonwebtoken::{Algorithm, DecodingKey, Validation};
    use serde_json::Value;

    #[test]
    fn minted_tokens_carry_the_protocol_claims() {
        let minter = Minter::new("s3cret", "rodando", Duration::from_secs(600)).unwrap();
        let signed = minter.mint(UserType::Driver).unwrap();
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&["rodando"]);
        validation.set_audience(&["driver_app"]);
        let c = jsonwebtoken::decode::<Value>(
            &signed.token,
            &DecodingKey::from_secret(b"s3cret"),
            &validation,
        )
        .unwrap()
        .claims;
        assert_eq!(c["typ"], "access");
        assert_eq!(c["userType"], "driver");
        assert_eq!(c["aud"], "driver_app");
        assert_eq!(c["sub"].as_str().unwrap().len(), 36);
        assert_eq!(c["sid"].as_str().unwrap().len(), 36);
        assert_eq!(c["exp"].as_i64().unwrap() - c["iat"].as_i64().unwrap(), 600);
        assert_eq!(
            signed.expires_at.unix_timestamp(),
            c["exp"].as_i64().unwrap()
        );
        let admin = minter.mint(UserType::Admin).unwrap();
        assert_ne!(admin.token, signed.token);
        assert!(Minter::new("", "rodando", Duration::from_secs(1)).is_err());
    }
}
