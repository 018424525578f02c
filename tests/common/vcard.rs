//! A virtual contactless card for vpcd: a TCP client speaking vpcd's frames
//! (2-byte big-endian length, then payload). A 1-byte payload is a control
//! (0 power off, 1 power on, 2 reset, 4 "send your ATR"); anything longer is
//! an APDU to answer. Connecting puts the card on the reader; closing the
//! socket takes it off.

use socket2::SockRef;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// ATR of a contactless storage card as PC/SC part 3 readers report it.
const ATR: [u8; 20] = [
    0x3B, 0x8F, 0x80, 0x01, 0x80, 0x4F, 0x0C, 0xA0, 0x00, 0x00, 0x03, 0x06, 0x03, 0x00, 0x01, 0x00,
    0x00, 0x00, 0x00, 0x6A,
];

/// How the card answers GET DATA (UID).
#[derive(Clone, Copy, Debug)]
pub enum Behaviour {
    /// UID then 90 00.
    GiveUid,
    /// Only this status word, e.g. 6A 81 (function not supported).
    Refuse(u8, u8),
}

pub struct Card {
    stream: TcpStream,
    thread: Option<JoinHandle<()>>,
    apdus: Arc<ApduLog>,
}

/// Each APDU the card received, with the time its answer was sent.
type ApduLog = Mutex<Vec<(Vec<u8>, Instant)>>;

impl Card {
    /// Puts a card with this UID on the reader listening at `port`. (vpcd
    /// accepts the connection at its next poll; until then it waits in the
    /// listening socket's queue.)
    pub fn insert(port: u16, uid: &[u8], behaviour: Behaviour) -> Self {
        // Generous, like every deadline of these tests. (Once Pcscd::start
        // or restart returned, the port listens and the first try works.)
        let deadline = Instant::now() + Duration::from_secs(60);
        let stream = loop {
            match TcpStream::connect(("127.0.0.1", port)) {
                Ok(stream) => break stream,
                Err(e) => {
                    assert!(Instant::now() < deadline, "vpcd port {port}: {e}");
                    std::thread::sleep(Duration::from_millis(20));
                }
            }
        };
        stream.set_nodelay(true).expect("nodelay");
        let reader = stream.try_clone().expect("clone the card's socket");
        let uid = uid.to_vec();
        let apdus = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&apdus);
        let thread = std::thread::spawn(move || serve(reader, &uid, behaviour, &log));
        Self {
            stream,
            thread: Some(thread),
            apdus,
        }
    }

    /// Every APDU the card was sent so far.
    pub fn apdus(&self) -> Vec<Vec<u8>> {
        let log = self.apdus.lock().expect("apdu log");
        log.iter().map(|(apdu, _)| apdu.clone()).collect()
    }

    /// When the card answered the first GET DATA (UID), just before sending.
    pub fn uid_answered_at(&self) -> Option<Instant> {
        let log = self.apdus.lock().expect("apdu log");
        log.iter()
            .find(|(apdu, _)| apdu.starts_with(&[0xFF, 0xCA]))
            .map(|(_, at)| *at)
    }

    /// Takes the card off the reader. Before putting another card on the
    /// same reader, use `Pcscd::take_off`, which waits until pcscd saw it.
    pub fn remove(mut self) {
        self.close();
    }

    fn close(&mut self) {
        let _ = self.stream.shutdown(Shutdown::Both);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Card {
    fn drop(&mut self) {
        self.close();
    }
}

fn serve(mut stream: TcpStream, uid: &[u8], behaviour: Behaviour, log: &ApduLog) {
    loop {
        // vpcd writes a frame's length and payload separately; without quick
        // ACKs, Nagle's algorithm on its side and delayed ACKs on ours add
        // about 40 ms to every APDU, which a USB reader does not have.
        let quick = |stream: &TcpStream| SockRef::from(stream).set_tcp_quickack(true);
        let _ = quick(&stream);
        let mut length = [0u8; 2];
        if stream.read_exact(&mut length).is_err() {
            return;
        }
        let _ = quick(&stream);
        let mut payload = vec![0u8; usize::from(u16::from_be_bytes(length))];
        if stream.read_exact(&mut payload).is_err() {
            return;
        }
        let answer: Vec<u8> = match payload.as_slice() {
            [4] => ATR.to_vec(),
            [_] => continue, // power on / off / reset: no answer
            [0xFF, 0xCA, 0x00, 0x00, ..] => match behaviour {
                Behaviour::GiveUid => [uid, &[0x90, 0x00]].concat(),
                Behaviour::Refuse(sw1, sw2) => vec![sw1, sw2],
            },
            _ => vec![0x6D, 0x00], // instruction not supported
        };
        let mut frame = (answer.len() as u16).to_be_bytes().to_vec();
        frame.extend_from_slice(&answer);
        // Logged before the answer goes out, so a test that has seen the
        // answer's effect always finds the APDU in the log.
        if payload.len() > 1 {
            log.lock()
                .expect("apdu log")
                .push((payload, Instant::now()));
        }
        if stream.write_all(&frame).is_err() {
            return;
        }
    }
}
