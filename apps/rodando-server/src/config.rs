//! Configuration from the environment (PROTOCOL §1): typed, validated at start, and every
//! problem reported as one line naming the variable.

use std::num::NonZeroU32;
use std::time::Duration;

use secrecy::SecretString;

/// Development JWT secrets: fine on a laptop, refused in production.
pub const DEV_ACCESS_SECRET: &str = "dev-access-secret-change-me";
/// See [`DEV_ACCESS_SECRET`].
pub const DEV_REFRESH_SECRET: &str = "dev-refresh-secret-change-me";

/// A bad variable: `invalid PORT: must be an integer from 0 to 65535 (got "abc")`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {variable}: {reason}")]
pub struct ConfigError {
    /// The variable.
    pub variable: &'static str,
    /// What is wrong with it.
    pub reason: String,
}

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable, coloured.
    Pretty,
    /// One JSON object per line.
    Json,
}

/// Allowed browser origins for REST and Socket.IO.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CorsOrigins {
    /// `*`: any origin (echoed back, so credentials work).
    Any,
    /// Exactly these origins.
    List(Vec<String>),
}

/// Everything the server reads from the environment.
#[derive(Debug, Clone)]
pub struct Config {
    /// `HOST`.
    pub host: String,
    /// `PORT` (0 picks a free port).
    pub port: u16,
    /// `DATABASE_URL`; `None` selects the embedded store.
    pub database_url: Option<SecretString>,
    /// `DATABASE_MAX_CONNECTIONS`.
    pub database_max_connections: u32,
    /// `REDIS_URL` and `REDIS_CHANNEL_PREFIX`; `None` runs a single node.
    pub redis: Option<crate::realtime::RedisSettings>,
    /// `JWT_ACCESS_SECRET`.
    pub jwt_access_secret: SecretString,
    /// `JWT_REFRESH_SECRET`.
    pub jwt_refresh_secret: SecretString,
    /// Whether the development secrets are in use (warned about loudly).
    pub dev_secrets: bool,
    /// `JWT_ISSUER`.
    pub jwt_issuer: String,
    /// `JWT_ACCESS_TTL`.
    pub jwt_access_ttl: Duration,
    /// `JWT_REFRESH_TTL`.
    pub jwt_refresh_ttl: Duration,
    /// `WS_CORS_ORIGIN`.
    pub cors_origins: CorsOrigins,
    /// `WS_PING_INTERVAL`.
    pub ws_ping_interval: Duration,
    /// `WS_PING_TIMEOUT`.
    pub ws_ping_timeout: Duration,
    /// `DA_PRESENCE_TTL_SEC`.
    pub presence_ttl: Duration,
    /// `DA_SWEEP_INTERVAL_SEC`.
    pub sweep_interval: Duration,
    /// `DA_SWEEP_BATCH`.
    pub sweep_batch: usize,
    /// `RATE_LIMIT_EVENTS_PER_SEC`.
    pub rate_limit_per_sec: NonZeroU32,
    /// `RATE_LIMIT_BURST`.
    pub rate_limit_burst: NonZeroU32,
    /// `MAX_CONNECTIONS_PER_USER`.
    pub max_connections_per_user: usize,
    /// `DISPATCH_RADIUS_M`, `DISPATCH_OFFER_TTL_SEC`, `DISPATCH_MAX_OFFERS`,
    /// `DISPATCH_TIMEOUT_SEC`.
    pub dispatch: rodando_domain::dispatch::DispatchPolicy,
    /// `FARE_BASE`, `FARE_PER_KM`, `FARE_PER_MIN`, `FARE_MINIMUM`, `FARE_CURRENCY`.
    pub fares: rodando_domain::fare::FareConfig,
    /// `LOG_FORMAT`.
    pub log_format: LogFormat,
    /// `SEED_DEMO` (default true): seed the embedded store with the demo users.
    pub seed_demo: bool,
    /// `SEED_DEMO_DRIVERS` (default 0): extra demo drivers `driver4@…` onwards, for
    /// simulations and load tests.
    pub seed_demo_drivers: usize,
    /// `SEED_DEMO_PASSENGERS` (default 0): extra demo passengers `passenger3@…` onwards.
    pub seed_demo_passengers: usize,
    /// `DASHBOARD_TILE_URL` (default OpenStreetMap's standard tiles): the dashboard map's tiles.
    pub dashboard_tiles: rodando_dashboard::Tiles,
}

impl Config {
    /// Reads the process environment.
    ///
    /// # Errors
    /// The first bad variable.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Reads variables through `get` (tests pass a map).
    ///
    /// # Errors
    /// The first bad variable.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let var = |name: &str| {
            get(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let production = match var("RODANDO_ENV").as_deref() {
            None | Some("development" | "dev" | "test") => false,
            Some("production" | "prod") => true,
            Some(other) => {
                return Err(err(
                    "RODANDO_ENV",
                    format!("must be development or production (got {other:?})"),
                ));
            }
        };
        let access = var("JWT_ACCESS_SECRET");
        let refresh = var("JWT_REFRESH_SECRET");
        let dev_secrets = access.is_none() || refresh.is_none();
        let access = access.unwrap_or_else(|| DEV_ACCESS_SECRET.to_owned());
        let refresh = refresh.unwrap_or_else(|| DEV_REFRESH_SECRET.to_owned());
        if production
            && (dev_secrets || access == DEV_ACCESS_SECRET || refresh == DEV_REFRESH_SECRET)
        {
            return Err(err(
                "JWT_ACCESS_SECRET",
                "the development secrets are refused when RODANDO_ENV=production; set both JWT secrets",
            ));
        }
        if access == refresh {
            return Err(err(
                "JWT_REFRESH_SECRET",
                "must differ from JWT_ACCESS_SECRET",
            ));
        }
        if production && (access.len() < 32 || refresh.len() < 32) {
            return Err(err(
                "JWT_ACCESS_SECRET",
                "production secrets must be at least 32 characters",
            ));
        }
        if production {
            production_guards(&var)?;
        }
        Ok(Self {
            host: var("HOST").unwrap_or_else(|| "0.0.0.0".to_owned()),
            port: parse(&var, "PORT", 3000, "an integer from 0 to 65535")?,
            database_url: var("DATABASE_URL").map(SecretString::from),
            database_max_connections: positive(&var, "DATABASE_MAX_CONNECTIONS", 20)?,
            redis: var("REDIS_URL").map(|url| crate::realtime::RedisSettings {
                url: SecretString::from(url),
                channel_prefix: var("REDIS_CHANNEL_PREFIX").unwrap_or_else(|| "rodando".to_owned()),
            }),
            jwt_access_secret: access.into(),
            jwt_refresh_secret: refresh.into(),
            dev_secrets,
            jwt_issuer: var("JWT_ISSUER").unwrap_or_else(|| "rodando".to_owned()),
            jwt_access_ttl: duration(&var, "JWT_ACCESS_TTL", "15m")?,
            jwt_refresh_ttl: duration(&var, "JWT_REFRESH_TTL", "7d")?,
            cors_origins: cors(var("WS_CORS_ORIGIN"))?,
            ws_ping_interval: duration(&var, "WS_PING_INTERVAL", "25s")?,
            ws_ping_timeout: duration(&var, "WS_PING_TIMEOUT", "20s")?,
            presence_ttl: Duration::from_secs(positive(&var, "DA_PRESENCE_TTL_SEC", 120)?),
            sweep_interval: Duration::from_secs(positive(&var, "DA_SWEEP_INTERVAL_SEC", 15)?),
            sweep_batch: positive(&var, "DA_SWEEP_BATCH", 1000)?,
            rate_limit_per_sec: non_zero(&var, "RATE_LIMIT_EVENTS_PER_SEC", 20)?,
            rate_limit_burst: non_zero(&var, "RATE_LIMIT_BURST", 40)?,
            max_connections_per_user: positive(&var, "MAX_CONNECTIONS_PER_USER", 5)?,
            dispatch: rodando_domain::dispatch::DispatchPolicy {
                radius_m: amount(&var, "DISPATCH_RADIUS_M", 5000.0)?,
                offer_ttl: time::Duration::seconds(positive(
                    &var,
                    "DISPATCH_OFFER_TTL_SEC",
                    20_i64,
                )?),
                max_offers: positive(&var, "DISPATCH_MAX_OFFERS", 5)?,
                assign_timeout: time::Duration::seconds(positive(
                    &var,
                    "DISPATCH_TIMEOUT_SEC",
                    120_i64,
                )?),
            },
            fares: fares(&var)?,
            log_format: match var("LOG_FORMAT").as_deref() {
                None | Some("pretty") => LogFormat::Pretty,
                Some("json") => LogFormat::Json,
                Some(other) => {
                    return Err(err(
                        "LOG_FORMAT",
                        format!("must be pretty or json (got {other:?})"),
                    ));
                }
            },
            seed_demo_drivers: parse(&var, "SEED_DEMO_DRIVERS", 0, "a count of drivers")?,
            seed_demo_passengers: parse(&var, "SEED_DEMO_PASSENGERS", 0, "a count of passengers")?,
            dashboard_tiles: match var("DASHBOARD_TILE_URL") {
                None => rodando_dashboard::Tiles::default(),
                Some(url) => rodando_dashboard::Tiles::parse(&url)
                    .map_err(|e| err("DASHBOARD_TILE_URL", format!("{e} (got {url:?})")))?,
            },
            seed_demo: match var("SEED_DEMO").as_deref() {
                None | Some("true" | "1" | "yes") => true,
                Some("false" | "0" | "no") => false,
                Some(other) => {
                    return Err(err(
                        "SEED_DEMO",
                        format!("must be true or false (got {other:?})"),
                    ));
                }
            },
        })
    }
}

/// What `RODANDO_ENV=production` refuses besides the development secrets: the embedded store
/// unless `SEED_DEMO=false` says explicitly that no demo users (known password) are wanted, and
/// CORS open to every origin (also the default when `WS_CORS_ORIGIN` is unset).
fn production_guards(var: &impl Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
    if var("DATABASE_URL").is_none()
        && !matches!(var("SEED_DEMO").as_deref(), Some("false" | "0" | "no"))
    {
        return Err(err(
            "SEED_DEMO",
            "RODANDO_ENV=production without DATABASE_URL would seed demo users with a known password; set DATABASE_URL, or SEED_DEMO=false to run the embedded store empty",
        ));
    }
    if matches!(var("WS_CORS_ORIGIN").as_deref(), None | Some("*")) {
        return Err(err(
            "WS_CORS_ORIGIN",
            "must list the allowed origins when RODANDO_ENV=production (* is refused)",
        ));
    }
    Ok(())
}

fn err(variable: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError {
        variable,
        reason: reason.into(),
    }
}

fn parse<T: std::str::FromStr>(
    var: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: T,
    expected: &str,
) -> Result<T, ConfigError> {
    match var(name) {
        None => Ok(default),
        Some(v) => v
            .parse()
            .map_err(|_| err(name, format!("must be {expected} (got {v:?})"))),
    }
}

fn positive<T>(
    var: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: T,
) -> Result<T, ConfigError>
where
    T: std::str::FromStr + PartialOrd + Default,
{
    let v = parse(var, name, default, "a positive integer")?;
    if v > T::default() {
        Ok(v)
    } else {
        Err(err(name, "must be a positive integer (got 0)"))
    }
}

fn non_zero(
    var: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: u32,
) -> Result<NonZeroU32, ConfigError> {
    let v: u32 = positive(var, name, default)?;
    NonZeroU32::new(v).ok_or_else(|| err(name, "must be a positive integer"))
}

fn duration(
    var: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: &str,
) -> Result<Duration, ConfigError> {
    let raw = var(name).unwrap_or_else(|| default.to_owned());
    let d = humantime::parse_duration(&raw).map_err(|e| {
        err(
            name,
            format!("must be a duration such as 15m or 30s ({e}; got {raw:?})"),
        )
    })?;
    if d.is_zero() {
        return Err(err(name, "must be longer than zero"));
    }
    Ok(d)
}

/// A non-negative finite decimal.
fn amount(
    var: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: f64,
) -> Result<f64, ConfigError> {
    let v: f64 = parse(var, name, default, "a number")?;
    if v.is_finite() && v >= 0.0 {
        Ok(v)
    } else {
        Err(err(
            name,
            format!("must be a number of at least 0 (got {v})"),
        ))
    }
}

fn fares(
    var: &impl Fn(&str) -> Option<String>,
) -> Result<rodando_domain::fare::FareConfig, ConfigError> {
    use rodando_domain::fare::{Cents, Currency, FareConfig};
    let d = FareConfig::default();
    let currency = match var("FARE_CURRENCY") {
        None => d.currency,
        Some(c) => {
            Currency::parse(&c).map_err(|e| err("FARE_CURRENCY", format!("{e} (got {c:?})")))?
        }
    };
    Ok(FareConfig {
        base: Cents::from_units(amount(var, "FARE_BASE", d.base.units())?),
        per_km: Cents::from_units(amount(var, "FARE_PER_KM", d.per_km.units())?),
        per_min: Cents::from_units(amount(var, "FARE_PER_MIN", d.per_min.units())?),
        minimum: Cents::from_units(amount(var, "FARE_MINIMUM", d.minimum.units())?),
        currency,
    })
}

fn cors(raw: Option<String>) -> Result<CorsOrigins, ConfigError> {
    match raw.as_deref() {
        None | Some("*") => Ok(CorsOrigins::Any),
        Some(list) => {
            let origins: Vec<String> = list
                .split(',')
                .map(|o| o.trim().trim_end_matches('/').to_owned())
                .filter(|o| !o.is_empty())
                .collect();
            if let Some(bad) = origins.iter().find(|o| {
                !(o.starts_with("http://") || o.starts_with("https://"))
                    || o.chars().any(char::is_whitespace)
            }) {
                return Err(err(
                    "WS_CORS_ORIGIN",
                    format!("each origin must look like https://app.example.com (got {bad:?})"),
                ));
            }
            Ok(CorsOrigins::List(origins))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect();
        Config::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn redis_url_selects_shared_rooms_with_a_default_channel_prefix() {
        let c = config(&[("REDIS_URL", "redis://127.0.0.1:6379")]).unwrap();
        assert_eq!(c.redis.unwrap().channel_prefix, "rodando");
        let c = config(&[
            ("REDIS_URL", "redis://127.0.0.1:6379"),
            ("REDIS_CHANNEL_PREFIX", "eu-west"),
        ])
        .unwrap();
        assert_eq!(c.redis.unwrap().channel_prefix, "eu-west");
    }

    #[test]
    fn defaults_follow_the_protocol() {
        let c = config(&[]).unwrap();
        assert_eq!(c.port, 3000);
        assert!(c.dev_secrets);
        assert!(c.database_url.is_none());
        assert!(c.redis.is_none(), "one node unless REDIS_URL is set");
        assert_eq!(c.jwt_access_ttl, Duration::from_secs(15 * 60));
        assert_eq!(c.jwt_refresh_ttl, Duration::from_secs(7 * 24 * 3600));
        assert_eq!(c.cors_origins, CorsOrigins::Any);
        assert_eq!(c.presence_ttl, Duration::from_secs(120));
        assert_eq!(
            (c.rate_limit_per_sec.get(), c.rate_limit_burst.get()),
            (20, 40)
        );
        assert_eq!(c.max_connections_per_user, 5);
    }

    #[test]
    fn each_bad_variable_is_named() {
        for (vars, variable) in [
            (vec![("PORT", "abc")], "PORT"),
            (vec![("PORT", "70000")], "PORT"),
            (vec![("JWT_ACCESS_TTL", "soon")], "JWT_ACCESS_TTL"),
            (vec![("JWT_ACCESS_TTL", "0s")], "JWT_ACCESS_TTL"),
            (vec![("DA_SWEEP_BATCH", "0")], "DA_SWEEP_BATCH"),
            (
                vec![("MAX_CONNECTIONS_PER_USER", "-1")],
                "MAX_CONNECTIONS_PER_USER",
            ),
            (vec![("LOG_FORMAT", "xml")], "LOG_FORMAT"),
            (vec![("WS_CORS_ORIGIN", "example.com")], "WS_CORS_ORIGIN"),
            (
                vec![
                    ("JWT_ACCESS_SECRET", "same"),
                    ("JWT_REFRESH_SECRET", "same"),
                ],
                "JWT_REFRESH_SECRET",
            ),
            (vec![("RODANDO_ENV", "production")], "JWT_ACCESS_SECRET"),
            (vec![("RODANDO_ENV", "staging")], "RODANDO_ENV"),
            (vec![("DISPATCH_MAX_OFFERS", "0")], "DISPATCH_MAX_OFFERS"),
            (vec![("DISPATCH_TIMEOUT_SEC", "0")], "DISPATCH_TIMEOUT_SEC"),
            (
                vec![("DISPATCH_TIMEOUT_SEC", "soon")],
                "DISPATCH_TIMEOUT_SEC",
            ),
            (vec![("DISPATCH_RADIUS_M", "-5")], "DISPATCH_RADIUS_M"),
            (vec![("FARE_CURRENCY", "pesos")], "FARE_CURRENCY"),
            (vec![("FARE_BASE", "NaN")], "FARE_BASE"),
            (
                vec![("DASHBOARD_TILE_URL", "tiles.example.com")],
                "DASHBOARD_TILE_URL",
            ),
        ] {
            let e = config(&vars).unwrap_err();
            assert_eq!(e.variable, variable, "{vars:?}");
            assert!(!e.to_string().contains('\n'));
        }
    }

    #[test]
    fn production_accepts_real_secrets() {
        let a = "a".repeat(40);
        let b = "b".repeat(40);
        let c = config(&[
            ("RODANDO_ENV", "production"),
            ("JWT_ACCESS_SECRET", &a),
            ("JWT_REFRESH_SECRET", &b),
            ("DATABASE_URL", "postgres://db.example.com/rodando"),
            (
                "WS_CORS_ORIGIN",
                "https://ops.example.com, https://app.example.com/",
            ),
        ])
        .unwrap();
        assert!(!c.dev_secrets);
        assert_eq!(
            c.cors_origins,
            CorsOrigins::List(vec![
                "https://ops.example.com".into(),
                "https://app.example.com".into()
            ])
        );
    }

    #[test]
    fn production_refuses_demo_users_and_any_origin() {
        let a = "a".repeat(40);
        let b = "b".repeat(40);
        let base = [
            ("RODANDO_ENV", "production"),
            ("JWT_ACCESS_SECRET", a.as_str()),
            ("JWT_REFRESH_SECRET", b.as_str()),
        ];
        let with = |extra: &[(&'static str, &'static str)]| {
            let mut vars = base.to_vec();
            vars.extend_from_slice(extra);
            config(&vars)
        };
        let origin = ("WS_CORS_ORIGIN", "https://ops.example.com");
        for (extra, variable) in [
            (vec![origin], "SEED_DEMO"),
            (vec![origin, ("SEED_DEMO", "true")], "SEED_DEMO"),
            (vec![("SEED_DEMO", "false")], "WS_CORS_ORIGIN"),
            (
                vec![("SEED_DEMO", "false"), ("WS_CORS_ORIGIN", "*")],
                "WS_CORS_ORIGIN",
            ),
        ] {
            let e = with(&extra).unwrap_err();
            assert_eq!(e.variable, variable, "{extra:?}: {e}");
            assert!(!e.to_string().contains('\n'));
        }
        let c = with(&[origin, ("SEED_DEMO", "false")]).unwrap();
        assert!(c.database_url.is_none() && !c.seed_demo);
        assert!(with(&[origin, ("DATABASE_URL", "postgres://db/rodando")]).is_ok());
        // Development keeps its conveniences.
        assert!(config(&[]).unwrap().seed_demo);
    }
}
