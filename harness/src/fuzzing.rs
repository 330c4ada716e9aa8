//! Entry point of the `scenario` fuzz target: any bytes give a compiled scenario or an error
//! with a position — never a panic.

use std::path::Path;
use std::sync::OnceLock;

use crate::scenario::{CardCache, compile, load};

/// Loads and compiles `data` as a scenario file beside the bundled scenarios.
pub fn scenario(data: &[u8]) {
    static CACHE: OnceLock<CardCache> = OnceLock::new();
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let path = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../scenarios/fuzz.yaml"
    ));
    let Ok(loaded) = load::load_str(text, path) else {
        return;
    };
    let cache = CACHE.get_or_init(CardCache::default);
    for one in &loaded {
        if let Err(e) = compile(one, cache) {
            assert!(!e.to_string().is_empty(), "errors say something");
        }
    }
}
