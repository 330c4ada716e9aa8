//! The committed trust anchors under `simulator/keys/ca/` are what the simulator uses. (The
//! golden APDU transcripts live beside the bundled scenarios: `scenarios/**/NAME.transcript`,
//! checked by the harness's `scenarios` tests; `ci/bless` rewrites both.)

use std::fs;

use super::support;

/// The committed trust anchors under simulator/keys/ca/ are what the simulator uses.
#[test]
fn published_trust_anchors_match_the_test_pki() {
    use mynasim_simulator::pki::published;
    let dir = support::repo().join(published::DIRECTORY);
    for file in published::FILES {
        let content = file.content().expect("content");
        let path = dir.join(file.file);
        let committed = fs::read_to_string(&path)
            .unwrap_or_else(|_| panic!("{} is missing: run ci/bless", path.display()));
        assert_eq!(
            committed,
            content,
            "{} is stale: run ci/bless",
            path.display()
        );
    }
}
