//! Access tokens for the simulated sockets: from the server's REST login, or minted locally.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::Serialize;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// One logged-in (or minted) identity.
#[derive(Debug, Clone)]
pub struct Identity {
    /// The access token, sent as `auth.token`.
    pub token: String,
    /// When the token stops working, if known.
    pub expires_at: Option<OffsetDateTime>,
}

/// Why a token could not be had.
#[derive(Debug)]
pub struct TokenError(pub String);

impl std::fmt::Display for TokenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// `POST {base}/api/auth/login` with an e-mail and password for `app_audience`.
///
/// # Errors
/// Network failures and non-200 answers, with the server's error code.
pub async fn login(
    http: &reqwest::Client,
    base: &str,
    email: &str,
    password: &str,
    app_audience: &str,
) -> Result<Identity, TokenError> {
    let url = format!("{}/api/auth/login", base.trim_end_matches('/'));
    let response = http
        .post(&url)
        .json(&json!({ "email": email, "password": password, "appAudience": app_audience }))
        .send()
        .await
        .map_err(|e| TokenError(format!("POST {url}: {e}")))?;
    let status = response.status();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    if !status.is_success() {
        let code = body["error"]["code"].as_str().unwrap_or("?");
        return Err(TokenError(format!(
            "login of {email} ({app_audience}) failed: HTTP {status}, {code}"
        )));
    }
    let token = body["accessToken"]
        .as_str()
        .ok_or_else(|| TokenError(format!("login of {email}: no accessToken in {body}")))?
        .to_owned();
    let expires_at = body["accessTokenExpiresAt"]
        .as_str()
        .and_then(|s| OffsetDateTime::parse(s, &Rfc3339).ok());
    Ok(Identity { token, expires_at })
}

/// The claims of an access token (PROTOCOL §3).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct AccessClaims<'a> {
    sub: String,
    sid: String,
    user_type: &'a str,
    aud: &'a str,
    iat: u64,
    exp: u64,
    iss: &'a str,
    typ: &'static str,
}

/// Mints an HS256 access token for a new random user and session of `user_type`
/// (`driver` or `admin`), valid for `ttl`.
///
/// # Errors
/// Only if signing fails.
pub fn mint(
    key: &EncodingKey,
    issuer: &str,
    user_type: &str,
    ttl: Duration,
) -> Result<Identity, TokenError> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    let aud = if user_type == "admin" {
        "admin_panel"
    } else {
        "driver_app"
    };
    let claims = AccessClaims {
        sub: uuid::Uuid::new_v4().to_string(),
        sid: uuid::Uuid::new_v4().to_string(),
        user_type,
        aud,
        iat: now,
        exp: now + ttl.as_secs(),
        iss: issuer,
        typ: "access",
    };
    let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, key)
        .map_err(|e| TokenError(format!("cannot sign a token: {e}")))?;
    let expires_at = i64::try_from(claims.exp)
        .ok()
        .and_then(|exp| OffsetDateTime::from_unix_timestamp(exp).ok());
    Ok(Identity { token, expires_at })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use jsonwebtoken::{DecodingKey, Validation};

    #[test]
    fn minted_tokens_carry_the_protocol_claims() {
        let identity = mint(
            &EncodingKey::from_secret(b"s3cret"),
            "rodando",
            "driver",
            Duration::from_secs(600),
        )
        .unwrap();
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&["rodando"]);
        validation.set_audience(&["driver_app"]);
        let data = jsonwebtoken::decode::<Value>(
            &identity.token,
            &DecodingKey::from_secret(b"s3cret"),
            &validation,
        )
        .unwrap();
        let c = data.claims;
        assert_eq!(c["typ"], "access");
        assert_eq!(c["userType"], "driver");
        assert_eq!(c["aud"], "driver_app");
        assert_eq!(c["sub"].as_str().unwrap().len(), 36);
        assert_eq!(c["sid"].as_str().unwrap().len(), 36);
        assert_eq!(c["exp"].as_u64().unwrap() - c["iat"].as_u64().unwrap(), 600);
        assert!(identity.expires_at.is_some());
    }
}
