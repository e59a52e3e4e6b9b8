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
use rodando_adapter_socketio::{ConnectionRegistry, Realtime, RealtimeConfig, SocketNotifier};
use rodando_application::auth::AuthService;
use rodando_application::availability::AvailabilityService;
use rodando_application::clock::SystemClock;
use rodando_application::demo::{
    DEMO_PASSWORD, DEMO_USERS, seed_demo_users, seed_extra_demo_drivers,
};
use rodando_application::handshake::HandshakeService;
use rodando_application::presence::{PresenceSweeper, SweepConfig};
use rodando_application::trips::TripService;
use rodando_application::users::UserAdmin;
use rodando_ports::clock::Clock;
use rodando_ports::notifier::Notifier;
use socketioxide::SocketIo;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tower_http::cors::{AllowHeaders, AllowOrigin, CorsLayer};

use crate::config::{Config, CorsOrigins};
use crate::stores::Stores;

/// How often offers past their stored deadline are looked for. Deadlines live in the store,
/// so an offer made before a restart still expires.
pub const OFFER_SCAN_INTERVAL: Duration = Duration::from_millis(500);
/// Offers expired per scan.
pub const OFFER_SCAN_BATCH: usize = 500;

/// Time allowed for sockets and requests to finish after a shutdown signal.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// A built, bound, not yet running server.
pub struct Application {
    listener: TcpListener,
    router: Router,
    io: SocketIo,
    stores: Stores,
    notifier: Arc<dyn Notifier>,
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
        let (socket_layer, io) = rodando_adapter_socketio::builder(&realtime_config).build_layer();
        let notifier: Arc<dyn Notifier> = Arc::new(SocketNotifier::new(
            io.clone(),
            realtime_config.admin_location_window,
        ));

        let auth = AuthService::new(
            stores.users.clone(),
            stores.sessions.clone(),
            tokens.clone(),
            passwords.clone(),
            notifier.clone(),
            clock.clone(),
        );
        let availability = AvailabilityService::new(
            stores.availability.clone(),
            stores.trip_standing.clone(),
            notifier.clone(),
            clock.clone(),
        );
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
        let handshake = HandshakeService::new(
            stores.users.clone(),
            stores.sessions.clone(),
            tokens,
            clock.clone(),
        );
        let realtime = Arc::new(Realtime {
            handshake: handshake.clone(),
            availability,
            trips: trips.clone(),
            registry: ConnectionRegistry::new(),
            config: realtime_config,
        });
        rodando_adapter_socketio::attach(&io, realtime);

        if stores.embedded && config.seed_demo {
            let admin = UserAdmin::new(stores.users.clone(), passwords.clone(), clock.clone());
            let created = seed_demo_users(&admin).await?;
            let extra = seed_extra_demo_drivers(
                stores.users.as_ref(),
                passwords.as_ref(),
                clock.as_ref(),
                config.seed_demo_drivers,
            )
            .await?;
            if created > 0 {
                print_demo_users(extra);
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
        let expiry = tokio::spawn(trips.clone().run_expiry(
            OFFER_SCAN_INTERVAL,
            OFFER_SCAN_BATCH,
            shutdown.child_token(),
        ));

        let router = rodando_adapter_http::router(HttpState {
            auth,
            handshake,
            trips,
            checks: vec![stores.health.clone()],
        })
        .merge(rodando_dashboard::router())
        .layer(socket_layer)
        .layer(cors(&config.cors_origins)?);

        let address = format!("{}:{}", config.host, config.port);
        let listener = TcpListener::bind(&address)
            .await
            .with_context(|| format!("cannot listen on {address} (set PORT or HOST)"))?;
        Ok(Self {
            listener,
            router,
            io,
            stores,
            notifier,
            shutdown,
            background: vec![sweeper, expiry],
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

    /// Cancelling this token shuts the server down gracefully.
    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    /// Serves until the shutdown token is cancelled, then stops accepting, closes every socket
    /// (clients reconnect elsewhere), and returns within [`SHUTDOWN_GRACE`].
    ///
    /// # Errors
    /// An I/O error of the listener.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let Self {
            listener,
            router,
            io,
            shutdown,
            background,
            ..
        } = self;
        let stopping = shutdown.clone();
        // Small frames (connect ack, then hello) must not wait for Nagle + delayed ACK (~40 ms).
        let listener = listener.tap_io(|tcp| {
            if let Err(e) = tcp.set_nodelay(true) {
                tracing::debug!(error = %e, "could not set TCP_NODELAY");
            }
        });
        let server =
            axum::serve(listener, router.into_make_service()).with_graceful_shutdown(async move {
                stopping.cancelled().await;
                tracing::info!("shutting down: closing sockets");
                io.close().await;
            });
        let server = tokio::spawn(async move { server.await });
        shutdown.cancelled().await;
        let outcome = match tokio::time::timeout(SHUTDOWN_GRACE, server).await {
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
        .allow_methods([Method::GET, Method::POST, Method::OPTIONS])
        .allow_headers(AllowHeaders::mirror_request()))
}

fn print_demo_users(extra_drivers: usize) {
    println!("\nDemo users (password \"{DEMO_PASSWORD}\"):");
    for (email, _, name, user_type) in DEMO_USERS {
        println!("  {:<10} {email:<28} {name}", user_type.as_str());
    }
    if extra_drivers > 0 {
        println!(
            "  driver     driver4@rodando.local … driver{}@rodando.local",
            extra_drivers + 3
        );
    }
    println!();
}
