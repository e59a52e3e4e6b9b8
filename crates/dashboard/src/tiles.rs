//! Where the map's tiles come from (`DASHBOARD_TILE_URL`): a Leaflet URL template, checked at
//! start, and the one image origin the page's Content-Security-Policy lets through for it.

use axum::http::HeaderValue;

/// OpenStreetMap's standard tiles, the default.
pub const OPENSTREETMAP: &str = "https://tile.openstreetmap.org/{z}/{x}/{y}.png";

/// The placeholders Leaflet fills in a tile URL; any other `{name}` would make it throw.
const PLACEHOLDERS: [&str; 6] = ["{s}", "{z}", "{x}", "{y}", "{-y}", "{r}"];

/// A validated tile URL template and the page policy that allows it.
#[derive(Debug, Clone)]
pub struct Tiles {
    url: String,
    origin: String,
    policy: HeaderValue,
}

impl Default for Tiles {
    fn default() -> Self {
        Self::openstreetmap()
    }
}

impl Tiles {
    /// OpenStreetMap's standard tiles.
    ///
    /// # Panics
    /// Never: the constant is a valid template (tested).
    #[must_use]
    #[allow(clippy::expect_used)]
    pub fn openstreetmap() -> Self {
        Self::parse(OPENSTREETMAP).expect("OPENSTREETMAP is a valid tile URL")
    }

    /// Checks a Leaflet tile URL template: `http://` or `https://`, a plain host (optionally
    /// `{s}.` in front, for Leaflet's subdomains) and port, no user or password, and `{z}`, `{x}`
    /// and `{y}` (`{-y}` for TMS) in the path.
    ///
    /// # Errors
    /// A short reason, without the value (the caller names the variable and the value).
    pub fn parse(url: &str) -> Result<Self, String> {
        const EXPECTED: &str = "must be a tile URL template such as \
             https://tile.openstreetmap.org/{z}/{x}/{y}.png";
        let (scheme, rest) = if let Some(rest) = url.strip_prefix("https://") {
            ("https", rest)
        } else if let Some(rest) = url.strip_prefix("http://") {
            ("http", rest)
        } else {
            return Err(format!("{EXPECTED}: http:// or https://"));
        };
        let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        let (wildcard, host) = match authority.strip_prefix("{s}.") {
            Some(host) => (true, host),
            None => (false, authority),
        };
        let host_ok = !host.is_empty()
            && !host.starts_with(['.', '-', ':'])
            && host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'));
        if !host_ok {
            return Err(format!("{EXPECTED}: a plain host name and port"));
        }
        if url
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '"' | '<' | '>' | '\\'))
        {
            return Err(format!("{EXPECTED}: no spaces, quotes or angle brackets"));
        }
        let mut unknown = path.split('{').skip(1).filter_map(|piece| {
            let name = piece.split('}').next().unwrap_or(piece);
            let placeholder = format!("{{{name}}}");
            (!PLACEHOLDERS.contains(&placeholder.as_str())).then_some(placeholder)
        });
        if let Some(bad) = unknown.next() {
            return Err(format!(
                "{EXPECTED}: {bad} is not one of {}",
                PLACEHOLDERS.join(" ")
            ));
        }
        if !(path.contains("{z}")
            && path.contains("{x}")
            && (path.contains("{y}") || path.contains("{-y}")))
        {
            return Err(format!("{EXPECTED}: {{z}}, {{x}} and {{y}} in the path"));
        }
        let origin = if wildcard {
            format!("{scheme}://*.{host}")
        } else {
            format!("{scheme}://{host}")
        };
        let policy = HeaderValue::from_str(&content_security_policy(&origin))
            .map_err(|_| format!("{EXPECTED}: ASCII only"))?;
        Ok(Self {
            url: url.to_owned(),
            origin,
            policy,
        })
    }

    /// The template, as Leaflet takes it.
    #[must_use]
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The tile host as a CSP source: `https://tile.openstreetmap.org`, `https://*.example.com`
    /// for a `{s}.` template, the port kept.
    #[must_use]
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The `Content-Security-Policy` of every dashboard response.
    #[must_use]
    pub fn content_security_policy(&self) -> &HeaderValue {
        &self.policy
    }
}

/// What the page may do: load its own scripts and styles, images from itself and from the tile
/// host only, talk to its own origin (REST and Socket.IO, WebSocket included), and nothing
/// else — no inline script, no other third party, no framing.
#[must_use]
pub fn content_security_policy(tile_origin: &str) -> String {
    format!(
        "default-src 'none'; script-src 'self'; style-src 'self'; \
         img-src 'self' data: {tile_origin}; connect-src 'self'; base-uri 'none'; \
         form-action 'self'; frame-ancestors 'none'"
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn openstreetmap_is_the_default_and_only_its_host_is_allowed() {
        let tiles = Tiles::default();
        assert_eq!(tiles.url(), OPENSTREETMAP);
        assert_eq!(tiles.origin(), "https://tile.openstreetmap.org");
        let policy = tiles.content_security_policy().to_str().unwrap();
        assert!(
            policy.contains("; img-src 'self' data: https://tile.openstreetmap.org; "),
            "{policy}"
        );
    }

    #[test]
    fn the_origin_keeps_the_port_and_widens_a_subdomain_placeholder_only() {
        let local = Tiles::parse("http://127.0.0.1:8080/tiles/{z}/{x}/{y}.png").unwrap();
        assert_eq!(local.origin(), "http://127.0.0.1:8080");
        let abc = Tiles::parse("https://{s}.tiles.example.com/{z}/{x}/{y}{r}.png").unwrap();
        assert_eq!(abc.origin(), "https://*.tiles.example.com");
        let tms = Tiles::parse("https://tms.example.com/{z}/{x}/{-y}.png?style=day&v=2").unwrap();
        assert_eq!(tms.origin(), "https://tms.example.com");
    }

    #[test]
    fn anything_else_is_refused_with_a_reason() {
        for bad in [
            "tile.openstreetmap.org/{z}/{x}/{y}.png",
            "ftp://tiles.example.com/{z}/{x}/{y}.png",
            "https://tiles.example.com/{z}/{x}.png",
            "https:///{z}/{x}/{y}.png",
            "https://user:pw@tiles.example.com/{z}/{x}/{y}.png",
            "https://tiles.example.com;script-src */{z}/{x}/{y}.png",
            "https://tiles.example.com/{z}/{x}/{y}.png?key={apikey}",
            "https://tiles.example.com/{z}/{x}/{y}.png\" onload=\"x",
            "https://{s}.{s}.example.com/{z}/{x}/{y}.png",
            "https://tiles.example.com /{z}/{x}/{y}.png",
        ] {
            let reason = Tiles::parse(bad).unwrap_err();
            assert!(
                reason.starts_with("must be a tile URL template"),
                "{bad}: {reason}"
            );
            assert!(!reason.contains('\n'), "{bad}");
        }
    }
}
