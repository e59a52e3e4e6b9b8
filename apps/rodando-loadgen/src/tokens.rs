//! Access tokens for the simulated sockets: from the server's REST login (the tool kit's client),
//! from a file of an earlier run's logins, or minted locally (the tool kit's minter, i.e.
//! adapter-jwt).

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rodando_domain::user::UserType;
use rodando_toolkit::api::Api;
use rodando_toolkit::mint::Minter;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::Args;

/// Driver logins in flight at once (`--driver-users`).
const LOGIN_CONCURRENCY: usize = 8;
/// Deadline of one login (many at once each cost the server a password hash).
const LOGIN_TIMEOUT: Duration = Duration::from_secs(30);

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

impl From<rodando_toolkit::api::Tokens> for Identity {
    fn from(t: rodando_toolkit::api::Tokens) -> Self {
        Self {
            token: t.access,
            expires_at: t.access_expires_at,
        }
    }
}

impl From<rodando_ports::tokens::SignedToken> for Identity {
    fn from(t: rodando_ports::tokens::SignedToken) -> Self {
        Self {
            token: t.token,
            expires_at: Some(t.expires_at),
        }
    }
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

/// The sockets' tokens and where they came from.
pub struct Tokens {
    pub drivers: Vec<Identity>,
    /// One per admin socket.
    pub admins: Vec<Identity>,
    /// `login`, `login-cached` or `secret`.
    pub mode: &'static str,
    /// Distinct driver users.
    pub identities: usize,
}

/// `users` spread over `sockets` round-robin.
fn round_robin(users: &[Identity], sockets: usize) -> Vec<Identity> {
    (0..sockets)
        .filter_map(|i| users.get(i % users.len().max(1)).cloned())
        .collect()
}

/// The tokens of every socket, from the source the arguments choose.
pub async fn tokens_for(args: &Args) -> Result<Tokens, String> {
    if let Some(secret) = &args.secret {
        let ttl = Duration::from_secs_f64(args.warmup + args.duration) + Duration::from_secs(3600);
        let minter = Minter::new(secret, &args.issuer, ttl).map_err(|e| e.to_string())?;
        let mint = |user_type| {
            minter
                .mint(user_type)
                .map(Identity::from)
                .map_err(|e| e.to_string())
        };
        let users = (0..args.driver_users.min(args.drivers))
            .map(|_| mint(UserType::Driver))
            .collect::<Result<Vec<_>, _>>()?;
        let admins = (0..args.admins)
            .map(|_| mint(UserType::Admin))
            .collect::<Result<Vec<_>, _>>()?;
        return Ok(Tokens {
            drivers: round_robin(&users, args.drivers),
            admins,
            mode: "secret",
            identities: users.len(),
        });
    }
    let cached = match &args.tokens_file {
        Some(path) => TokenFile::load(path).map_err(|e| e.to_string())?,
        None => None,
    };
    if let (Some(path), Some(file)) = (&args.tokens_file, cached) {
        match file.fits(&args.url, args.driver_users, args.admins > 0) {
            Ok(()) => {
                let users: Vec<Identity> = file
                    .drivers
                    .into_iter()
                    .take(args.driver_users)
                    .map(Identity::from)
                    .collect();
                let admin = file.admin.map(Identity::from);
                eprintln!(
                    "rodando-loadgen: {} driver tokens read from {}",
                    users.len(),
                    path.display()
                );
                return Ok(Tokens {
                    drivers: round_robin(&users, args.drivers),
                    admins: admin.map(|a| vec![a; args.admins]).unwrap_or_default(),
                    mode: "login-cached",
                    identities: users.len(),
                });
            }
            Err(why) => eprintln!(
                "rodando-loadgen: {} does not fit this run ({why}); logging in",
                path.display()
            ),
        }
    }
    let (users, admin) = login_all(args).await?;
    if let Some(path) = &args.tokens_file {
        let file = TokenFile {
            url: args.url.clone(),
            drivers: users.iter().map(StoredToken::from).collect(),
            admin: admin.as_ref().map(StoredToken::from),
        };
        file.save(path).map_err(|e| e.to_string())?;
    }
    Ok(Tokens {
        drivers: round_robin(&users, args.drivers),
        admins: admin.map(|a| vec![a; args.admins]).unwrap_or_default(),
        mode: "login",
        identities: users.len(),
    })
}

/// Logs every driver user in (a few at a time: each costs the server a password hash) and the
/// admin if admins are wanted.
async fn login_all(args: &Args) -> Result<(Vec<Identity>, Option<Identity>), String> {
    let api = Api::with_timeout(&args.url, LOGIN_TIMEOUT).map_err(|e| e.to_string())?;
    let started = Instant::now();
    let limit = Arc::new(Semaphore::new(LOGIN_CONCURRENCY));
    let mut logins = JoinSet::new();
    for n in 1..=args.driver_users {
        let email = args.driver_email.replace("{i}", &n.to_string());
        let (api, password, limit) = (api.clone(), args.password.clone(), Arc::clone(&limit));
        logins.spawn(async move {
            let _permit = limit.acquire_owned().await;
            let identity = api.login(&email, &password, "driver_app").await;
            (n, identity.map(Identity::from))
        });
    }
    let mut users = Vec::with_capacity(args.driver_users);
    while let Some(joined) = logins.join_next().await {
        let (n, identity) = joined.map_err(|e| format!("login task failed: {e}"))?;
        users.push((n, identity.map_err(|e| e.to_string())?));
    }
    users.sort_by_key(|(n, _)| *n);
    let users: Vec<Identity> = users.into_iter().map(|(_, identity)| identity).collect();
    let admin = if args.admins == 0 {
        None
    } else {
        Some(
            api.login(&args.admin_email, &args.password, "admin_panel")
                .await
                .map(Identity::from)
                .map_err(|e| e.to_string())?,
        )
    };
    eprintln!(
        "rodando-loadgen: {} logins in {:.1} s",
        users.len() + usize::from(admin.is_some()),
        started.elapsed().as_secs_f64()
    );
    Ok((users, admin))
}

/// Warns when a token would expire before the run ends (the server then disconnects it).
pub fn check_expiry<'a>(identities: impl IntoIterator<Item = &'a Identity>, run_for: Duration) {
    let end = OffsetDateTime::now_utc() + run_for;
    if identities
        .into_iter()
        .any(|i| i.expires_at.is_some_and(|exp| exp < end))
    {
        eprintln!(
            "rodando-loadgen: warning: access tokens expire before the run ends; the server will \
             disconnect those sockets (raise JWT_ACCESS_TTL or shorten the run)"
        );
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

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
