//! The REST half of the contract the tools use (PROTOCOL §2): login, token refresh, and the
//! driver's trip steps.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Deadline of one REST call.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);

/// How many times a login answered `busy` is tried again. The server answers 503 `busy` with
/// `Retry-After: 1` when its password-hashing queue is full (a burst of logins, as when the
/// simulator starts 20 drivers at once on a loaded machine); a real client waits and retries.
const BUSY_RETRIES: u32 = 10;

/// A failed call: the contract's error code when the server sent one.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{what}: {detail}")]
pub struct ApiError {
    /// What was attempted, e.g. `POST /api/auth/login driver1@rodando.local`.
    pub what: String,
    /// The HTTP status and error code, or the transport error.
    pub detail: String,
    /// The contract's error code (`invalid_credentials`, ...), if any.
    pub code: Option<String>,
}

/// Tokens of one login.
#[derive(Debug, Clone)]
pub struct Tokens {
    /// Sent as `auth.token` and as the Bearer token.
    pub access: String,
    /// Exchanged for a new pair before the access token expires.
    pub refresh: String,
    /// The user's id.
    pub user_id: String,
    /// How long the access token lives, from the login.
    pub access_ttl: Option<Duration>,
    /// When the access token stops working (`accessTokenExpiresAt`, the server's clock).
    pub access_expires_at: Option<OffsetDateTime>,
}

/// The server's REST API.
#[derive(Debug, Clone)]
pub struct Api {
    http: reqwest::Client,
    base: String,
}

impl Api {
    /// A client of the server at `base` (e.g. `http://127.0.0.1:3000`).
    ///
    /// # Errors
    /// When the HTTP client cannot be built.
    pub fn new(base: &str) -> Result<Self, ApiError> {
        Self::with_timeout(base, REQUEST_TIMEOUT)
    }

    /// A client whose every call gives up after `timeout`.
    ///
    /// # Errors
    /// When the HTTP client cannot be built.
    pub fn with_timeout(base: &str, timeout: Duration) -> Result<Self, ApiError> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .map_err(|e| ApiError {
                what: "HTTP client".to_owned(),
                detail: e.to_string(),
                code: None,
            })?;
        Ok(Self {
            http,
            base: base.trim_end_matches('/').to_owned(),
        })
    }

    /// The base URL.
    #[must_use]
    pub fn base(&self) -> &str {
        &self.base
    }

    /// POSTs `body` (with a Bearer token when given); the JSON answer of a 2xx.
    async fn post(
        &self,
        what: String,
        path: &str,
        bearer: Option<&str>,
        body: &Value,
    ) -> Result<Value, ApiError> {
        let mut request = self.http.post(format!("{}{path}", self.base)).json(body);
        if let Some(token) = bearer {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.map_err(|e| ApiError {
            what: what.clone(),
            detail: e.to_string(),
            code: None,
        })?;
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        let json: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        if status.is_success() {
            return Ok(json);
        }
        let code = json["error"]["code"].as_str().map(str::to_owned);
        Err(ApiError {
            what,
            detail: format!(
                "HTTP {}, {}",
                status.as_u16(),
                code.as_deref().unwrap_or("?")
            ),
            code,
        })
    }

    /// `POST /api/auth/login` for `app_audience` (`driver_app`, `passenger_app`).
    ///
    /// # Errors
    /// Network failures and refusals (`invalid_credentials`, `audience_mismatch`...); `busy`
    /// only when the server stayed busy through [`BUSY_RETRIES`] retries.
    pub async fn login(
        &self,
        email: &str,
        password: &str,
        app_audience: &str,
    ) -> Result<Tokens, ApiError> {
        let body = json!({
            "email": email,
            "password": password,
            "appAudience": app_audience,
            "sessionType": "api_client",
        });
        let what = format!("login of {email}");
        let mut retries = 0;
        loop {
            match self
                .post(what.clone(), "/api/auth/login", None, &body)
                .await
            {
                Err(e) if e.code.as_deref() == Some("busy") && retries < BUSY_RETRIES => {
                    retries += 1;
                    // Retry-After is one second; the jitter spreads a burst's retries.
                    let wait = Duration::from_millis(rand::random_range(750..1250));
                    tokio::time::sleep(wait).await;
                }
                answer => return tokens(&answer?, &what),
            }
        }
    }

    /// `POST /api/auth/refresh`: a new pair (the old refresh token stops working).
    ///
    /// # Errors
    /// Network failures and refusals.
    pub async fn refresh(&self, refresh_token: &str) -> Result<Tokens, ApiError> {
        let answer = self
            .post(
                "token refresh".to_owned(),
                "/api/auth/refresh",
                None,
                &json!({ "refreshToken": refresh_token }),
            )
            .await?;
        tokens(&answer, "token refresh")
    }

    /// `POST /api/trips/{id}/{step}` as the assigned driver (`arrived`, `start`, `complete`).
    ///
    /// # Errors
    /// Network failures and refusals (`invalid_trip_transition` when the trip moved meanwhile).
    pub async fn trip_step(
        &self,
        token: &str,
        trip_id: &str,
        step: &str,
        body: &Value,
    ) -> Result<Value, ApiError> {
        self.post(
            format!("trip {trip_id} {step}"),
            &format!("/api/trips/{trip_id}/{step}"),
            Some(token),
            body,
        )
        .await
    }
}

fn tokens(answer: &Value, what: &str) -> Result<Tokens, ApiError> {
    let field = |name: &str| {
        answer[name]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| ApiError {
                what: what.to_owned(),
                detail: format!("no {name} in the answer"),
                code: None,
            })
    };
    let access = field("accessToken")?;
    let refresh = field("refreshToken")?;
    let user_id = answer["user"]["id"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| ApiError {
            what: what.to_owned(),
            detail: "no user.id in the answer".to_owned(),
            code: None,
        })?;
    Ok(Tokens {
        access,
        refresh,
        user_id,
        access_ttl: access_ttl(answer),
        access_expires_at: answer["accessTokenExpiresAt"]
            .as_str()
            .and_then(|s| OffsetDateTime::parse(s, &Rfc3339).ok()),
    })
}

/// The access token's lifetime from its own `iat`/`exp` claims: unlike `accessTokenExpiresAt`
/// compared with the local clock, immune to clock skew between this machine and the server.
fn access_ttl(answer: &Value) -> Option<Duration> {
    let token = answer["accessToken"].as_str()?;
    let claims = URL_SAFE_NO_PAD.decode(token.split('.').nth(1)?).ok()?;
    let claims: Value = serde_json::from_slice(&claims).ok()?;
    let ttl = claims["exp"]
        .as_u64()?
        .checked_sub(claims["iat"].as_u64()?)?;
    Some(Duration::from_secs(ttl))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_access_ttl_comes_from_the_token_claims() {
        // {"iat":1000,"exp":1900}
        let answer = json!({
            "accessToken": "e30.eyJpYXQiOjEwMDAsImV4cCI6MTkwMH0.sig",
            "refreshToken": "r",
            "user": {"id": "u"},
            "accessTokenExpiresAt": "2030-01-01T00:00:00Z"
        });
        let t = tokens(&answer, "test").unwrap();
        assert_eq!(t.access_ttl, Some(Duration::from_secs(900)));
        assert_eq!(t.user_id, "u");
        assert_eq!(
            t.access_expires_at.map(OffsetDateTime::unix_timestamp),
            Some(1_893_456_000)
        );
        assert!(tokens(&json!({"accessToken": "x"}), "test").is_err());
    }

    /// A one-connection-per-answer HTTP server answering `answers` in order; returns its base
    /// URL and how many requests it served.
    async fn answering(
        answers: Vec<(u16, Value)>,
    ) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let served = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let count = std::sync::Arc::clone(&served);
        tokio::spawn(async move {
            for (status, body) in answers {
                let (mut stream, _) = listener.accept().await.unwrap();
                let mut request = vec![0; 4096];
                let _ = stream.read(&mut request).await.unwrap();
                count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let body = body.to_string();
                let head = format!(
                    "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\nretry-after: 1\r\n\
                     connection: close\r\ncontent-length: {}\r\n\r\n",
                    body.len()
                );
                stream.write_all(head.as_bytes()).await.unwrap();
                stream.write_all(body.as_bytes()).await.unwrap();
            }
        });
        (base, served)
    }

    #[tokio::test]
    async fn a_busy_login_is_retried_and_other_refusals_are_not() {
        let busy = json!({"error": {"code": "busy", "message": "try again"}});
        let ok = json!({
            "accessToken": "e30.eyJpYXQiOjEwMDAsImV4cCI6MTkwMH0.sig",
            "refreshToken": "r",
            "user": {"id": "u"}
        });
        let (base, served) = answering(vec![(503, busy.clone()), (503, busy), (200, ok)]).await;
        let api = Api::new(&base).unwrap();
        let tokens = api.login("a@b.c", "pw", "driver_app").await.unwrap();
        assert_eq!(tokens.user_id, "u");
        assert_eq!(served.load(std::sync::atomic::Ordering::SeqCst), 3);

        let wrong = json!({"error": {"code": "invalid_credentials", "message": "no"}});
        let (base, served) = answering(vec![(401, wrong)]).await;
        let refused = Api::new(&base)
            .unwrap()
            .login("a@b.c", "pw", "driver_app")
            .await
            .unwrap_err();
        assert_eq!(refused.code.as_deref(), Some("invalid_credentials"));
        assert_eq!(served.load(std::sync::atomic::Ordering::SeqCst), 1);
    }
}
