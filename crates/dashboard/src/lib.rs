//! # rodando-dashboard
//!
//! The operations dashboard: a static page (plain HTML, CSS and ES modules, no build step) that
//! logs an admin in over REST, connects to `/admin` with the vendored socket.io-client, paints the
//! fleet from `admin:drivers:snapshot` and keeps it live from the `driver:*` broadcasts, and lists
//! trips as `trip:requested` announces them (watching each with `admin:trip:watch`). It uses the
//! public contract only (PROTOCOL §2, §7, §8), so it also proves that contract in a browser.
//!
//! Plain files rather than an npm build: nothing to install or rebuild to change a line, nothing
//! generated to review, and the whole page stays small enough to embed and read. The files are
//! compiled into the binary (see [`assets`]), so the server needs nothing on disk.
//!
//! ```no_run
//! let app: axum::Router = axum::Router::new().merge(rodando_dashboard::router());
//! # let _ = app;
//! ```

pub mod assets;

use axum::Router;
use axum::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS,
    X_FRAME_OPTIONS,
};
use axum::http::{HeaderName, HeaderValue};
use axum::response::IntoResponse;
use axum::routing::get;

use crate::assets::{Asset, FILES, INDEX};

/// What the page may do: load its own scripts and styles, talk to its own origin (REST and
/// Socket.IO, WebSocket included), and nothing else — no inline script, no third party, no framing.
pub const CONTENT_SECURITY_POLICY_VALUE: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; \
     form-action 'self'; frame-ancestors 'none'";

/// The routes `GET /dashboard`, `GET /dashboard/` and one per embedded file, for any router state.
/// Other paths under `/dashboard/` are left to the outer router's fallback.
pub fn router<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    let index = || async { serve(INDEX) };
    let mut router = Router::new()
        .route(INDEX.path, get(index))
        .route("/dashboard/", get(index));
    for asset in FILES {
        router = router.route(asset.path, get(move || async move { serve(asset) }));
    }
    router
}

/// An embedded file with its type and headers. Files are small and change with each release, so
/// browsers revalidate them (`no-cache`) instead of keeping a stale page after an upgrade.
fn serve(asset: Asset) -> impl IntoResponse {
    let headers: [(HeaderName, HeaderValue); 6] = [
        (CONTENT_TYPE, HeaderValue::from_static(asset.content_type)),
        (CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        (X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
        (REFERRER_POLICY, HeaderValue::from_static("no-referrer")),
        (X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
        (
            CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY_VALUE),
        ),
    ];
    (headers, asset.body)
}
