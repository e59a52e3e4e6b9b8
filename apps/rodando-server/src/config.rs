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
    pub variable: String,
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
    /// `DATABASE_POSITION_FLUSH`: how often location pings are written behind to PostgreSQL
    /// (docs/positions.md).
    pub position_flush_interval: Duration,
    /// `DATABASE_POSITION_BUFFER`: drivers whose pings a node holds in memory at most; pings
    /// of further drivers are written at once (0 turns the write-behind off).
    pub position_buffer_drivers: usize,
    /// `REDIS_URL`, `REDIS_CHANNEL_PREFIX` and `CLUSTER_NODE_TTL`; `None` runs a single node.
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
    /// `JWT_REFRESH_REUSE_GRACE` (default 10s, `0s` turns it off): the refresh token a rotation
    /// replaced still answers that rotation's pair this long, for clients retrying a refresh
    /// whose answer was lost; later it revokes the session as reuse.
    pub jwt_refresh_reuse_grace: Duration,
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

/// The variables, one field each, named after the variable (`port` is `PORT`): clap's `env`
/// declares them, its value parsers check them (each refusal is the one-line reason of
/// [`ConfigError`]), its defaults fill the unset ones. What depends on several variables (the
/// secrets, the production guards) is checked after parsing, in [`Config::from_lookup`].
#[derive(Debug, clap::Parser)]
#[command(name = "rodando-server", no_binary_name = true)]
struct Vars {
    #[arg(long, env, action = clap::ArgAction::Set, default_value = "development", value_parser = environment)]
    rodando_env: bool,
    #[arg(long, env, default_value = "0.0.0.0")]
    host: String,
    #[arg(long, env, default_value = "3000", value_parser = number::<u16>("an integer from 0 to 65535"))]
    port: u16,
    #[arg(long, env)]
    database_url: Option<String>,
    #[arg(long, env, default_value = "20", value_parser = positive::<u32>)]
    database_max_connections: u32,
    #[arg(long, env, default_value = "250ms", value_parser = duration)]
    database_position_flush: Duration,
    #[arg(long, env, default_value = "100000", value_parser = number::<usize>("a number of drivers"))]
    database_position_buffer: usize,
    #[arg(long, env)]
    redis_url: Option<String>,
    #[arg(long, env, default_value = "rodando")]
    redis_channel_prefix: String,
    #[arg(long, env, default_value = "30s", value_parser = duration)]
    cluster_node_ttl: Duration,
    #[arg(long, env)]
    jwt_access_secret: Option<String>,
    #[arg(long, env)]
    jwt_refresh_secret: Option<String>,
    #[arg(long, env, default_value = "rodando")]
    jwt_issuer: String,
    #[arg(long, env, default_value = "15m", value_parser = duration)]
    jwt_access_ttl: Duration,
    #[arg(long, env, default_value = "7d", value_parser = duration)]
    jwt_refresh_ttl: Duration,
    #[arg(long, env, default_value = "10s", value_parser = grace)]
    jwt_refresh_reuse_grace: Duration,
    #[arg(long, env, default_value = "*", value_parser = cors)]
    ws_cors_origin: CorsOrigins,
    #[arg(long, env, default_value = "25s", value_parser = duration)]
    ws_ping_interval: Duration,
    #[arg(long, env, default_value = "20s", value_parser = duration)]
    ws_ping_timeout: Duration,
    #[arg(long, env, default_value = "120", value_parser = positive::<u64>)]
    da_presence_ttl_sec: u64,
    #[arg(long, env, default_value = "15", value_parser = positive::<u64>)]
    da_sweep_interval_sec: u64,
    #[arg(long, env, default_value = "1000", value_parser = positive::<usize>)]
    da_sweep_batch: usize,
    #[arg(long, env, default_value = "20", value_parser = non_zero)]
    rate_limit_events_per_sec: NonZeroU32,
    #[arg(long, env, default_value = "40", value_parser = non_zero)]
    rate_limit_burst: NonZeroU32,
    #[arg(long, env, default_value = "5", value_parser = positive::<usize>)]
    max_connections_per_user: usize,
    #[arg(long, env, default_value = "5000", value_parser = amount)]
    dispatch_radius_m: f64,
    #[arg(long, env, default_value = "20", value_parser = positive::<i64>)]
    dispatch_offer_ttl_sec: i64,
    #[arg(long, env, default_value = "5", value_parser = positive::<u32>)]
    dispatch_max_offers: u32,
    #[arg(long, env, default_value = "120", value_parser = positive::<i64>)]
    dispatch_timeout_sec: i64,
    /// The fares' defaults are the domain's ([`rodando_domain::fare::FareConfig::default`]).
    #[arg(long, env, value_parser = amount)]
    fare_base: Option<f64>,
    #[arg(long, env, value_parser = amount)]
    fare_per_km: Option<f64>,
    #[arg(long, env, value_parser = amount)]
    fare_per_min: Option<f64>,
    #[arg(long, env, value_parser = amount)]
    fare_minimum: Option<f64>,
    #[arg(long, env, value_parser = currency)]
    fare_currency: Option<rodando_domain::fare::Currency>,
    #[arg(long, env, default_value = "pretty", value_parser = log_format)]
    log_format: LogFormat,
    #[arg(long, env, action = clap::ArgAction::Set, default_value = "true", value_parser = yes_no)]
    seed_demo: bool,
    #[arg(long, env, default_value = "0", value_parser = number::<usize>("a count of drivers"))]
    seed_demo_drivers: usize,
    #[arg(long, env, default_value = "0", value_parser = number::<usize>("a count of passengers"))]
    seed_demo_passengers: usize,
    #[arg(long, env, value_parser = tiles)]
    dashboard_tile_url: Option<rodando_dashboard::Tiles>,
}

impl Config {
    /// Reads the process environment.
    ///
    /// # Errors
    /// The first bad variable.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Reads variables through `get` (tests pass a map). Values are trimmed; an empty one counts
    /// as unset.
    ///
    /// # Errors
    /// The first bad variable.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let mut v = Vars::parse_lookup(get)?;
        let production = v.rodando_env;
        let dev_secrets = v.jwt_access_secret.is_none() || v.jwt_refresh_secret.is_none();
        let access = v
            .jwt_access_secret
            .take()
            .unwrap_or_else(|| DEV_ACCESS_SECRET.to_owned());
        let refresh = v
            .jwt_refresh_secret
            .take()
            .unwrap_or_else(|| DEV_REFRESH_SECRET.to_owned());
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
            production_guards(&v)?;
        }
        let fares = rodando_domain::fare::FareConfig::default();
        let cents = |v: Option<f64>, default: rodando_domain::fare::Cents| {
            v.map_or(default, rodando_domain::fare::Cents::from_units)
        };
        Ok(Self {
            host: v.host,
            port: v.port,
            database_url: v.database_url.map(SecretString::from),
            database_max_connections: v.database_max_connections,
            position_flush_interval: v.database_position_flush,
            position_buffer_drivers: v.database_position_buffer,
            redis: v.redis_url.map(|url| crate::realtime::RedisSettings {
                url: SecretString::from(url),
                channel_prefix: v.redis_channel_prefix,
                node_ttl: v.cluster_node_ttl,
            }),
            jwt_access_secret: access.into(),
            jwt_refresh_secret: refresh.into(),
            dev_secrets,
            jwt_issuer: v.jwt_issuer,
            jwt_access_ttl: v.jwt_access_ttl,
            jwt_refresh_ttl: v.jwt_refresh_ttl,
            jwt_refresh_reuse_grace: v.jwt_refresh_reuse_grace,
            cors_origins: v.ws_cors_origin,
            ws_ping_interval: v.ws_ping_interval,
            ws_ping_timeout: v.ws_ping_timeout,
            presence_ttl: Duration::from_secs(v.da_presence_ttl_sec),
            sweep_interval: Duration::from_secs(v.da_sweep_interval_sec),
            sweep_batch: v.da_sweep_batch,
            rate_limit_per_sec: v.rate_limit_events_per_sec,
            rate_limit_burst: v.rate_limit_burst,
            max_connections_per_user: v.max_connections_per_user,
            dispatch: rodando_domain::dispatch::DispatchPolicy {
                radius_m: v.dispatch_radius_m,
                offer_ttl: time::Duration::seconds(v.dispatch_offer_ttl_sec),
                max_offers: v.dispatch_max_offers,
                assign_timeout: time::Duration::seconds(v.dispatch_timeout_sec),
            },
            fares: rodando_domain::fare::FareConfig {
                base: cents(v.fare_base, fares.base),
                per_km: cents(v.fare_per_km, fares.per_km),
                per_min: cents(v.fare_per_min, fares.per_min),
                minimum: cents(v.fare_minimum, fares.minimum),
                currency: v.fare_currency.unwrap_or(fares.currency),
            },
            log_format: v.log_format,
            seed_demo: v.seed_demo,
            seed_demo_drivers: v.seed_demo_drivers,
            seed_demo_passengers: v.seed_demo_passengers,
            dashboard_tiles: v.dashboard_tile_url.unwrap_or_default(),
        })
    }
}

impl Vars {
    /// Parses the variables `get` answers. Each one set becomes its `--flag=value`, and clap's
    /// own reading of the process environment is turned off, so what a test passes is all there
    /// is.
    fn parse_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        use clap::{CommandFactory as _, FromArgMatches as _};
        let command = Self::command();
        let mut argv = Vec::new();
        for arg in command.get_arguments() {
            let (Some(name), Some(long)) = (arg.get_env(), arg.get_long()) else {
                continue;
            };
            let value = name.to_str().and_then(&get);
            if let Some(value) = value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty()) {
                argv.push(format!("--{long}={value}"));
            }
        }
        let command = command.mut_args(|arg| arg.env(None::<&str>));
        command
            .try_get_matches_from(argv)
            .and_then(|matches| Self::from_arg_matches(&matches))
            .map_err(|e| clap_error(&e))
    }
}

/// clap's error as ours: the variable (the flag, upper-cased) and our parser's reason.
fn clap_error(e: &clap::Error) -> ConfigError {
    use clap::error::{ContextKind, ContextValue};
    let variable = match e.get(ContextKind::InvalidArg) {
        Some(ContextValue::String(flag)) => flag
            .trim_start_matches('-')
            .split([' ', '='])
            .next()
            .unwrap_or_default()
            .to_uppercase()
            .replace('-', "_"),
        _ => "environment".to_owned(),
    };
    let reason = std::error::Error::source(e)
        .map_or_else(|| e.kind().to_string(), std::string::ToString::to_string);
    ConfigError { variable, reason }
}

/// What `RODANDO_ENV=production` refuses besides the development secrets: the embedded store
/// unless `SEED_DEMO=false` says explicitly that no demo users (known password) are wanted, and
/// CORS open to every origin (also the default when `WS_CORS_ORIGIN` is unset).
fn production_guards(v: &Vars) -> Result<(), ConfigError> {
    if v.database_url.is_none() && v.seed_demo {
        return Err(err(
            "SEED_DEMO",
            "RODANDO_ENV=production without DATABASE_URL would seed demo users with a known password; set DATABASE_URL, or SEED_DEMO=false to run the embedded store empty",
        ));
    }
    if v.ws_cors_origin == CorsOrigins::Any {
        return Err(err(
            "WS_CORS_ORIGIN",
            "must list the allowed origins when RODANDO_ENV=production (* is refused)",
        ));
    }
    Ok(())
}

fn err(variable: &str, reason: impl Into<String>) -> ConfigError {
    ConfigError {
        variable: variable.to_owned(),
        reason: reason.into(),
    }
}

/// `RODANDO_ENV`: whether this is production.
fn environment(v: &str) -> Result<bool, String> {
    match v {
        "development" | "dev" | "test" => Ok(false),
        "production" | "prod" => Ok(true),
        other => Err(format!("must be development or production (got {other:?})")),
    }
}

/// A number of type `T`, or "must be {expected}".
fn number<T: std::str::FromStr>(
    expected: &'static str,
) -> impl Fn(&str) -> Result<T, String> + Clone + Send + Sync + 'static {
    move |v| {
        v.parse()
            .map_err(|_| format!("must be {expected} (got {v:?})"))
    }
}

/// An integer above zero (`NonZeroU32` parses only those).
fn positive<T: std::str::FromStr + PartialOrd + Default>(v: &str) -> Result<T, String> {
    match v.parse::<T>() {
        Ok(n) if n > T::default() => Ok(n),
        Ok(_) => Err(format!("must be a positive integer (got {v})")),
        Err(_) => Err(format!("must be a positive integer (got {v:?})")),
    }
}

fn non_zero(v: &str) -> Result<NonZeroU32, String> {
    positive::<u32>(v)
        .and_then(|n| NonZeroU32::new(n).ok_or_else(|| "must be a positive integer".to_owned()))
}

fn duration(raw: &str) -> Result<Duration, String> {
    let d = humantime::parse_duration(raw)
        .map_err(|e| format!("must be a duration such as 15m or 30s ({e}; got {raw:?})"))?;
    if d.is_zero() {
        return Err("must be longer than zero".to_owned());
    }
    Ok(d)
}

/// `JWT_REFRESH_REUSE_GRACE`: a duration, zero allowed (`0` alone too).
fn grace(raw: &str) -> Result<Duration, String> {
    if raw == "0" {
        return Ok(Duration::ZERO);
    }
    humantime::parse_duration(raw)
        .map_err(|e| format!("must be a duration such as 10s, or 0s for none ({e}; got {raw:?})"))
}

/// A non-negative finite decimal.
fn amount(raw: &str) -> Result<f64, String> {
    let v: f64 = number::<f64>("a number")(raw)?;
    if v.is_finite() && v >= 0.0 {
        Ok(v)
    } else {
        Err(format!("must be a number of at least 0 (got {v})"))
    }
}

fn currency(c: &str) -> Result<rodando_domain::fare::Currency, String> {
    rodando_domain::fare::Currency::parse(c).map_err(|e| format!("{e} (got {c:?})"))
}

fn log_format(v: &str) -> Result<LogFormat, String> {
    match v {
        "pretty" => Ok(LogFormat::Pretty),
        "json" => Ok(LogFormat::Json),
        other => Err(format!("must be pretty or json (got {other:?})")),
    }
}

/// `SEED_DEMO`.
fn yes_no(v: &str) -> Result<bool, String> {
    match v {
        "true" | "1" | "yes" => Ok(true),
        "false" | "0" | "no" => Ok(false),
        other => Err(format!("must be true or false (got {other:?})")),
    }
}

fn tiles(url: &str) -> Result<rodando_dashboard::Tiles, String> {
    rodando_dashboard::Tiles::parse(url).map_err(|e| format!("{e} (got {url:?})"))
}

fn cors(list: &str) -> Result<CorsOrigins, String> {
    if list == "*" {
        return Ok(CorsOrigins::Any);
    }
    let origins: Vec<String> = list
        .split(',')
        .map(|o| o.trim().trim_end_matches('/').to_owned())
        .filter(|o| !o.is_empty())
        .collect();
    if let Some(bad) = origins.iter().find(|o| {
        !(o.starts_with("http://") || o.starts_with("https://"))
            || o.chars().any(char::is_whitespace)
    }) {
        return Err(format!(
            "each origin must look like https://app.example.com (got {bad:?})"
        ));
    }
    Ok(CorsOrigins::List(origins))
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
    fn a_node_heartbeat_lives_30s_unless_cluster_node_ttl_says_otherwise() {
        let c = config(&[("REDIS_URL", "redis://127.0.0.1:6379")]).unwrap();
        assert_eq!(c.redis.unwrap().node_ttl, Duration::from_secs(30));
        let c = config(&[
            ("REDIS_URL", "redis://127.0.0.1:6379"),
            ("CLUSTER_NODE_TTL", "3s"),
        ])
        .unwrap();
        assert_eq!(c.redis.unwrap().node_ttl, Duration::from_secs(3));
        assert!(
            config(&[
                ("REDIS_URL", "redis://127.0.0.1:6379"),
                ("CLUSTER_NODE_TTL", "0s"),
            ])
            .is_err()
        );
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
        assert_eq!(c.jwt_refresh_reuse_grace, Duration::from_secs(10));
        let off = config(&[("JWT_REFRESH_REUSE_GRACE", "0s")]).unwrap();
        assert_eq!(off.jwt_refresh_reuse_grace, Duration::ZERO);
        assert_eq!(
            config(&[("JWT_REFRESH_REUSE_GRACE", "soon")])
                .unwrap_err()
                .variable,
            "JWT_REFRESH_REUSE_GRACE"
        );
    }

    #[test]
    fn each_bad_variable_is_named() {
        let named = |vars: &[(&str, &str)], variable: &str| {
            let e = config(vars).unwrap_err();
            assert_eq!(e.variable, variable, "{vars:?}");
            assert!(!e.to_string().contains('\n'));
        };
        // One bad value: the answer names the variable set.
        for (variable, value) in [
            ("PORT", "abc"),
            ("PORT", "70000"),
            ("JWT_ACCESS_TTL", "soon"),
            ("JWT_ACCESS_TTL", "0s"),
            ("DA_SWEEP_BATCH", "0"),
            ("MAX_CONNECTIONS_PER_USER", "-1"),
            ("LOG_FORMAT", "xml"),
            ("WS_CORS_ORIGIN", "example.com"),
            ("RODANDO_ENV", "staging"),
            ("DISPATCH_MAX_OFFERS", "0"),
            ("DISPATCH_TIMEOUT_SEC", "0"),
            ("DISPATCH_TIMEOUT_SEC", "soon"),
            ("DISPATCH_RADIUS_M", "-5"),
            ("FARE_CURRENCY", "pesos"),
            ("FARE_BASE", "NaN"),
            ("DASHBOARD_TILE_URL", "tiles.example.com"),
        ] {
            named(&[(variable, value)], variable);
        }
        // Values fine alone but not together: the answer names the one to change.
        named(
            &[
                ("JWT_ACCESS_SECRET", "same"),
                ("JWT_REFRESH_SECRET", "same"),
            ],
            "JWT_REFRESH_SECRET",
        );
        named(&[("RODANDO_ENV", "production")], "JWT_ACCESS_SECRET");
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
    fn the_messages_are_the_one_liners_they_were() {
        for (vars, line) in [
            (
                vec![("PORT", "abc")],
                r#"invalid PORT: must be an integer from 0 to 65535 (got "abc")"#,
            ),
            (
                vec![("DA_SWEEP_BATCH", " 0 ")],
                "invalid DA_SWEEP_BATCH: must be a positive integer (got 0)",
            ),
            (
                vec![("LOG_FORMAT", "xml")],
                r#"invalid LOG_FORMAT: must be pretty or json (got "xml")"#,
            ),
            (
                vec![("DISPATCH_RADIUS_M", "-5")],
                "invalid DISPATCH_RADIUS_M: must be a number of at least 0 (got -5)",
            ),
        ] {
            assert_eq!(config(&vars).unwrap_err().to_string(), line);
        }
        // Empty counts as unset; only the lookup is read, never the process environment.
        assert_eq!(config(&[("PORT", "  ")]).unwrap().port, 3000);
        assert!(config(&[]).unwrap().database_url.is_none());
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
