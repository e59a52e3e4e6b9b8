//! # rodando-adapter-jwt
//!
//! [`TokenService`] over `jsonwebtoken`. HS256 only, with separate secrets for access and
//! refresh tokens, so a refresh token can never pass as an access token even before its `typ`
//! is read. Expiry is checked against the caller's clock (not the system's) so tests and the
//! live-expiry watcher agree on what "now" is.

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, encode};
use rodando_domain::ids::{SessionId, UserId};
use rodando_domain::user::{AppAudience, UserType};
use rodando_ports::Unexpected;
use rodando_ports::tokens::{
    AccessClaims, AccessGrant, RefreshClaims, RefreshGrant, SignedToken, TokenError, TokenService,
};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

/// Clock skew tolerated on `exp` and `nbf`: the domain's, so the session check agrees.
pub const LEEWAY: Duration = rodando_domain::session::CLOCK_LEEWAY;

/// Tokens longer than this are refused before any parsing.
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;

/// Settings of the token service.
#[derive(Debug, Clone)]
pub struct JwtConfig {
    /// HS256 key of access tokens.
    pub access_secret: SecretString,
    /// HS256 key of refresh tokens; must differ from the access key.
    pub refresh_secret: SecretString,
    /// `iss` written and required.
    pub issuer: String,
    /// Lifetime of access tokens.
    pub access_ttl: Duration,
    /// Lifetime of refresh tokens.
    pub refresh_ttl: Duration,
}

/// Why a [`JwtConfig`] is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwtConfigError {
    /// A secret is empty.
    #[error("JWT secrets must not be empty")]
    EmptySecret,
    /// Both secrets are the same.
    #[error("JWT_ACCESS_SECRET and JWT_REFRESH_SECRET must differ")]
    SameSecrets,
    /// A TTL is zero or negative.
    #[error("token lifetimes must be positive")]
    NonPositiveTtl,
}

/// The token service.
pub struct JwtTokenService {
    access_enc: EncodingKey,
    access_dec: DecodingKey,
    refresh_enc: EncodingKey,
    refresh_dec: DecodingKey,
    validation: Validation,
    issuer: String,
    access_ttl: Duration,
    refresh_ttl: Duration,
}

const ACCESS: &str = "access";
const REFRESH: &str = "refresh";

/// The JSON claims of both token kinds (PROTOCOL §3).
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Claims {
    sub: String,
    sid: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    user_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    aud: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    phone_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    jti: Option<String>,
    iat: i64,
    exp: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    nbf: Option<i64>,
    iss: String,
    typ: String,
}

impl Claims {
    /// The claims of `user`'s session `session` that every token carries; the rest is filled
    /// by the token's kind and [`JwtTokenService::issue`].
    fn of(user: UserId, session: SessionId) -> Self {
        Self {
            sub: user.to_string(),
            sid: session.to_string(),
            user_type: None,
            aud: None,
            email: None,
            phone_number: None,
            jti: None,
            iat: 0,
            exp: 0,
            nbf: None,
            iss: String::new(),
            typ: String::new(),
        }
    }
}

impl JwtTokenService {
    /// Builds the keys once.
    ///
    /// # Errors
    /// [`JwtConfigError`] for empty or equal secrets, or non-positive TTLs.
    pub fn new(config: &JwtConfig) -> Result<Self, JwtConfigError> {
        let access = config.access_secret.expose_secret().as_bytes();
        let refresh = config.refresh_secret.expose_secret().as_bytes();
        if access.is_empty() || refresh.is_empty() {
            return Err(JwtConfigError::EmptySecret);
        }
        if access == refresh {
            return Err(JwtConfigError::SameSecrets);
        }
        if !config.access_ttl.is_positive() || !config.refresh_ttl.is_positive() {
            return Err(JwtConfigError::NonPositiveTtl);
        }
        let mut validation = Validation::new(Algorithm::HS256);
        // Time claims are checked below against the caller's clock; `aud` is parsed, not matched.
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.validate_aud = false;
        validation.set_issuer(&[config.issuer.as_str()]);
        validation.set_required_spec_claims(&["exp", "iss", "sub"]);
        Ok(Self {
            access_enc: EncodingKey::from_secret(access),
            access_dec: DecodingKey::from_secret(access),
            refresh_enc: EncodingKey::from_secret(refresh),
            refresh_dec: DecodingKey::from_secret(refresh),
            validation,
            issuer: config.issuer.clone(),
            access_ttl: config.access_ttl,
            refresh_ttl: config.refresh_ttl,
        })
    }

    fn sign(&self, claims: &Claims, key: &EncodingKey) -> Result<String, Unexpected> {
        encode(&Header::new(Algorithm::HS256), claims, key)
            .map_err(|e| Unexpected::new("signing a token failed", e))
    }

    /// Decodes and checks everything common to both kinds: size, algorithm, signature, issuer,
    /// `typ`, `exp`, `nbf`.
    fn verify(
        &self,
        token: &str,
        key: &DecodingKey,
        typ: &str,
        now: OffsetDateTime,
    ) -> Result<Claims, TokenError> {
        let token = token.strip_prefix("Bearer ").unwrap_or(token).trim();
        if token.len() > MAX_TOKEN_BYTES {
            return Err(TokenError::Invalid("token too large".into()));
        }
        let claims = decode::<Claims>(token, key, &self.validation)
            .map_err(|e| TokenError::Invalid(e.to_string()))?
            .claims;
        if claims.typ != typ {
            return Err(TokenError::Invalid(format!(
                "a {} token is not a {typ} token",
                claims.typ
            )));
        }
        let now = now.unix_timestamp();
        let leeway = LEEWAY.whole_seconds();
        if claims.nbf.is_some_and(|nbf| nbf > now + leeway) {
            return Err(TokenError::Invalid("token not yet valid".into()));
        }
        if claims.exp.saturating_add(leeway) <= now {
            return Err(TokenError::Expired);
        }
        Ok(claims)
    }
}

impl JwtTokenService {
    /// Signs `claims` as a token of kind `typ` ([`ACCESS`] or [`REFRESH`]: its TTL and key)
    /// issued at `now` by this issuer.
    fn issue(
        &self,
        claims: Claims,
        typ: &str,
        now: OffsetDateTime,
    ) -> Result<SignedToken, Unexpected> {
        let (ttl, key) = if typ == ACCESS {
            (self.access_ttl, &self.access_enc)
        } else {
            (self.refresh_ttl, &self.refresh_enc)
        };
        let expires_at = now + ttl;
        let claims = Claims {
            iat: now.unix_timestamp(),
            exp: expires_at.unix_timestamp(),
            iss: self.issuer.clone(),
            typ: typ.to_owned(),
            ..claims
        };
        Ok(SignedToken {
            token: self.sign(&claims, key)?,
            expires_at: whole_seconds(expires_at),
        })
    }
}

impl TokenService for JwtTokenService {
    fn issue_access(
        &self,
        grant: &AccessGrant,
        now: OffsetDateTime,
    ) -> Result<SignedToken, Unexpected> {
        let claims = Claims {
            user_type: Some(grant.user_type.as_str().to_owned()),
            aud: Some(grant.audience.as_str().to_owned()),
            email: grant.email.clone(),
            phone_number: grant.phone_number.clone(),
            ..Claims::of(grant.user_id, grant.session_id)
        };
        self.issue(claims, ACCESS, now)
    }

    fn issue_refresh(
        &self,
        grant: &RefreshGrant,
        now: OffsetDateTime,
    ) -> Result<SignedToken, Unexpected> {
        let claims = Claims {
            jti: Some(grant.jti.to_string()),
            ..Claims::of(grant.user_id, grant.session_id)
        };
        self.issue(claims, REFRESH, now)
    }

    fn verify_access(&self, token: &str, now: OffsetDateTime) -> Result<AccessClaims, TokenError> {
        let c = self.verify(token, &self.access_dec, ACCESS, now)?;
        Ok(AccessClaims {
            grant: AccessGrant {
                user_id: claim("sub", Some(&c.sub), |s| UserId::parse(s).ok())?,
                session_id: claim("sid", Some(&c.sid), |s| SessionId::parse(s).ok())?,
                user_type: claim("userType", c.user_type.as_deref(), |t| {
                    UserType::parse(t).ok()
                })?,
                audience: claim("aud", c.aud.as_deref(), |a| AppAudience::parse(a).ok())?,
                email: c.email,
                phone_number: c.phone_number,
            },
            issued_at: claim("iat", Some(c.iat), timestamp)?,
            expires_at: claim("exp", Some(c.exp), timestamp)?,
        })
    }

    fn verify_refresh(
        &self,
        token: &str,
        now: OffsetDateTime,
    ) -> Result<RefreshClaims, TokenError> {
        let c = self.verify(token, &self.refresh_dec, REFRESH, now)?;
        Ok(RefreshClaims {
            user_id: claim("sub", Some(&c.sub), |s| UserId::parse(s).ok())?,
            session_id: claim("sid", Some(&c.sid), |s| SessionId::parse(s).ok())?,
            jti: claim("jti", c.jti.as_deref(), |j| Uuid::try_parse(j).ok())?,
            expires_at: claim("exp", Some(c.exp), timestamp)?,
        })
    }
}

/// Claim `name` read by `parse`; a missing or unreadable one makes the token invalid.
fn claim<R, T>(
    name: &str,
    raw: Option<R>,
    parse: impl FnOnce(R) -> Option<T>,
) -> Result<T, TokenError> {
    raw.and_then(parse)
        .ok_or_else(|| TokenError::Invalid(format!("bad {name} claim")))
}

fn timestamp(secs: i64) -> Option<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp(secs).ok()
}

/// `exp` has whole-second precision; report exactly what the token says.
fn whole_seconds(t: OffsetDateTime) -> OffsetDateTime {
    t.replace_nanosecond(0).unwrap_or(t)
}
