//! The dashboard's routes over real HTTP: every file the page needs is served with its type and
//! the security headers, nothing it references is missing, and unknown paths are not answered.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;

use axum::Router;
use rodando_dashboard::assets::{FILES, INDEX};
use rodando_dashboard::{Tiles, router};

/// Serves the dashboard router alone on a free port, with OpenStreetMap's tiles; its base URL.
async fn serve() -> String {
    serve_with(&Tiles::default()).await
}

async fn serve_with(tiles: &Tiles) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let app: Router = router(tiles);
    tokio::spawn(async move { axum::serve(listener, app).await });
    base
}

async fn get(base: &str, path: &str) -> reqwest::Response {
    reqwest::get(format!("{base}{path}")).await.unwrap()
}

fn header<'a>(response: &'a reqwest::Response, name: &str) -> &'a str {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_else(|| panic!("no {name} header on {}", response.url()))
}

#[tokio::test]
async fn the_page_is_served_at_dashboard_with_and_without_a_trailing_slash() {
    let base = serve().await;
    for path in ["/dashboard", "/dashboard/"] {
        let response = get(&base, path).await;
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(
            header(&response, "content-type"),
            "text/html; charset=utf-8"
        );
        assert_eq!(
            header(&response, "content-security-policy"),
            "default-src 'none'; script-src 'self'; style-src 'self'; \
             img-src 'self' data: https://tile.openstreetmap.org; connect-src 'self'; \
             base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
        );
        assert_eq!(header(&response, "x-content-type-options"), "nosniff");
        assert_eq!(header(&response, "cache-control"), "no-cache");
        let body = response.text().await.unwrap();
        assert!(body.contains("<form id=\"login-form\""), "{path}");
        assert!(
            body.contains(
                "<meta name=\"rodando-tile-url\" \
                 content=\"https://tile.openstreetmap.org/{z}/{x}/{y}.png\">"
            ),
            "{path}"
        );
    }
}

#[tokio::test]
async fn a_configured_tile_url_reaches_the_page_and_only_its_host_is_allowed() {
    let tiles =
        Tiles::parse("https://{s}.tiles.example.com:8443/{z}/{x}/{y}.png?v=2&style=day").unwrap();
    let base = serve_with(&tiles).await;
    for path in ["/dashboard", "/dashboard/app.js"] {
        let response = get(&base, path).await;
        let policy = header(&response, "content-security-policy");
        assert!(
            policy.contains("; img-src 'self' data: https://*.tiles.example.com:8443; "),
            "{policy}"
        );
        assert!(!policy.contains("openstreetmap"), "{policy}");
    }
    let page = get(&base, "/dashboard").await.text().await.unwrap();
    assert!(
        page.contains(
            "content=\"https://{s}.tiles.example.com:8443/{z}/{x}/{y}.png?v=2&amp;style=day\""
        ),
        "{page}"
    );
    assert!(!page.contains(rodando_dashboard::TILE_URL_PLACEHOLDER));
}

#[tokio::test]
async fn every_embedded_file_is_served_byte_for_byte_with_its_type() {
    let base = serve().await;
    for asset in FILES {
        let response = get(&base, asset.path).await;
        assert_eq!(response.status(), 200, "{}", asset.path);
        assert_eq!(header(&response, "content-type"), asset.content_type);
        assert_eq!(header(&response, "x-content-type-options"), "nosniff");
        let body = response.bytes().await.unwrap();
        assert_eq!(body.as_ref(), asset.body, "{}", asset.path);
    }
}

#[tokio::test]
async fn paths_that_are_not_embedded_files_are_not_answered() {
    let base = serve().await;
    for path in [
        "/dashboard/missing.js",
        "/dashboard/../Cargo.toml",
        "/dashboard/vendor/socket.io.min.js.map",
        "/dashboard/vendor/leaflet.js.map",
        "/dashboard/vendor/images/layers.png",
        "/dashboard/static/app.js",
    ] {
        assert_eq!(get(&base, path).await.status(), 404, "{path}");
    }
    let post = reqwest::Client::new()
        .post(format!("{base}/dashboard"))
        .send()
        .await
        .unwrap();
    assert_eq!(post.status(), 405);
}

/// Quoted `/dashboard/…` paths in the page, and `./x.js` imports in the scripts, as served paths.
/// (The map library's own CSS names images for a default marker and a layers control: the page
/// uses neither, so they are not embedded.)
fn references() -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let index = std::str::from_utf8(INDEX.body).unwrap();
    for piece in index.split('"').skip(1).step_by(2) {
        if piece.starts_with("/dashboard/") {
            found.insert(piece.to_owned());
        }
    }
    for asset in FILES
        .iter()
        .filter(|a| a.content_type.starts_with("text/javascript"))
    {
        if asset.path.contains("/vendor/") {
            continue;
        }
        let source = std::str::from_utf8(asset.body).unwrap();
        for line in source.lines().filter(|l| l.starts_with("import ")) {
            let quoted = line.split('\'').nth(1).unwrap();
            let name = quoted.strip_prefix("./").unwrap();
            found.insert(format!("/dashboard/{name}"));
        }
    }
    found
}

#[test]
fn everything_the_page_loads_is_embedded_and_nothing_embedded_is_unused() {
    let referenced = references();
    let embedded: BTreeSet<String> = FILES.iter().map(|a| a.path.to_owned()).collect();
    assert_eq!(referenced, embedded);
}

/// The first `len` bytes of the embedded file whose path ends with `suffix`: where a vendored
/// bundle keeps its licence header.
fn head_of(suffix: &str, len: usize) -> &'static str {
    let bundle = FILES.iter().find(|a| a.path.ends_with(suffix)).unwrap();
    std::str::from_utf8(&bundle.body[..len]).unwrap()
}

#[test]
fn the_vendored_socket_io_client_keeps_its_licence_header() {
    let head = head_of("socket.io.min.js", 120);
    assert!(head.starts_with("/*!\n * Socket.IO v4.8.1\n"), "{head}");
    assert!(head.contains("Released under the MIT License."), "{head}");
}

#[test]
fn the_vendored_leaflet_keeps_its_licence_header() {
    let head = head_of("/leaflet.js", 160);
    assert!(
        head.starts_with("/* @preserve\n * Leaflet 1.9.4, a JS library for interactive maps."),
        "{head}"
    );
}
