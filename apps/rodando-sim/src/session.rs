//! One simulated user's live connection: the Socket.IO handshake with its access token, and
//! keeping that token fresh (`auth:refresh`, PROTOCOL §3) so runs longer than the token's life
//! are not cut off.

use std::time::Duration;

use rodando_sio_client::{ClientOptions, SioClient, connect};
use serde_json::json;
use tokio::time::Instant;

use crate::api::{Api, Tokens};
use crate::users::{Identity, Role};

/// Deadline of a handshake, up to `hello`.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);
/// Deadline of one ack.
pub const ACK_TIMEOUT: Duration = Duration::from_secs(10);
/// The token is refreshed when this share of its life has passed.
const REFRESH_AT_SHARE: f64 = 0.8;

/// Connects `identity` to its namespace and waits for `hello`.
///
/// # Errors
/// A refused, failed or timed-out handshake, naming the user.
pub async fn open(api: &Api, identity: &Identity, role: Role) -> Result<SioClient, String> {
    let options = ClientOptions {
        auth: Some(json!({ "token": identity.tokens.access })),
        connect_timeout: CONNECT_TIMEOUT,
        ..ClientOptions::default()
    };
    let mut client = connect(api.base(), role.namespace(), options)
        .await
        .map_err(|e| format!("{} on {}: {e}", identity.email, role.namespace()))?;
    client
        .expect_event("hello", CONNECT_TIMEOUT)
        .await
        .map_err(|e| format!("{}: no hello ({e})", identity.email))?;
    Ok(client)
}

/// The tokens of a connected user and when to refresh them.
#[derive(Debug)]
pub struct TokenKeeper {
    tokens: Tokens,
    refresh_at: Option<Instant>,
}

impl TokenKeeper {
    /// Keeps `tokens`, obtained just now.
    #[must_use]
    pub fn new(tokens: Tokens) -> Self {
        let refresh_at = Self::schedule(&tokens);
        Self { tokens, refresh_at }
    }

    fn schedule(tokens: &Tokens) -> Option<Instant> {
        let ttl = tokens.access_ttl?;
        Some(Instant::now() + ttl.mul_f64(REFRESH_AT_SHARE))
    }

    /// The current access token (Bearer for REST).
    #[must_use]
    pub fn access(&self) -> &str {
        &self.tokens.access
    }

    /// When the next refresh is due, if the lifetime is known.
    #[must_use]
    pub fn due(&self) -> Option<Instant> {
        self.refresh_at
    }

    /// Refreshes over REST and hands the new access token to the live socket, if due.
    ///
    /// # Errors
    /// When the refresh or the socket's `auth:refresh` is refused.
    pub async fn refresh_if_due(&mut self, api: &Api, client: &SioClient) -> Result<(), String> {
        if self.refresh_at.is_none_or(|at| Instant::now() < at) {
            return Ok(());
        }
        let tokens = api
            .refresh(&self.tokens.refresh)
            .await
            .map_err(|e| e.to_string())?;
        let reply = client
            .emit_with_ack(
                "auth:refresh",
                json!({ "accessToken": tokens.access }),
                ACK_TIMEOUT,
            )
            .await
            .map_err(|e| format!("auth:refresh: {e}"))?;
        if reply["ok"] != true {
            return Err(format!("auth:refresh refused: {reply}"));
        }
        self.refresh_at = Self::schedule(&tokens);
        self.tokens = tokens;
        Ok(())
    }
}
