//! The vpcd transport over real loopback TCP: the card side ([`serve_connection`]) against the
//! fake reader, which drives it the way pcscd's vpcd driver does.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use mynasim_simulator::card::{EchoCard, VirtualCard};
use mynasim_simulator::hex;
use mynasim_simulator::transcript::{Entry, text};
use mynasim_simulator::transport::{
    self, Control, Ended, FakeReader, FrameError, MAX_FRAME, ReaderError, ReaderLink,
};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::support::{self, SELECT_JPKI, select_ef, verify};

const DEFAULT_ATR: &str = "3B 88 80 01 00 00 05 E0 B3 81 A1 00 7F";

/// What the card side reported, as text lines.
type Log = Arc<Mutex<Vec<String>>>;

struct Running<C> {
    reader: ReaderLink,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<(Result<Ended, FrameError>, C)>,
    log: Log,
}

/// A card served over loopback TCP to a fresh fake reader.
async fn serve<C: VirtualCard + Send + 'static>(mut card: C) -> Running<C> {
    let fake = FakeReader::bind("127.0.0.1:0").await.unwrap();
    let addr = fake.local_addr().unwrap();
    let log: Log = Arc::default();
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let task_log = log.clone();
    let task = tokio::spawn(async move {
        let stream = transport::connect(addr).await.unwrap();
        let result = transport::serve_connection(
            stream,
            &mut card,
            |event| task_log.lock().unwrap().push(describe(&event)),
            async {
                let _ = stop_rx.await;
            },
        )
        .await;
        (result, card)
    });
    let reader = fake.accept().await.unwrap();
    Running {
        reader,
        stop: Some(stop_tx),
        task,
        log,
    }
}

/// An entry as its transcript lines.
fn describe(entry: &Entry) -> String {
    let mut line = String::new();
    text::push_event(&mut line, &entry.event, true);
    line.trim_end().to_owned()
}

fn apdu(text: &str) -> Vec<u8> {
    hex::decode(text).unwrap()
}

async fn tx(reader: &mut ReaderLink, text: &str) -> String {
    hex::spaced(&reader.transmit(&apdu(text)).await.unwrap())
}

#[tokio::test]
async fn power_on_get_atr_and_the_card_check_sequence() {
    let mut r = serve(support::card()).await;
    assert_eq!(
        hex::spaced(&r.reader.power_on().await.unwrap()),
        DEFAULT_ATR
    );
    assert_eq!(tx(&mut r.reader, SELECT_JPKI).await, "90 00");
    assert_eq!(tx(&mut r.reader, &select_ef(0x0006)).await, "90 00");
    let token = r.reader.transmit(&apdu("00 B0 00 00 20")).await.unwrap();
    assert!(
        token.starts_with(b"JPKIAPICCTOKEN2"),
        "{}",
        hex::spaced(&token)
    );
    assert_eq!(token.len(), 0x20 + 2);
    r.stop.take().unwrap().send(()).unwrap();
    let (result, _) = r.task.await.unwrap();
    assert_eq!(result.unwrap(), Ended::Stopped);
    let log = r.log.lock().unwrap();
    assert_eq!(log[0], format!("-- power on, ATR {DEFAULT_ATR}"));
    assert_eq!(log[1], "-- get ATR");
    assert_eq!(log.len(), 5);
}

#[tokio::test]
async fn get_atr_never_changes_state_and_power_off_forgets_the_pin() {
    let mut r = serve(support::card()).await;
    r.reader.power_on().await.unwrap();
    tx(&mut r.reader, SELECT_JPKI).await;
    tx(&mut r.reader, &select_ef(0x0018)).await;
    assert_eq!(tx(&mut r.reader, &verify("1234")).await, "90 00");
    // pcscd's presence poll, many times: the session and the verified PIN survive.
    for _ in 0..20 {
        assert_eq!(hex::spaced(&r.reader.get_atr().await.unwrap()), DEFAULT_ATR);
    }
    tx(&mut r.reader, &select_ef(0x0017)).await;
    let digest_info = format!("{} {}", support::SHA256_DIGEST_INFO, hex::spaced(&[7; 32]));
    let sign = format!("80 2A 00 80 33 {digest_info} 00");
    let signature = r.reader.transmit(&apdu(&sign)).await.unwrap();
    assert_eq!(signature.len(), 258);
    assert!(signature.ends_with(&[0x90, 0x00]));
    // Warm reset keeps the verified key (reference §2.5); the current EF is forgotten.
    r.reader.reset().await.unwrap();
    tx(&mut r.reader, SELECT_JPKI).await;
    tx(&mut r.reader, &select_ef(0x0017)).await;
    assert!(tx(&mut r.reader, &sign).await.ends_with("90 00"));
    // Power off then on: the verified state is gone, the retry counter is not touched.
    r.reader.power_off().await.unwrap();
    assert_eq!(hex::spaced(&r.reader.get_atr().await.unwrap()), DEFAULT_ATR);
    r.reader.power_on().await.unwrap();
    tx(&mut r.reader, SELECT_JPKI).await;
    tx(&mut r.reader, &select_ef(0x0017)).await;
    assert_eq!(tx(&mut r.reader, &sign).await, "69 82");
    tx(&mut r.reader, &select_ef(0x0018)).await;
    assert_eq!(tx(&mut r.reader, "00 20 00 80").await, "63 C3");
}

#[tokio::test]
async fn an_unpowered_card_is_mute_and_answers_an_empty_frame() {
    let mut r = serve(support::default_issued().card.clone()).await;
    assert_eq!(hex::spaced(&r.reader.get_atr().await.unwrap()), DEFAULT_ATR);
    assert!(matches!(
        r.reader.transmit(&apdu(SELECT_JPKI)).await,
        Err(ReaderError::Mute)
    ));
    r.reader.power_on().await.unwrap();
    assert_eq!(tx(&mut r.reader, SELECT_JPKI).await, "90 00");
}

#[tokio::test]
async fn unknown_control_codes_and_empty_frames_are_ignored() {
    let mut r = serve(support::card()).await;
    for byte in [0x03, 0x05, 0x80, 0xFF] {
        r.reader.send(&[byte]).await.unwrap();
    }
    r.reader.send(&[]).await.unwrap();
    // The next answer is the ATR: nothing was sent for the ignored frames.
    assert_eq!(hex::spaced(&r.reader.get_atr().await.unwrap()), DEFAULT_ATR);
    assert_eq!(tx(&mut r.reader, SELECT_JPKI).await, "90 00");
    let log = r.log.lock().unwrap().join("\n");
    assert!(
        log.starts_with(
            "-- link: unknown control byte 03 ignored\n-- link: unknown control byte 05 ignored\n\
             -- link: unknown control byte 80 ignored\n-- link: unknown control byte FF ignored\n\
             -- link: empty frame ignored\n-- get ATR"
        ),
        "{log}"
    );
}

#[tokio::test]
async fn frames_split_byte_by_byte_and_merged_are_answered_in_order() {
    let mut r = serve(support::card()).await;
    // Power on, get ATR and SELECT in one write.
    let mut wire = vec![0x00, 0x01, 0x01, 0x00, 0x01, 0x04];
    let select = apdu(SELECT_JPKI);
    wire.extend_from_slice(&(select.len() as u16).to_be_bytes());
    wire.extend_from_slice(&select);
    r.reader.send_bytes(&wire).await.unwrap();
    assert_eq!(
        hex::spaced(&r.reader.receive().await.unwrap().unwrap()),
        DEFAULT_ATR
    );
    assert_eq!(
        hex::spaced(&r.reader.receive().await.unwrap().unwrap()),
        "90 00"
    );
    // One byte per write.
    let ef = apdu(&select_ef(0x0006));
    let mut wire = (ef.len() as u16).to_be_bytes().to_vec();
    wire.extend_from_slice(&ef);
    for byte in wire {
        r.reader.send_bytes(&[byte]).await.unwrap();
        tokio::task::yield_now().await;
    }
    assert_eq!(
        hex::spaced(&r.reader.receive().await.unwrap().unwrap()),
        "90 00"
    );
}

#[tokio::test]
async fn a_reader_closing_mid_frame_is_a_clear_error() {
    let mut r = serve(EchoCard).await;
    r.reader
        .send_bytes(&[0x00, 0x10, 0x00, 0xA4])
        .await
        .unwrap();
    drop(r.reader);
    let (result, _) = r.task.await.unwrap();
    let err = result.unwrap_err();
    assert_eq!(
        err.to_string(),
        "connection closed mid-frame: received 4 of 18 bytes"
    );
}

#[tokio::test]
async fn a_reader_closing_between_frames_ends_the_session_cleanly() {
    let mut r = serve(EchoCard).await;
    r.reader.get_atr().await.unwrap();
    drop(r.reader);
    let (result, _) = r.task.await.unwrap();
    assert_eq!(result.unwrap(), Ended::ReaderClosed);
}

#[tokio::test]
async fn the_largest_frame_passes_and_a_larger_one_is_refused_by_the_reader() {
    let mut r = serve(EchoCard).await;
    let mut big = vec![0x80, 0xCA, 0x00, 0x00, 0x00];
    big.resize(MAX_FRAME, 0x5A);
    assert_eq!(r.reader.transmit(&big).await.unwrap(), [0x90, 0x00]);
    big.push(0);
    assert!(matches!(
        r.reader.transmit(&big).await,
        Err(ReaderError::Frame(FrameError::TooLong { len: 65536 }))
    ));
    // Nothing was sent: the link still works.
    assert_eq!(
        r.reader.transmit(&[0, 0, 0, 0]).await.unwrap(),
        [0x90, 0x00]
    );
}

/// A card whose response can never fit in a frame.
struct Oversize;

impl VirtualCard for Oversize {
    fn atr(&self) -> &[u8] {
        &EchoCard::ATR
    }
    fn power_on(&mut self) {}
    fn power_off(&mut self) {}
    fn reset(&mut self) {}
    fn transmit_into(&mut self, _apdu: &[u8], out: &mut Vec<u8>) {
        out.clear();
        out.resize(MAX_FRAME + 3, 0x00);
    }
}

#[tokio::test]
async fn a_response_over_the_frame_limit_becomes_6f00() {
    let mut r = serve(Oversize).await;
    assert_eq!(
        r.reader.transmit(&[0, 0xB0, 0, 0]).await.unwrap(),
        [0x6F, 0x00]
    );
    let log = r.log.lock().unwrap();
    assert_eq!(
        log[log.len() - 2],
        "-- link: a 65538-byte response does not fit in a vpcd frame; 6F 00 sent instead"
    );
    assert_eq!(log[log.len() - 1], ">> 00 B0 00 00\n<< 6F 00");
}

#[tokio::test]
async fn a_debian_style_reader_splitting_length_and_body_is_answered() {
    let mut r = serve(support::card()).await;
    r.reader.emulate_debian_vpcd().unwrap();
    r.reader.power_on().await.unwrap();
    for _ in 0..5 {
        assert_eq!(tx(&mut r.reader, SELECT_JPKI).await, "90 00");
    }
}

#[tokio::test]
async fn connecting_where_nothing_listens_fails_fast() {
    let fake = FakeReader::bind("127.0.0.1:0").await.unwrap();
    let addr = fake.local_addr().unwrap();
    drop(fake);
    let result = tokio::time::timeout(Duration::from_secs(5), transport::connect(addr)).await;
    assert!(result.expect("no hang").is_err());
}

#[test]
fn slot_addresses_add_the_slot_to_the_port() {
    let base = transport::DEFAULT_ADDR;
    assert_eq!(base.to_string(), "127.0.0.1:35963");
    assert_eq!(transport::slot_addr(base, 1).unwrap().port(), 35964);
    let top = "127.0.0.1:65535".parse().unwrap();
    assert!(transport::slot_addr(top, 1).is_none());
    assert_eq!(Control::GetAtr.byte(), 0x04);
}
