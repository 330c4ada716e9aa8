//! Insertion and removal to "visible in PC/SC", with each reader driver: Debian's
//! vsmartcard-vpcd (pcscd polls presence every 400 ms) and mynasim-ifd (card events).
//!
//! `ci/bench insertion` (root). For each driver the process starts a private pcscd (the
//! harness's `host::pcscd`) and re-runs itself with `PCSCLITE_CSOCK_NAME` pointing at it.
//! One timed iteration: the card (the one hosting loop, `host::slot`) is inserted — it
//! connects to the driver's port — and the clock runs until `SCardGetStatusChange` reports
//! the reader's card present; then the same for its removal. Benchmarks:
//! `insertion/{vpcd,mynasim_ifd}_insert` and `…_remove`.

use std::ffi::CString;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use criterion::{Criterion, SamplingMode};
use mynasim_benches::live::TempFolder;
use mynasim_harness::host::pcscd::{Driver, Ports, PrivatePcscd};
use mynasim_harness::host::slot::{SlotSpec, ThreadSlot};
use mynasim_simulator::card::EchoCard;
use pcsc::{Context, ReaderState, Scope, State};

/// Set in the re-run child: `PORT DRIVER`.
const CHILD: &str = "MYNASIM_BENCH_INSERTION";

fn main() {
    match std::env::var(CHILD) {
        Ok(spec) => {
            let mut parts = spec.split_whitespace();
            let (Some(Ok(port)), Some(driver)) =
                (parts.next().map(str::parse::<u16>), parts.next())
            else {
                eprintln!("bad {CHILD}");
                std::process::exit(2);
            };
            let mut criterion = Criterion::default().configure_from_args();
            insertion_benchmarks(&mut criterion, port, driver);
            criterion.final_summary();
        }
        Err(_) => std::process::exit(orchestrate()),
    }
}

/// Runs the benchmarks once per driver, each against a private pcscd of its own.
fn orchestrate() -> i32 {
    let drivers = match Driver::mynasim(2) {
        Ok(ifd) => vec![("vpcd", Driver::Vpcd), ("mynasim_ifd", ifd)],
        Err(e) => {
            eprintln!("insertion benchmark: {e}; Debian's driver only");
            vec![("vpcd", Driver::Vpcd)]
        }
    };
    for (name, driver) in drivers {
        let code = run_with(name, &driver);
        if code != 0 {
            return code;
        }
    }
    0
}

fn run_with(name: &str, driver: &Driver) -> i32 {
    let started = Ports::reserve(2).and_then(|ports| {
        let dir = TempFolder(std::env::temp_dir().join(format!(
            "mynasim-bench-insertion-{}-{name}",
            std::process::id()
        )));
        let mut pcscd = PrivatePcscd::start_with(&dir.0, ports.base, false, driver)?;
        pcscd.wait_ready(Duration::from_secs(10))?;
        Ok((pcscd, ports, dir))
    });
    let (pcscd, ports, _dir) = match started {
        Ok(started) => started,
        Err(e) => {
            eprintln!("insertion benchmark ({name}): {e}");
            return 1;
        }
    };
    let status = std::env::current_exe().and_then(|exe| {
        std::process::Command::new(exe)
            .args(std::env::args_os().skip(1))
            .env("PCSCLITE_CSOCK_NAME", pcscd.socket())
            .env(CHILD, format!("{} {name}", ports.base))
            .status()
    });
    drop(pcscd);
    match status {
        Ok(status) => status.code().unwrap_or(1),
        Err(e) => {
            eprintln!("insertion benchmark: cannot re-run itself: {e}");
            1
        }
    }
}

/// Waits until the reader's card is `present` (or absent); how long since `since`.
#[expect(clippy::panic, reason = "benchmark")]
fn until(ctx: &Context, states: &mut [ReaderState; 1], present: bool, since: Instant) -> Duration {
    loop {
        let [state] = &mut *states;
        if state.event_state().contains(State::PRESENT) == present {
            return since.elapsed();
        }
        state.sync_current_state();
        match ctx.get_status_change(Duration::from_secs(10), states) {
            Ok(()) => {}
            Err(pcsc::Error::Timeout) => panic!("no change within 10 s"),
            Err(e) => panic!("SCardGetStatusChange: {e}"),
        }
    }
}

#[expect(clippy::expect_used, reason = "benchmark set-up")]
fn insertion_benchmarks(c: &mut Criterion, port: u16, driver: &str) {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let slot = ThreadSlot::spawn(SlotSpec { number: 0, addr }, EchoCard).expect("slot thread");
    let ctx = Context::establish(Scope::User).expect("the private pcscd answers");
    let name = CString::new("Virtual PCD 00 00").expect("reader name");
    let mut states = [ReaderState::new(name, State::UNAWARE)];
    // The card starts inserted: wait for it, then take it out.
    until(&ctx, &mut states, true, Instant::now());
    slot.handle().remove();
    until(&ctx, &mut states, false, Instant::now());

    let mut group = c.benchmark_group("insertion");
    group.sample_size(10);
    group.sampling_mode(SamplingMode::Flat);
    group.measurement_time(Duration::from_secs(if driver == "vpcd" { 20 } else { 3 }));
    group.bench_function(format!("{driver}_insert"), |b| {
        b.iter_custom(|iters| cycle(&ctx, &mut states, &slot, true, iters));
    });
    // Removal is timed with the card in: put it back first.
    slot.handle().insert();
    until(&ctx, &mut states, true, Instant::now());
    group.bench_function(format!("{driver}_remove"), |b| {
        b.iter_custom(|iters| cycle(&ctx, &mut states, &slot, false, iters));
    });
    group.finish();
}

/// `iters` timed moves of the card (`insert`: in, else out), each undone untimed.
fn cycle(
    ctx: &Context,
    states: &mut [ReaderState; 1],
    slot: &ThreadSlot,
    insert: bool,
    iters: u64,
) -> Duration {
    let mut total = Duration::ZERO;
    for _ in 0..iters {
        let start = Instant::now();
        if insert {
            slot.handle().insert();
        } else {
            slot.handle().remove();
        }
        total += until(ctx, states, insert, start);
        if insert {
            slot.handle().remove();
        } else {
            slot.handle().insert();
        }
        until(ctx, states, !insert, Instant::now());
    }
    total
}
