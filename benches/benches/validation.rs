//! The validation service (issue 11): an OCSP round trip over loopback HTTP as `openssl
//! ocsp` makes it (a new connection per request, POST, read to the end), the same answer in
//! process, and the daily CRL of a municipality partition with 10,000 revoked serials.
//!
//!   cargo bench -p mynasim-benches --bench validation

#![allow(clippy::expect_used, clippy::unwrap_used, missing_docs)]

use std::io::{Read, Write};
use std::net::TcpStream;

use criterion::{Criterion, criterion_group, criterion_main};
use jiff::SignedDuration;
use mynasim_harness::host::validation::Background;
use mynasim_simulator::pki::jpki::{self, CertKind};
use mynasim_simulator::pki::ocsp::{self, CertIdHash};
use mynasim_simulator::profile::Profile;
use mynasim_simulator::validation::{Record, Service, Status};
use x509_cert::ext::pkix::crl::CrlReason;

fn default_card() -> mynasim_simulator::profile::IssuedCard {
    let yaml = include_str!("../../scenarios/profiles/default.yaml");
    Profile::from_yaml(yaml, "default.yaml")
        .unwrap()
        .personalise("default.yaml")
        .unwrap()
        .issue()
        .unwrap()
}

fn post(addr: std::net::SocketAddr, body: &[u8]) -> Vec<u8> {
    let mut stream = TcpStream::connect(addr).unwrap();
    let head = format!(
        "POST /ocsp HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/ocsp-request\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body).unwrap();
    let mut out = Vec::new();
    stream.read_to_end(&mut out).unwrap();
    out
}

fn bench(c: &mut Criterion) {
    let card = default_card();
    let cert = &card.auth_certificate.as_ref().unwrap().certificate;
    let ca = &jpki::ca(CertKind::Authentication).unwrap().certificate;
    let request = ocsp::request(
        ocsp::cert_id(cert, ca, CertIdHash::Sha1).unwrap(),
        Some(b"0123456789abcdef"),
    )
    .unwrap();

    let service = Service::for_card(&card);
    c.bench_function("validation/ocsp_answer_in_process", |b| {
        b.iter(|| service.ocsp(&request));
    });

    let server =
        Background::start("127.0.0.1:0".parse().unwrap(), Service::for_card(&card)).unwrap();
    let reply = post(server.addr, &request);
    assert!(reply.starts_with(b"HTTP/1.1 200"), "the service answers");
    c.bench_function("validation/ocsp_round_trip_loopback_http", |b| {
        b.iter(|| post(server.addr, &request));
    });

    // A partition with 10,000 revoked certificates.
    let mut big = Service::for_card(&card);
    let now = big.clock.now();
    for i in 0..10_000u32 {
        big.registry.add(Record {
            kind: CertKind::Signature,
            serial: (0x0100_0000 + i).to_be_bytes().to_vec(),
            prefecture: "Tokyo-to".into(),
            municipality: "Chiyoda-ku".into(),
            issued: now - SignedDuration::from_hours(24 * 400),
            releasable: false,
            status: Status::Revoked {
                at: now - SignedDuration::from_hours(48),
                reason: CrlReason::AffiliationChanged,
            },
        });
    }
    let crl = big
        .crl(CertKind::Signature, "Tokyo-to", "Chiyoda-ku")
        .unwrap();
    assert!(
        crl.len() > 10_000 * 20,
        "the CRL lists them all ({} bytes)",
        crl.len()
    );
    let mut group = c.benchmark_group("validation");
    group.sample_size(10);
    group.bench_function("crl_partition_10000_revoked", |b| {
        b.iter(|| {
            big.crl(CertKind::Signature, "Tokyo-to", "Chiyoda-ku")
                .unwrap()
        });
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
