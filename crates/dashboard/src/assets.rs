//! The dashboard's files, embedded in the binary at compile time: the server needs no files on
//! disk and no network (the machines it runs on are offline, so there is no CDN either; only the
//! map's tiles come from elsewhere, and the page works without them).

/// One embedded file and how to serve it.
#[derive(Debug, Clone, Copy)]
pub struct Asset {
    /// Its URL path.
    pub path: &'static str,
    /// Its `Content-Type`.
    pub content_type: &'static str,
    /// Its bytes.
    pub body: &'static [u8],
}

const HTML: &str = "text/html; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";

/// The page itself, at `/dashboard` and `/dashboard/`.
pub const INDEX: Asset = Asset {
    path: "/dashboard",
    content_type: HTML,
    body: include_bytes!("../static/index.html"),
};

/// Everything the page loads, each at its own path under `/dashboard/`.
pub const FILES: [Asset; 12] = [
    Asset {
        path: "/dashboard/style.css",
        content_type: CSS,
        body: include_bytes!("../static/style.css"),
    },
    Asset {
        path: "/dashboard/app.js",
        content_type: JS,
        body: include_bytes!("../static/app.js"),
    },
    Asset {
        path: "/dashboard/fleet.js",
        content_type: JS,
        body: include_bytes!("../static/fleet.js"),
    },
    Asset {
        path: "/dashboard/trips.js",
        content_type: JS,
        body: include_bytes!("../static/trips.js"),
    },
    Asset {
        path: "/dashboard/in_flight.js",
        content_type: JS,
        body: include_bytes!("../static/in_flight.js"),
    },
    Asset {
        path: "/dashboard/en_route.js",
        content_type: JS,
        body: include_bytes!("../static/en_route.js"),
    },
    Asset {
        path: "/dashboard/projection.js",
        content_type: JS,
        body: include_bytes!("../static/projection.js"),
    },
    Asset {
        path: "/dashboard/session.js",
        content_type: JS,
        body: include_bytes!("../static/session.js"),
    },
    Asset {
        path: "/dashboard/map.js",
        content_type: JS,
        body: include_bytes!("../static/map.js"),
    },
    // socket.io-client 4.8.1 browser bundle, unchanged (MIT; its licence header is kept, the
    // full licence is static/vendor/socket.io-client.LICENSE).
    Asset {
        path: "/dashboard/vendor/socket.io.min.js",
        content_type: JS,
        body: include_bytes!("../static/vendor/socket.io.min.js"),
    },
    // Leaflet 1.9.4's dist/leaflet.js and dist/leaflet.css, unchanged (BSD-2-Clause; the script
    // keeps its licence header, the full licence is static/vendor/leaflet.LICENSE). Its images
    // (default marker, layers control) are not embedded: the page uses neither.
    Asset {
        path: "/dashboard/vendor/leaflet.js",
        content_type: JS,
        body: include_bytes!("../static/vendor/leaflet.js"),
    },
    Asset {
        path: "/dashboard/vendor/leaflet.css",
        content_type: CSS,
        body: include_bytes!("../static/vendor/leaflet.css"),
    },
];
