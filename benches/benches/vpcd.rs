//! APDU round trips over the vpcd protocol on loopback TCP: the fake reader (the listening
//! half of vpcd) drives the card side, no pcscd involved. Measures the transport itself.
//!
//! `cargo bench -p mynasim-benches --bench vpcd`:
//! * `vpcd/echo` — the echo card (`90 00` at once): the codec and two socket hops;
//! * `vpcd/mynasim_select_ef` — the default card answering SELECT EF;
//! * `vpcd/debian_split_writes` — the reader writes length and body separately with Nagle on,
//!   as Debian's vpcd driver does; the card side's re-armed `TCP_QUICKACK` keeps it fast;
//! * `vpcd/debian_split_writes_plain_socket` — the same against a card side on a plain
//!   socket (no `TCP_NODELAY`, no `TCP_QUICKACK`): the delayed-ACK stall the transport avoids.

use std::hint::black_box;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use mynasim_benches::{apdu, default_card, ok};
use mynasim_simulator::card::{EchoCard, VirtualCard};
use mynasim_simulator::transport::{self, FakeReader, ReaderLink};
use tokio::net::TcpStream;
use tokio::runtime::Runtime;

/// How the card side's socket is set up.
#[derive(Clone, Copy)]
enum CardSocket {
    /// [`transport::connect`]: `TCP_NODELAY` and re-armed `TCP_QUICKACK`.
    Tuned,
    /// A plain `TcpStream`: kernel defaults.
    Plain,
}

/// Runs `card` on its own runtime thread, connected to a fresh fake reader; returns the
/// reader's runtime and link.
#[expect(clippy::expect_used, reason = "benchmark set-up")]
fn link_to<C: VirtualCard + Send + 'static>(card: C, socket: CardSocket) -> (Runtime, ReaderLink) {
    let rt = runtime();
    let fake = rt.block_on(FakeReader::bind("127.0.0.1:0")).expect("bind");
    let addr = fake.local_addr().expect("address");
    std::thread::spawn(move || serve_card(card, addr, socket));
    let link = rt.block_on(fake.accept()).expect("card connects");
    (rt, link)
}

#[expect(clippy::expect_used, reason = "benchmark set-up")]
fn runtime() -> Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// The card side, until the reader goes away.
fn serve_card<C: VirtualCard>(mut card: C, addr: SocketAddr, socket: CardSocket) {
    runtime().block_on(async move {
        let never = std::future::pending::<()>();
        let result = match socket {
            CardSocket::Tuned => match transport::connect(addr).await {
                Ok(stream) => transport::serve_connection(stream, &mut card, |_| {}, never).await,
                Err(_) => return,
            },
            CardSocket::Plain => match TcpStream::connect(addr).await {
                Ok(stream) => transport::serve_connection(stream, &mut card, |_| {}, never).await,
                Err(_) => return,
            },
        };
        let _ = result;
    });
}

/// Times `iters` round trips of `command`, checking each answer with `check`.
fn round_trips(
    rt: &Runtime,
    link: &mut ReaderLink,
    command: &[u8],
    iters: u64,
    check: fn(&[u8]) -> bool,
) -> Duration {
    let mut response = Vec::with_capacity(300);
    rt.block_on(async {
        let start = Instant::now();
        for _ in 0..iters {
            let r = link.request_into(black_box(command), &mut response).await;
            assert!(r.is_ok() && check(&response));
        }
        start.elapsed()
    })
}

fn vpcd_benchmarks(c: &mut Criterion) {
    let mut group = c.benchmark_group("vpcd");
    let select_ef = apdu("00 A4 02 0C 02 00 0A");

    let (rt, mut link) = link_to(EchoCard, CardSocket::Tuned);
    group.bench_function("echo", |b| {
        b.iter_custom(|iters| round_trips(&rt, &mut link, &select_ef, iters, ok));
    });

    let mut card = default_card();
    card.transmit(&apdu("00 A4 04 0C 0A D3 92 F0 00 26 01 00 00 00 01"));
    let (rt, mut link) = link_to(card.clone(), CardSocket::Tuned);
    group.bench_function("mynasim_select_ef", |b| {
        b.iter_custom(|iters| round_trips(&rt, &mut link, &select_ef, iters, ok));
    });

    let (rt, mut link) = link_to(card.clone(), CardSocket::Tuned);
    assert!(link.emulate_debian_vpcd().is_ok());
    group.bench_function("debian_split_writes", |b| {
        b.iter_custom(|iters| round_trips(&rt, &mut link, &select_ef, iters, ok));
    });

    // About 40 ms per round trip: few samples.
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(5));
    let (rt, mut link) = link_to(card, CardSocket::Plain);
    assert!(link.emulate_debian_vpcd().is_ok());
    group.bench_function("debian_split_writes_plain_socket", |b| {
        b.iter_custom(|iters| round_trips(&rt, &mut link, &select_ef, iters, ok));
    });
    group.finish();
}

criterion_group!(benches, vpcd_benchmarks);
criterion_main!(benches);
