//! In-process APDU round trips through `Card::transmit_into`: parse, dispatch, encode.
//!
//! `cargo bench -p mynasim-benches --bench card`. Every timed closure checks the status
//! word, so a benchmark never measures an error path by accident.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use mynasim_benches::{apdu, default_card, ok};
use mynasim_simulator::hex;

const SELECT_JPKI: &str = "00 A4 04 0C 0A D3 92 F0 00 26 01 00 00 00 01";

fn card_benchmarks(c: &mut Criterion) {
    let mut group = c.benchmark_group("card");
    let mut out = Vec::with_capacity(300);

    let mut card = default_card();
    card.transmit(&apdu(SELECT_JPKI));
    let select_ef = apdu("00 A4 02 0C 02 00 0A");
    group.bench_function("select_ef", |b| {
        b.iter(|| {
            card.transmit_into(black_box(&select_ef), &mut out);
            assert!(ok(&out));
        });
    });

    let read = apdu("00 B0 00 00 00");
    card.transmit(&select_ef);
    group.bench_function("read_binary_256", |b| {
        b.iter(|| {
            card.transmit_into(black_box(&read), &mut out);
            assert_eq!(out.len(), 258);
        });
    });

    let query = apdu("00 20 00 80");
    card.transmit(&apdu("00 A4 02 0C 02 00 18"));
    group.bench_function("verify_retry_query", |b| {
        b.iter(|| {
            card.transmit_into(black_box(&query), &mut out);
            assert_eq!(out, [0x63, 0xC3]);
        });
    });

    card.transmit(&apdu("00 20 00 80 04 31 32 33 34"));
    card.transmit(&apdu("00 A4 02 0C 02 00 17"));
    let digest_info = format!(
        "30 31 30 0D 06 09 60 86 48 01 65 03 04 02 01 05 00 04 20 {}",
        hex::spaced(&[0x5A; 32])
    );
    let sign = apdu(&format!("80 2A 00 80 33 {digest_info} 00"));
    group.bench_function("compute_digital_signature", |b| {
        b.iter(|| {
            card.transmit_into(black_box(&sign), &mut out);
            assert!(ok(&out) && out.len() == 258);
        });
    });
    group.finish();
}

criterion_group!(benches, card_benchmarks);
criterion_main!(benches);
