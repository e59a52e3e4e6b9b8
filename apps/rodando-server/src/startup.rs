//! Wiring: configuration → stores → services → one axum server carrying REST and Socket.IO.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use axum::Router;
use axum::http::{HeaderValue, Method};
use axum::serve::ListenerExt;
use rodando_adapter_argon2::Argon2Hasher;
use rodando_adapter_http::HttpState;
use rodando_adapter_jwt::{JwtConfig, JwtTokenService};
use rodando_adapter_socketio::{Realtime, RealtimeConfig};
use rodando_application::auth::AuthService;
use rodando_application::availability::AvailabilityService;
use rodando_application::clock::SystemClock;
use rodando_application::demo::{
    DEMO_PASSWORD, DEMO_USERS, first_extra_number, seed_demo_users, seed_extra_demo_users,
};
use rodando_application::en_route::EnRouteTracker;
use rodando_application::handshake::HandshakeService;
use rodando_application::presence::{PresenceSweeper, SweepConfig};
use rodando_application::trips::TripService;
use rodando_application::user_status::UserStatusService;
use rodando_application::users::UserAdmin;
use rodando_domain::user::UserType;
use rodando_ports::clock::Clock;
use rodando_ports::notifier::Notifier;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower_http::cors::{AllowHeaders, AllowOrigin, CorsLayer};

use crate::config::{Config, CorsOrigins};
use crate::realtime::SocketServer;
use crate::stores::Stores;

/// How often the dispatch scheduler looks for offers past their stored deadline and for trips
/// nobody is acting on. Both live in the store, so what a dead node left behind is found.
pub const OFFER_SCAN_INTERVAL: Duration = Duration::from_millis(500);
/// Offers expired, and unattended trips moved on, per scan.
pub const OFFER_SCAN_BATCH: usize = 500;

/// How often histogram samples are folded into buckets between scrapes.
pub const METRICS_UPKEEP_INTERVAL: Duration = Duration::from_secs(5);

/// Time allowed for inbound events being handled to finish and ack before sockets close.
pub const IN_FLIGHT_GRACE: Duration = Duration::from_secs(5);

/// Time between attempts to write out driver positions at shutdown while the store fails.
pub const POSITION_FLUSH_RETRY: Duration = Duration::from_millis(200);

/// Time allowed for sockets and requests to finish after a shutdown signal.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// See [`Application::session_recheck`].
pub struct SessionRecheck {
    io: SocketServer,
    realtime: Arc<Realtime>,
}

impl SessionRecheck {
    /// Kicks this node's sockets whose session ended; returns how many.
    pub async fn run(&self) -> usize {
        self.io.recheck_sessions(&self.realtime).await
    }
}

/// A built, bound, not yet running server.
pub struct Application {
    listener: TcpListener,
    router: Router,
    io: SocketServer,
    realtime: Arc<Realtime>,
    stores: Stores,
    notifier: Arc<dyn Notifier>,
    user_status: UserStatusService,
    shutdown: CancellationToken,
    background: Vec<JoinHandle<()>>,
}

impl Application {
    /// Builds everything from `config` with the store it names.
    ///
    /// # Errors
    /// An unusable configuration, an unreachable store, or a port that cannot be bound.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let stores = Stores::from_config(&config).await?;
        Self::build_with(config, stores, Arc::new(SystemClock)).await
    }

    /// Builds with given stores and clock (tests share a store with the server this way).
    ///
    /// # Errors
    /// As [`Application::build`].
    pub async fn build_with(
        config: Config,
        stores: Stores,
        clock: Arc<dyn Clock>,
    ) -> anyhow::Result<Self> {
        let tokens = Arc::new(
            JwtTokenService::new(&JwtConfig {
                access_secret: config.jwt_access_secret.clone(),
                refresh_secret: config.jwt_refresh_secret.clone(),
                issuer: config.jwt_issuer.clone(),
                access_ttl: config.jwt_access_ttl.try_into().context("JWT_ACCESS_TTL")?,
                refresh_ttl: config
                    .jwt_refresh_ttl
                    .try_into()
                    .context("JWT_REFRESH_TTL")?,
            })
            .context("JWT configuration")?,
        );
        let passwords = Arc::new(Argon2Hasher::new()?);

        let realtime_config = RealtimeConfig {
            ping_interval: config.ws_ping_interval,
            ping_timeout: config.ws_ping_timeout,
            max_connections_per_user: config.max_connections_per_user,
            rate_limit_per_sec: config.rate_limit_per_sec,
            rate_limit_burst: config.rate_limit_burst,
            ..RealtimeConfig::default()
        };
        if config.redis.is_some() && stores.embedded {
            tracing::warn!(
                "REDIS_URL is set without DATABASE_URL: nodes share rooms but each has its own users and sessions"
            );
        }
        let (io, socket_layer, redis_health) =
            SocketServer::build(&realtime_config, config.redis.as_ref()).await?;
        let notifier = io.notifier(realtime_config.admin_location_window);

        let auth = AuthService::new(
            stores.users.clone(),
            stores.sessions.clone(),
            tokens.clone(),
            passwords.clone(),
            notifier.clone(),
            clock.clone(),
        )
        .with_refresh_reuse_grace(config.jwt_refresh_reuse_grace);
        let presence_ttl: time::Duration = config
            .presence_ttl
            .try_into()
            .context("DA_PRESENCE_TTL_SEC")?;
        let trips = TripService::new(
            stores.trips.clone(),
            stores.availability.clone(),
            stores.users.clone(),
            notifier.clone(),
            clock.clone(),
            config.dispatch,
            config.fares,
            presence_ttl,
        );
        let availability = AvailabilityService::new(
            stores.availability.clone(),
            stores.trip_standing.clone(),
            notifier.clone(),
            clock.clone(),
        )
        .releasing_offers_with(trips.clone())
        .tracking_trips_with(EnRouteTracker::new(stores.trips.clone(), notifier.clone()));
        let handshake = HandshakeService::new(
            stores.users.clone(),
            stores.sessions.clone(),
            tokens,
            clock.clone(),
        );
        let user_status = UserStatusService::new(
            stores.users.clone(),
            stores.sessions.clone(),
            auth.clone(),
            trips.clone(),
            clock.clone(),
        );
        let realtime = Arc::new(Realtime {
            handshake: handshake.clone(),
            availability,
            trips: trips.clone(),
            slots: crate::realtime::connection_slots(config.redis.as_ref()).await?,
            config: realtime_config,
            in_flight: TaskTracker::new(),
            expiry: rodando_adapter_socketio::ExpiryTimer::default(),
        });
        io.attach(Arc::clone(&realtime)).await?;

        if stores.embedded && config.seed_demo {
            let admin = UserAdmin::new(stores.users.clone(), passwords.clone(), clock.clone());
            let created = seed_demo_users(&admin).await?;
            let mut extra = Vec::new();
            for (user_type, count) in [
                (UserType::Driver, config.seed_demo_drivers),
                (UserType::Passenger, config.seed_demo_passengers),
            ] {
                let added = seed_extra_demo_users(
                    stores.users.as_ref(),
                    passwords.as_ref(),
                    clock.as_ref(),
                    user_type,
                    count,
                )
                .await?;
                extra.push((user_type, added));
            }
            if created > 0 {
                print_demo_users(&extra);
            }
        }

        let shutdown = CancellationToken::new();
        let sweeper = PresenceSweeper::new(
            stores.availability.clone(),
            notifier.clone(),
            clock,
            SweepConfig {
                presence_ttl: config
                    .presence_ttl
                    .try_into()
                    .context("DA_PRESENCE_TTL_SEC")?,
                interval: config.sweep_interval,
                batch: config.sweep_batch,
            },
        );
        let sweeper = tokio::spawn(sweeper.run(shutdown.child_token()));
        let recheck =
            io.recheck_sessions_after_outages(Arc::clone(&realtime), shutdown.child_token());
        let scheduler = tokio::spawn(trips.clone().run_scheduler(
            OFFER_SCAN_INTERVAL,
            OFFER_SCAN_BATCH,
            shutdown.child_token(),
        ));

        let metrics = crate::metrics::handle();
        let upkeep = tokio::spawn(crate::metrics::run_upkeep(
            metrics.clone(),
            METRICS_UPKEEP_INTERVAL,
            shutdown.child_token(),
        ));
        let mut checks = vec![stores.health.clone()];
        checks.extend(redis_health);
        let router = rodando_adapter_http::router(HttpState {
            auth,
            handshake,
            trips,
            user_status: user_status.clone(),
            checks,
            throttle: login_throttle(config.redis.as_ref()).await?,
        })
        .merge(rodando_dashboard::router(&config.dashboard_tiles));
        let router = socket_layer
            .wrap(router.merge(crate::metrics::router(metrics)))
            .layer(cors(&config.cors_origins)?);

        let address = format!("{}:{}", config.host, config.port);
        let listener = TcpListener::bind(&address)
            .await
            .with_context(|| format!("cannot listen on {address} (set PORT or HOST)"))?;
        Ok(Self {
            listener,
            router,
            io,
            realtime,
            stores,
            notifier,
            user_status,
            shutdown,
            background: [sweeper, scheduler, upkeep]
                .into_iter()
                .chain(recheck)
                .collect(),
        })
    }

    /// The bound port (useful with `PORT=0`).
    pub fn port(&self) -> u16 {
        self.listener.local_addr().map(|a| a.port()).unwrap_or(0)
    }

    /// The stores the server uses.
    pub fn stores(&self) -> &Stores {
        &self.stores
    }

    /// The realtime push the server's services use (e.g. for `notification`).
    pub fn notifier(&self) -> Arc<dyn Notifier> {
        Arc::clone(&self.notifier)
    }

    /// Banning, deactivating and re-activating users, with this node's push to every node's
    /// sockets (what `PATCH /api/users/{id}` and `users set-status` run).
    pub fn user_status(&self) -> &UserStatusService {
        &self.user_status
    }

    /// Waits until every node has handled what this one published so far (see
    /// [`SocketServer::settle`]); a command about to exit calls it after its changes.
    ///
    /// # Errors
    /// A node did not answer in time.
    pub async fn settle_cluster(&self) -> anyhow::Result<()> {
        self.io.settle().await
    }

    /// A handle that re-checks the sessions of this node's sockets against the store (what the
    /// node does by itself each time Redis comes back); it outlives [`Self::run_until_stopped`]
    /// taking the application.
    pub fn session_recheck(&self) -> SessionRecheck {
        SessionRecheck {
            io: self.io.clone(),
            realtime: Arc::clone(&self.realtime),
        }
    }

    /// Cancelling this token shuts the server down gracefully.
    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    /// Serves until the shutdown token is cancelled, then stops accepting, lets the events in
    /// flight finish and ack (at most [`IN_FLIGHT_GRACE`]), closes every socket (clients
    /// reconnect elsewhere), and returns within [`SHUTDOWN_GRACE`].
    ///
    /// # Errors
    /// An I/O error of the listener.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let Self {
            listener,
            router,
            io,
            realtime,
            stores,
            shutdown,
            background,
            ..
        } = self;
        // Small frames (connect ack, then hello) must not wait for Nagle + delayed ACK (~40 ms).
        let listener = listener.tap_io(|tcp| {
            if let Err(e) = tcp.set_nodelay(true) {
                tracing::debug!(error = %e, "could not set TCP_NODELAY");
            }
        });
        // The listener stops accepting as soon as the shutdown starts.
        // Connect info: the login throttle counts failures by the peer's address.
        let server = axum::serve(
            listener,
            router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown.clone().cancelled_owned());
        let server = tokio::spawn(async move { server.await });
        shutdown.cancelled().await;
        let stop_began = tokio::time::Instant::now();
        tracing::info!("shutting down: finishing in-flight events");
        if !realtime.drain(IN_FLIGHT_GRACE).await {
            tracing::warn!("events still in flight after {IN_FLIGHT_GRACE:?}; closing anyway");
        }
        // Closing the transports (not a Socket.IO disconnect) makes clients reconnect, to
        // another node behind the load balancer.
        tracing::info!("shutting down: closing sockets");
        io.close().await;
        // No ping can arrive any more: write out the ones accepted in memory.
        flush_positions(&stores, stop_began).await;
        let left = SHUTDOWN_GRACE.saturating_sub(stop_began.elapsed());
        let outcome = match tokio::time::timeout(left, server).await {
            Ok(Ok(result)) => result,
            Ok(Err(join)) => Err(std::io::Error::other(join)),
            Err(_) => {
                tracing::warn!("connections still open after the grace period; exiting anyway");
                Ok(())
            }
        };
        for task in background {
            let _ = task.await;
        }
        tracing::info!("stopped");
        outcome
    }
}

/// Writes out the location pings the store accepted in memory, retrying while the store fails,
/// until [`SHUTDOWN_GRACE`] after `stop_began` (less a second for the rest of the shutdown).
async fn flush_positions(stores: &Stores, stop_began: tokio::time::Instant) {
    let deadline = stop_began + SHUTDOWN_GRACE.saturating_sub(Duration::from_secs(1));
    loop {
        match stores.availability.flush().await {
            Ok(()) => {
                tracing::info!("shutting down: driver positions written");
                return;
            }
            Err(e) if tokio::time::Instant::now() + POSITION_FLUSH_RETRY < deadline => {
                tracing::warn!(error = %e, "shutting down: driver positions not written yet; retrying");
                tokio::time::sleep(POSITION_FLUSH_RETRY).await;
            }
            Err(e) => {
                tracing::error!(error = %e, "shutting down: driver positions since the last batch are lost");
                return;
            }
        }
    }
}

/// Failed login and refresh budgets: counted in Redis, shared by every node, with `REDIS_URL`;
/// else in this process.
async fn login_throttle(
    redis: Option<&crate::realtime::RedisSettings>,
) -> anyhow::Result<rodando_adapter_http::throttle::Throttle> {
    use rodando_adapter_http::throttle::{Limits, RedisFailures, Throttle};
    use secrecy::ExposeSecret as _;
    let Some(redis) = redis else {
        return Ok(Throttle::local(Limits::default()));
    };
    let counter = RedisFailures::connect(redis.url.expose_secret(), &redis.channel_prefix)
        .await
        .context("REDIS_URL (login throttle)")?;
    Ok(Throttle::shared(Limits::default(), Arc::new(counter)))
}

/// CORS for REST and Socket.IO polling: `*` echoes the caller's origin so credentials work.
fn cors(origins: &CorsOrigins) -> anyhow::Result<CorsLayer> {
    let allow_origin = match origins {
        CorsOrigins::Any => AllowOrigin::mirror_request(),
        CorsOrigins::List(list) => AllowOrigin::list(
            list.iter()
                .map(|o| HeaderValue::from_str(o).with_context(|| format!("WS_CORS_ORIGIN: {o}")))
                .collect::<anyhow::Result<Vec<_>>>()?,
        ),
    };
    Ok(CorsLayer::new()
        .allow_origin(allow_origin)
        .allow_credentials(true)
        .allow_methods([Method::GET, Method::POST, Method::PATCH, Method::OPTIONS])
        .allow_headers(AllowHeaders::mirror_request()))
}

fn print_demo_users(extra: &[(UserType, usize)]) {
    println!("\nDemo users (password \"{DEMO_PASSWORD}\"):");
    for (email, _, name, user_type) in DEMO_USERS {
        println!("  {:<10} {email:<28} {name}", user_type.as_str());
    }
    for &(user_type, count) in extra {
        if count > 0 {
            let first = first_extra_number(user_type);
            let kind = user_type.as_str();
            println!(
                "  {kind:<10} {kind}{first}@rodando.local … {kind}{}@rodando.local",
                first + count - 1
            );
        }
    }
    println!();
}
