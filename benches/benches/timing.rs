//! `timing: realistic` adds the modelled time and nothing else: the same READ BINARY through
//! the in-process target (`SimLink`, the shell that sleeps what the card says), once with a
//! fast card and once with a realistic one. The difference between the two medians, minus
//! the modelled time printed at the start, is what realistic mode costs beyond the model
//! (the sleep's own overshoot).
//!
//! `cargo bench -p mynasim-benches --bench timing`

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use mynasim_benches::{apdu, default_card};
use mynasim_harness::target::{Link, SimLink};
use mynasim_simulator::card::{TimingMode, TimingModel, TimingSpec};

const SELECT_JPKI: &str = "00 A4 04 0C 0A D3 92 F0 00 26 01 00 00 00 01";

#[expect(
    clippy::expect_used,
    reason = "benchmark set-up; a failed exchange must stop the run"
)]
fn timing_benchmarks(c: &mut Criterion) {
    let mut group = c.benchmark_group("timing");
    let read = apdu("00 B0 00 00 00");
    for (name, mode) in [
        ("fast", TimingMode::Fast),
        ("realistic", TimingMode::Realistic),
    ] {
        let mut card = default_card();
        let spec = TimingSpec {
            mode,
            ..TimingSpec::default()
        };
        let model = TimingModel::compile(&spec, card.atr()).expect("the default ATR models");
        if let Some(m) = &model {
            let mut probe = default_card();
            probe.transmit(&apdu(SELECT_JPKI));
            probe.transmit(&apdu("00 A4 02 0C 02 00 0A"));
            let response = probe.transmit(&read);
            eprintln!(
                "timing: modelled READ BINARY of 256 bytes (424 kbit/s, 2 ms): {:?}",
                m.exchange(&read, &response)
            );
        }
        card.set_timing(model);
        card.power_off();
        let mut link = SimLink::new(card);
        link.power_on().expect("powers on");
        for select in [SELECT_JPKI, "00 A4 02 0C 02 00 0A"] {
            link.transmit(&apdu(select)).expect("selects");
        }
        group.bench_function(format!("read_binary_256_{name}"), |b| {
            b.iter(|| {
                let r = link.transmit(black_box(&read)).expect("answers");
                assert_eq!(r.len(), 258);
            });
        });
    }
    group.finish();
}

criterion_group!(benches, timing_benchmarks);
criterion_main!(benches);
