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

/// Entry point of the `control` fuzz target: any line a client sends the control socket gets
/// one reply of whole lines starting with `ok` or `error`, bounded in size.
pub fn control(data: &[u8]) {
    use crate::host::control::{ControlledSlot, MAX_LINE, execute};
    use crate::host::slot::{SlotSpec, slot};
    use mynasim_simulator::card::EchoCard;
    let data = data.get(..MAX_LINE).unwrap_or(data);
    let Ok(line) = std::str::from_utf8(data) else {
        return;
    };
    let slots: Vec<ControlledSlot> = (0..2u16)
        .map(|number| {
            let addr = std::net::SocketAddr::from(([127, 0, 0, 1], 35963 + number));
            let (_slot, handle) = slot(SlotSpec { number, addr }, EchoCard);
            ControlledSlot {
                handle,
                origin: format!("p{number}.yaml"),
            }
        })
        .collect();
    let reply = execute(line.trim(), &slots);
    assert!(reply.ends_with('\n'), "{reply:?}");
    assert!(
        reply.starts_with("ok") || reply.starts_with("error"),
        "{reply:?}"
    );
    assert!(reply.len() <= 2 * MAX_LINE + 512, "{} bytes", reply.len());
}

/// Entry point of the `serve_config` fuzz target: any text is a serve configuration or an
/// error with a position — never a panic.
pub fn serve_config(data: &[u8]) {
    use crate::host::config::ServeConfig;
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Err(e) = mynasim_simulator::profile::from_yaml_str::<ServeConfig>(text, "fuzz.yaml") {
        assert!(!e.to_string().is_empty(), "errors say something");
    }
}

/// Entry point of the `report` fuzz target: any text is a saved run report (`mynasim report
/// RUN.json`) or an error that says what — and a report that reads renders as a page whose
/// every text is escaped.
pub fn report(data: &[u8]) {
    use crate::report::{html, json};
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match json::parse(text) {
        Ok(report) => {
            let page = html::run::render(&report, jiff::Timestamp::UNIX_EPOCH);
            assert!(page.starts_with("<!DOCTYPE html>"), "a page");
            assert!(!page.contains("<script"), "no script from the input");
        }
        Err(e) => assert!(!e.to_string().is_empty(), "errors say something"),
    }
}
