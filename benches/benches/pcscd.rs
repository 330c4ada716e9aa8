//! APDU round trips through a real pcscd and its vpcd driver, with the `pcsc` crate as the
//! client: mynasim versus a minimal echo card (`90 00` at once, same transport) versus
//! Debian's stock vicc (`vicc -t iso7816`, Python).
//!
//! `ci/bench pcscd` (root; `ci/setup --bench` installs vicc). The process starts a private
//! pcscd (the harness's `host::pcscd`) and re-runs itself with `PCSCLITE_CSOCK_NAME` pointing
//! at it, so the system's pcscd is never touched. The vpcd driver keeps its slots in one
//! static array, so a pcscd has one vpcd entry and two slots:
//! * "Virtual PCD 00 00" — the default mynasim card (SELECT EF 000A in the JPKI application);
//! * "Virtual PCD 00 01" — first the echo card (the same APDU), then vicc in its place
//!   (SELECT MF `00 A4 00 0C 02 3F 00`, also 7 bytes and `90 00`).
//!
//! mynasim and the echo card are measured paired: each timed APDU to one is followed by an
//! untimed APDU to the other, so both see the same conditions on a busy machine.

use std::ffi::CString;
use std::hint::black_box;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use criterion::Criterion;
use mynasim_benches::live::{Vicc, private_pcscd};
use mynasim_benches::{apdu, default_card, ok};
use mynasim_harness::host::slot::{SlotSpec, ThreadSlot};
use mynasim_simulator::card::{EchoCard, VirtualCard};
use pcsc::{Context, Protocols, ReaderState, Scope, ShareMode, State};

/// Set in the re-run child: the private pcscd's first vpcd port.
const CHILD: &str = "MYNASIM_BENCH_VPCD_PORT";

fn main() {
    match std::env::var(CHILD) {
        Ok(port) => {
            let Ok(port) = port.parse::<u16>() else {
                eprintln!("bad {CHILD}");
                std::process::exit(2);
            };
            let mut criterion = Criterion::default().configure_from_args();
            pcscd_benchmarks(&mut criterion, port);
            criterion.final_summary();
        }
        Err(_) => std::process::exit(orchestrate()),
    }
}

/// Starts the private pcscd and runs this benchmark again as a child pointed at it.
fn orchestrate() -> i32 {
    let (pcscd, ports, _dir) = match private_pcscd() {
        Ok(started) => started,
        Err(e) => {
            eprintln!("pcscd benchmark: {e}");
            return 1;
        }
    };
    let status = std::env::current_exe().and_then(|exe| {
        std::process::Command::new(exe)
            .args(std::env::args_os().skip(1))
            .env("PCSCLITE_CSOCK_NAME", pcscd.socket())
            .env(CHILD, ports.base.to_string())
            .status()
    });
    drop(pcscd);
    drop(ports);
    match status {
        Ok(status) => status.code().unwrap_or(1),
        Err(e) => {
            eprintln!("pcscd benchmark: cannot re-run itself: {e}");
            1
        }
    }
}

/// A card kept in a vpcd slot by the one hosting loop until dropped, which removes it.
#[expect(clippy::expect_used, reason = "benchmark set-up")]
fn plug<C: VirtualCard + Send + 'static>(card: C, port: u16) -> ThreadSlot {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    ThreadSlot::spawn(SlotSpec { number: 0, addr }, card).expect("the slot's thread starts")
}

/// Connects to the card in `reader` once pcscd sees one whose ATR is not `not_atr`.
#[expect(clippy::expect_used, clippy::panic, reason = "benchmark set-up")]
fn connect(ctx: &Context, reader: &str, not_atr: &[u8]) -> pcsc::Card {
    let name = CString::new(reader).expect("reader name");
    let mut states = [ReaderState::new(name.clone(), State::UNAWARE)];
    for _ in 0..100 {
        let seen = ctx
            .get_status_change(Duration::from_millis(200), &mut states)
            .is_ok();
        let [state] = &mut states;
        if seen && state.event_state().contains(State::PRESENT) && state.atr() != not_atr {
            return ctx
                .connect(&name, ShareMode::Shared, Protocols::ANY)
                .expect("connect to the card");
        }
        state.sync_current_state();
    }
    panic!("no card appeared in `{reader}` within 20 s");
}

fn round_trip(card: &pcsc::Card, command: &[u8], buffer: &mut [u8]) -> bool {
    card.transmit(black_box(command), buffer).is_ok_and(ok)
}

#[expect(clippy::expect_used, reason = "benchmark set-up")]
fn pcscd_benchmarks(c: &mut Criterion, port: u16) {
    let mut jpki = default_card();
    jpki.power_off();
    let _jpki = plug(jpki, port);
    let echo = plug(EchoCard, port + 1);

    let ctx = Context::establish(Scope::User).expect("the private pcscd answers");
    let mut buffer = vec![0; pcsc::MAX_BUFFER_SIZE_EXTENDED];
    let mut group = c.benchmark_group("pcscd");

    let card = connect(&ctx, "Virtual PCD 00 00", &[]);
    let echo_card = connect(&ctx, "Virtual PCD 00 01", &[]);
    let select_jpki = apdu("00 A4 04 0C 0A D3 92 F0 00 26 01 00 00 00 01");
    assert!(round_trip(&card, &select_jpki, &mut buffer));
    let select_ef = apdu("00 A4 02 0C 02 00 0A");
    // Paired: every timed APDU to one card is followed by an untimed one to the other, so
    // both benchmarks run under the same traffic and neither gains from going first.
    let mut paired = |timed: &pcsc::Card, other: &pcsc::Card, iters: u64| {
        let mut total = Duration::ZERO;
        for _ in 0..iters {
            let start = Instant::now();
            assert!(round_trip(timed, &select_ef, &mut buffer));
            total += start.elapsed();
            assert!(round_trip(other, &select_ef, &mut buffer));
        }
        total
    };
    group.bench_function("mynasim_select_ef", |b| {
        b.iter_custom(|iters| paired(&card, &echo_card, iters));
    });
    group.bench_function("echo", |b| {
        b.iter_custom(|iters| paired(&echo_card, &card, iters));
    });
    drop(echo_card);
    drop(echo);

    match Vicc::start(port + 1) {
        Err(e) => eprintln!("pcscd/vicc_iso7816 skipped: {e}"),
        Ok(vicc) => {
            let vicc_card = connect(&ctx, "Virtual PCD 00 01", &EchoCard::ATR);
            let select_mf = apdu("00 A4 00 0C 02 3F 00");
            // About 44 ms per APDU: few samples.
            group.sample_size(10);
            group.measurement_time(Duration::from_secs(8));
            group.bench_function("vicc_iso7816", |b| {
                b.iter(|| assert!(round_trip(&vicc_card, &select_mf, &mut buffer)));
            });
            drop(vicc_card);
            drop(vicc);
        }
    }
    group.finish();
}
