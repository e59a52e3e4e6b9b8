//! Access tokens for the simulated sockets: from the server's REST login, or minted locally.

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::{Deserialize, Serialize};
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

/// Logged-in identities kept between runs against the same server (`--tokens-file`), so a
/// benchmark of several scenarios pays the logins (one argon2 verification each) once.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct TokenFile {
    /// The server the tokens were issued by.
    pub url: String,
    /// One token per distinct driver user, in user order.
    pub drivers: Vec<StoredToken>,
    /// The admin's token, if admins were logged in.
    pub admin: Option<StoredToken>,
}

/// A token and its expiry (unix seconds).
#[derive(Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct StoredToken {
    /// The access token.
    pub token: String,
    /// `exp`, unix seconds.
    pub expires_at: Option<i64>,
}

impl From<&Identity> for StoredToken {
    fn from(i: &Identity) -> Self {
        Self {
            token: i.token.clone(),
            expires_at: i.expires_at.map(OffsetDateTime::unix_timestamp),
        }
    }
}

impl From<StoredToken> for Identity {
    fn from(t: StoredToken) -> Self {
        Self {
            token: t.token,
            expires_at: t
                .expires_at
                .and_then(|s| OffsetDateTime::from_unix_timestamp(s).ok()),
        }
    }
}

impl TokenFile {
    /// Reads a file written by [`TokenFile::save`]; `Ok(None)` if it does not exist.
    ///
    /// # Errors
    /// Unreadable or malformed files.
    pub fn load(path: &Path) -> Result<Option<Self>, TokenError> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(TokenError(format!("cannot read {}: {e}", path.display()))),
        };
        serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| TokenError(format!("{} is not a token file: {e}", path.display())))
    }

    /// Writes the file (tokens are secrets of a test server: keep it under `target/`).
    ///
    /// # Errors
    /// Unwritable paths.
    pub fn save(&self, path: &Path) -> Result<(), TokenError> {
        let text = serde_json::to_string(self).map_err(|e| TokenError(e.to_string()))?;
        std::fs::write(path, text)
            .map_err(|e| TokenError(format!("cannot write {}: {e}", path.display())))
    }

    /// Whether these tokens can serve a run against `url` with `driver_users` driver users and,
    /// if `admins`, an admin; `Err` says why not.
    ///
    /// # Errors
    /// The reason, for the log.
    pub fn fits(&self, url: &str, driver_users: usize, admins: bool) -> Result<(), String> {
        if self.url.trim_end_matches('/') != url.trim_end_matches('/') {
            return Err(format!("issued by {}, not {url}", self.url));
        }
        if self.drivers.len() < driver_users {
            return Err(format!(
                "holds {} driver users, {driver_users} needed",
                self.drivers.len()
            ));
        }
        if admins && self.admin.is_none() {
            return Err("holds no admin token".to_owned());
        }
        Ok(())
    }
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

    #[test]
    fn token_files_round_trip_and_say_when_they_do_not_fit() {
        let dir = std::env::temp_dir().join(format!("loadgen-tokens-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("tokens.json");
        assert_eq!(TokenFile::load(&path).unwrap(), None);
        let expires = OffsetDateTime::from_unix_timestamp(2_000_000_000).unwrap();
        let identity = Identity {
            token: "t1".into(),
            expires_at: Some(expires),
        };
        let file = TokenFile {
            url: "http://127.0.0.1:3917".into(),
            drivers: vec![StoredToken::from(&identity), StoredToken::from(&identity)],
            admin: None,
        };
        file.save(&path).unwrap();
        let back = TokenFile::load(&path).unwrap().unwrap();
        assert_eq!(back, file);
        let restored = Identity::from(back.drivers.into_iter().next().unwrap());
        assert_eq!(restored.token, "t1");
        assert_eq!(restored.expires_at, Some(expires));

        assert!(file.fits("http://127.0.0.1:3917/", 2, false).is_ok());
        assert!(file.fits("http://127.0.0.1:3917", 3, false).is_err());
        assert!(file.fits("http://127.0.0.1:3918", 1, false).is_err());
        assert!(file.fits("http://127.0.0.1:3917", 1, true).is_err());

        std::fs::write(&path, "not json").unwrap();
        assert!(TokenFile::load(&path).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
