//! # rodando-dashboard
//!
//! The operations dashboard: a static page (plain HTML, CSS and ES modules, no build step) that
//! logs an admin in over REST, connects to `/admin` with the vendored socket.io-client, paints the
//! fleet on a map drawn by the vendored Leaflet (tiles from [`Tiles`], over a latitude/longitude
//! grid that shows wherever tiles cannot load) from `admin:drivers:snapshot` and keeps it live
//! from the `driver:*` broadcasts, and lists the trips in flight from `admin:trips:snapshot` (which
//! also watches them, and marks their pickups on the map), then each trip `trip:requested`
//! announces (watching it with `admin:trip:watch`). It uses the public contract only (PROTOCOL §2, §7, §8), so it
//! also proves that contract in a browser.
//!
//! Plain files rather than an npm build: nothing to install or rebuild to change a line, nothing
//! generated to review, and the whole page stays small enough to embed and read. The files are
//! compiled into the binary (see [`assets`]), so the server needs nothing on disk.
//!
//! ```no_run
//! let tiles = rodando_dashboard::Tiles::default(); // OpenStreetMap
//! let app: axum::Router = axum::Router::new().merge(rodando_dashboard::router(&tiles));
//! # let _ = app;
//! ```

pub mod assets;
pub mod tiles;

use axum::Router;
use axum::body::Bytes;
use axum::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS,
    X_FRAME_OPTIONS,
};
use axum::http::{HeaderName, HeaderValue};
use axum::response::IntoResponse;
use axum::routing::get;

use crate::assets::{FILES, INDEX};
pub use crate::tiles::Tiles;

/// Where the page reads its tile URL: this placeholder in `static/index.html`'s
/// `<meta name="rodando-tile-url">`, filled in once when the router is built.
pub const TILE_URL_PLACEHOLDER: &str = "{{tile-url}}";

/// The routes `GET /dashboard`, `GET /dashboard/` and one per embedded file, for any router state,
/// with the map's tiles taken from `tiles` (and only its host allowed by the page's policy).
/// Other paths under `/dashboard/` are left to the outer router's fallback.
pub fn router<S>(tiles: &Tiles) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    let policy = tiles.content_security_policy().clone();
    let page = Bytes::from(index_page(tiles));
    let index = {
        let policy = policy.clone();
        move || async move { serve(INDEX.content_type, page, policy) }
    };
    let mut router = Router::new()
        .route(INDEX.path, get(index.clone()))
        .route("/dashboard/", get(index));
    for asset in FILES {
        let policy = policy.clone();
        router = router.route(
            asset.path,
            get(move || async move {
                serve(asset.content_type, Bytes::from_static(asset.body), policy)
            }),
        );
    }
    router
}

/// The page with the tile URL in its meta tag (HTML-escaped; quotes and angle brackets are
/// refused by [`Tiles::parse`]).
fn index_page(tiles: &Tiles) -> String {
    let page = String::from_utf8_lossy(INDEX.body);
    page.replace(TILE_URL_PLACEHOLDER, &tiles.url().replace('&', "&amp;"))
}

/// An embedded file with its type and headers. Files are small and change with each release, so
/// browsers revalidate them (`no-cache`) instead of keeping a stale page after an upgrade.
fn serve(content_type: &'static str, body: Bytes, policy: HeaderValue) -> impl IntoResponse {
    let headers: [(HeaderName, HeaderValue); 6] = [
        (CONTENT_TYPE, HeaderValue::from_static(content_type)),
        (CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        (X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
        (REFERRER_POLICY, HeaderValue::from_static("no-referrer")),
        (X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
        (CONTENT_SECURITY_POLICY, policy),
    ];
    (headers, body)
}
