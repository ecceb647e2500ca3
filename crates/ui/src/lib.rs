//! The web UI's built files, embedded at compile time (see `build.rs`).

/// One file of the built UI.
#[derive(Debug)]
pub struct Asset {
    /// Path below the UI root, without a leading slash (`index.html`, `assets/x.js`).
    pub path: &'static str,
    /// The content.
    pub bytes: &'static [u8],
}

include!(concat!(env!("OUT_DIR"), "/assets.rs"));

impl Asset {
    /// The `Content-Type` by extension.
    pub fn content_type(&self) -> &'static str {
        match self.path.rsplit_once('.').map(|(_, ext)| ext) {
            Some("html") => "text/html; charset=utf-8",
            Some("js") | Some("mjs") => "text/javascript; charset=utf-8",
            Some("css") => "text/css; charset=utf-8",
            Some("svg") => "image/svg+xml",
            Some("png") => "image/png",
            Some("ico") => "image/x-icon",
            Some("json") => "application/json",
            Some("txt") => "text/plain; charset=utf-8",
            Some("woff2") => "font/woff2",
            _ => "application/octet-stream",
        }
    }

    /// Whether the name carries a content hash (Vite's `assets/`), so it may be cached
    /// for ever.
    pub fn immutable(&self) -> bool {
        self.path.starts_with("assets/")
    }
}

/// The file at `path` (no leading slash).
pub fn get(path: &str) -> Option<&'static Asset> {
    ASSETS.iter().find(|a| a.path == path)
}

/// The entry page every client-side route is answered with.
pub fn index() -> Option<&'static Asset> {
    get("index.html")
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn the_entry_page_loads_hashed_assets_that_are_embedded() {
        let index = std::str::from_utf8(index().unwrap().bytes).unwrap();
        let refs: Vec<&str> = index
            .split(['"', '\''])
            .filter(|s| s.starts_with("/assets/"))
            .collect();
        assert!(!refs.is_empty(), "{index}");
        for r in refs {
            assert!(
                get(&r[1..]).is_some_and(Asset::immutable),
                "{r} not embedded"
            );
        }
    }

    #[test]
    fn no_inline_script_or_style_in_the_entry_page() {
        // The server's Content-Security-Policy allows neither.
        let index = std::str::from_utf8(index().unwrap().bytes).unwrap();
        assert!(!index.contains("<script>"), "{index}");
        assert!(!index.contains("<style"), "{index}");
        assert!(!index.contains(" style="), "{index}");
    }

    #[test]
    fn content_types_by_extension() {
        let a = Asset {
            path: "assets/a.js",
            bytes: b"",
        };
        assert!(a.content_type().starts_with("text/javascript"));
        let b = Asset {
            path: "x.unknown",
            bytes: b"",
        };
        assert_eq!(b.content_type(), "application/octet-stream");
    }
}
