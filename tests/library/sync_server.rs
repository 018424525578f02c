//! The test sync server (`tests/common/sync_server.rs`) against plain
//! `TcpStream` requests: it stores and deduplicates, refuses what it says it
//! refuses, and every fault does what its name says. No timing assertions:
//! a stall is only checked for saying nothing before it closes.

use crate::common::at;
use crate::common::sync_server::{Fault, SyncServer, TEST_TOKEN, reserve_loopback_port};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;
use taproll::events::{Envelope, Event, SCHEMA_VERSION};
use taproll_wire::protocol::{Batch, BatchAnswer, PROTOCOL_VERSION};
use uuid::Uuid;

/// `count` events of `device`, from `first_seq` on.
fn events(device: Uuid, first_seq: i64, count: usize) -> Vec<Envelope> {
    (0..count)
        .map(|i| Envelope {
            schema_version: SCHEMA_VERSION,
            event_id: Uuid::now_v7(),
            device_id: device,
            seq: first_seq + i as i64,
            at: at("09:04:12"),
            event: Event::CardRemoved {
                uid: format!("04A1B2C3{i:06X}"),
                student_no: format!("s{i}"),
            },
        })
        .collect()
}

fn body(device: Uuid, events: &[Envelope]) -> Vec<u8> {
    serde_json::to_vec(&Batch {
        protocol: PROTOCOL_VERSION,
        device_id: device,
        sent_at: at("09:05:00"),
        events: events.to_vec(),
    })
    .unwrap()
}

/// What came back on the connection.
#[derive(Debug)]
enum Reply {
    /// A whole answer.
    Answer {
        status: u16,
        head: String,
        body: Vec<u8>,
    },
    /// The connection closed before a whole answer; these bytes came first.
    Closed(Vec<u8>),
}

impl Reply {
    fn status(&self) -> u16 {
        match self {
            Reply::Answer { status, .. } => *status,
            Reply::Closed(bytes) => panic!(
                "no answer, the connection closed after {:?}",
                String::from_utf8_lossy(bytes)
            ),
        }
    }

    fn answer(&self) -> BatchAnswer {
        match self {
            Reply::Answer { body, .. } => serde_json::from_slice(body).unwrap(),
            Reply::Closed(_) => panic!("no answer: {self:?}"),
        }
    }

    /// A header of the answer (name in lower case).
    fn header(&self, name: &str) -> Option<String> {
        let Reply::Answer { head, .. } = self else {
            return None;
        };
        head.lines().skip(1).find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.eq_ignore_ascii_case(name)
                .then(|| value.trim().to_string())
        })
    }

    fn body_text(&self) -> String {
        match self {
            Reply::Answer { body, .. } => String::from_utf8_lossy(body).into_owned(),
            Reply::Closed(_) => panic!("no answer: {self:?}"),
        }
    }
}

/// One keep-alive connection to the server.
struct Client {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Client {
    fn connect(server: &SyncServer) -> Client {
        let stream = TcpStream::connect(("127.0.0.1", server.port())).unwrap();
        // Only so that a broken server fails the test instead of hanging it.
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        Client {
            reader: BufReader::new(stream.try_clone().unwrap()),
            writer: stream,
        }
    }

    fn post(&mut self, token: &str, body: &[u8]) -> Reply {
        self.send("POST", "/v1/events", Some(token), body)
    }

    fn send(&mut self, method: &str, path: &str, token: Option<&str>, body: &[u8]) -> Reply {
        let mut request = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
            body.len()
        );
        if let Some(token) = token {
            request.push_str(&format!("Authorization: Bearer {token}\r\n"));
        }
        request.push_str("\r\n");
        let mut bytes = request.into_bytes();
        bytes.extend_from_slice(body);
        self.raw(&bytes)
    }

    /// Writes `request` as it is and reads one answer.
    fn raw(&mut self, request: &[u8]) -> Reply {
        self.writer.write_all(request).unwrap();
        self.read_reply()
    }

    fn read_reply(&mut self) -> Reply {
        let mut seen = Vec::new();
        let mut head = String::new();
        loop {
            let mut line = Vec::new();
            let read = self.reader.read_until(b'\n', &mut line).unwrap();
            seen.extend_from_slice(&line);
            if read == 0 || !line.ends_with(b"\n") {
                return Reply::Closed(seen);
            }
            if line == b"\r\n" {
                break;
            }
            head.push_str(&String::from_utf8(line).unwrap());
        }
        let status: u16 = head.split(' ').nth(1).unwrap().parse().unwrap();
        let length: usize = head
            .lines()
            .find_map(|line| {
                let (key, value) = line.split_once(':')?;
                key.eq_ignore_ascii_case("content-length")
                    .then(|| value.trim().parse().unwrap())
            })
            .expect("every answer has a Content-Length");
        let mut body = Vec::new();
        (&mut self.reader)
            .take(length as u64)
            .read_to_end(&mut body)
            .unwrap();
        if body.len() < length {
            seen.extend_from_slice(&body);
            return Reply::Closed(seen);
        }
        Reply::Answer { status, head, body }
    }

    /// True when the server closed the connection (reading gives its end).
    fn is_closed(&mut self) -> bool {
        let mut rest = Vec::new();
        self.reader.read_to_end(&mut rest).is_ok() && rest.is_empty()
    }
}

/// POSTs `events` on a fresh connection with the right token.
fn post(server: &SyncServer, events: &[Envelope]) -> Reply {
    let device = events.first().map_or_else(Uuid::now_v7, |e| e.device_id);
    Client::connect(server).post(TEST_TOKEN, &body(device, events))
}

fn ids(events: &[Envelope]) -> Vec<Uuid> {
    events.iter().map(|e| e.event_id).collect()
}

#[test]
fn a_batch_is_accepted_then_known_when_sent_again_on_the_same_connection() {
    let server = SyncServer::start();
    let device = Uuid::now_v7();
    let sent = events(device, 1, 3);
    let mut client = Client::connect(&server);

    let first = client.post(TEST_TOKEN, &body(device, &sent));
    assert_eq!(first.status(), 200);
    assert_eq!(first.header("content-type").unwrap(), "application/json");
    assert_eq!(first.answer().accepted, ids(&sent));
    assert!(first.answer().known.is_empty() && first.answer().rejected.is_empty());

    // A regrouped resend: one old event with a new one.
    let more = events(device, 4, 1);
    let regrouped = [sent[2].clone(), more[0].clone()];
    let second = client.post(TEST_TOKEN, &body(device, &regrouped));
    assert_eq!(second.answer().known, vec![sent[2].event_id]);
    assert_eq!(second.answer().accepted, vec![more[0].event_id]);

    let stored = server.events();
    assert_eq!(ids(&stored), [ids(&sent), ids(&more)].concat());
    assert_eq!(stored[0], sent[0], "stored as sent");
    assert_eq!(server.received_count(), 4);
    assert!(server.out_of_order().is_empty());

    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0].connection, requests[1].connection, "keep-alive");
    assert_eq!(requests[0].status, Some(200));
    assert_eq!(requests[0].events, 3);
    assert_eq!(requests[1].event_ids, ids(&regrouped));
    assert_eq!(
        requests[0].header("Authorization").unwrap(),
        "Bearer test-token"
    );
    assert_eq!(requests[0].headers[0].0, "host", "names in lower case");
    assert_eq!(requests[0].body_len, body(device, &sent).len());
}

#[test]
fn a_wrong_or_missing_token_gets_401_and_nothing_is_stored() {
    let server = SyncServer::start_with("secret");
    let device = Uuid::now_v7();
    let sent = events(device, 1, 2);
    let mut client = Client::connect(&server);

    let wrong = client.post("not-the-secret", &body(device, &sent));
    assert_eq!(wrong.status(), 401);
    let error: serde_json::Value = serde_json::from_str(&wrong.body_text()).unwrap();
    assert!(error["error"].is_string(), "{error}");
    let none = client.send("POST", "/v1/events", None, &body(device, &sent));
    assert_eq!(none.status(), 401);
    assert_eq!(server.received_count(), 0);

    assert_eq!(client.post("secret", &body(device, &sent)).status(), 200);
    server.set_token("another");
    assert_eq!(client.post("secret", &body(device, &sent)).status(), 401);
    assert_eq!(server.received_count(), 2);
}

#[test]
fn what_is_not_a_good_batch_is_refused_with_the_status_it_deserves() {
    let server = SyncServer::start();
    let device = Uuid::now_v7();
    let sent = events(device, 1, 1);
    let good = body(device, &sent);
    let mut client = Client::connect(&server);

    let elsewhere = client.send("POST", "/v2/events", Some(TEST_TOKEN), &good);
    assert_eq!(elsewhere.status(), 404);
    let get = client.send("GET", "/v1/events", Some(TEST_TOKEN), b"");
    assert_eq!(get.status(), 405);
    assert_eq!(client.post(TEST_TOKEN, b"{not json").status(), 400);

    let mut future: serde_json::Value = serde_json::from_slice(&good).unwrap();
    future["protocol"] = 2.into();
    let future = serde_json::to_vec(&future).unwrap();
    assert_eq!(client.post(TEST_TOKEN, &future).status(), 400);

    let stranger = events(Uuid::now_v7(), 1, 1);
    let mixed = body(device, &[sent[0].clone(), stranger[0].clone()]);
    let refused = client.post(TEST_TOKEN, &mixed);
    assert_eq!(refused.status(), 400);
    assert!(
        refused
            .body_text()
            .contains(&stranger[0].event_id.to_string())
    );

    assert_eq!(server.received_count(), 0);
    let statuses: Vec<_> = server.requests().iter().map(|r| r.status).collect();
    let expected = [404, 405, 400, 400, 400].map(Some);
    assert_eq!(statuses, expected);
}

#[test]
fn events_to_reject_are_answered_with_their_reason_and_not_stored() {
    let server = SyncServer::start();
    let device = Uuid::now_v7();
    let sent = events(device, 1, 3);
    server.reject_events([sent[1].event_id], "no such course");

    let answer = post(&server, &sent).answer();
    assert_eq!(answer.accepted, vec![sent[0].event_id, sent[2].event_id]);
    assert_eq!(answer.rejected.len(), 1);
    assert_eq!(answer.rejected[0].event_id, sent[1].event_id);
    assert_eq!(answer.rejected[0].reason, "no such course");
    assert_eq!(
        ids(&server.events()),
        vec![sent[0].event_id, sent[2].event_id]
    );
    // Still rejected when it comes again.
    assert_eq!(post(&server, &sent[1..2]).answer().rejected.len(), 1);
}

#[test]
fn scripted_statuses_come_once_each_in_order_then_normal_answers() {
    let server = SyncServer::start();
    let date = "Wed, 21 Oct 2026 07:28:00 GMT";
    server.script([
        Fault::Status(503),
        Fault::StatusRetryAfter(429, "1".into()),
        Fault::StatusRetryAfter(503, date.into()),
        Fault::Status(307),
        Fault::Answer(200, "{}".into()),
        Fault::Answer(422, r#"{"error":"event 3 names no session"}"#.into()),
    ]);
    let device = Uuid::now_v7();
    let sent = events(device, 1, 2);
    let mut client = Client::connect(&server);
    let mut replies = Vec::new();
    for _ in 0..7 {
        replies.push(client.post(TEST_TOKEN, &body(device, &sent)));
    }

    let statuses: Vec<u16> = replies.iter().map(Reply::status).collect();
    assert_eq!(statuses, [503, 429, 503, 307, 200, 422, 200]);
    assert_eq!(replies[0].header("retry-after"), None);
    assert_eq!(replies[1].header("retry-after").unwrap(), "1");
    assert_eq!(replies[2].header("retry-after").unwrap(), date);
    assert!(
        replies[3]
            .header("location")
            .unwrap()
            .ends_with("/v1/events")
    );
    assert_eq!(replies[4].body_text(), "{}");
    assert!(replies[5].body_text().contains("names no session"));
    assert_eq!(replies[6].answer().accepted, ids(&sent));

    assert_eq!(ids(&server.events()), ids(&sent), "stored only by the last");
    let requests = server.requests();
    assert_eq!(
        requests[1].fault,
        Some(Fault::StatusRetryAfter(429, "1".into()))
    );
    assert_eq!(requests[6].fault, None);
}

#[test]
fn store_then_cut_stores_and_closes_without_a_byte_and_the_resend_is_known() {
    let server = SyncServer::start();
    server.script([Fault::StoreThenCut]);
    let device = Uuid::now_v7();
    let sent = events(device, 1, 2);
    let mut client = Client::connect(&server);

    match client.post(TEST_TOKEN, &body(device, &sent)) {
        Reply::Closed(bytes) => assert!(bytes.is_empty(), "{bytes:?}"),
        reply => panic!("answered: {reply:?}"),
    }
    assert_eq!(ids(&server.events()), ids(&sent));
    assert_eq!(server.requests()[0].status, None);

    assert_eq!(post(&server, &sent).answer().known, ids(&sent));
    assert_eq!(server.received_count(), 2);
}

#[test]
fn cut_mid_answer_stores_and_sends_half_an_answer() {
    let server = SyncServer::start();
    server.script([Fault::CutMidAnswer]);
    let sent = events(Uuid::now_v7(), 1, 5);

    match post(&server, &sent) {
        Reply::Closed(bytes) => {
            let text = String::from_utf8(bytes).unwrap();
            assert!(text.starts_with("HTTP/1.1 200"), "{text}");
        }
        reply => panic!("a whole answer: {reply:?}"),
    }
    assert_eq!(ids(&server.events()), ids(&sent));
    assert_eq!(post(&server, &sent).answer().known, ids(&sent));
}

#[test]
fn close_and_garbage_store_nothing() {
    let server = SyncServer::start();
    server.script([Fault::Close, Fault::Garbage]);
    let sent = events(Uuid::now_v7(), 1, 2);

    match post(&server, &sent) {
        Reply::Closed(bytes) => assert!(bytes.is_empty(), "{bytes:?}"),
        reply => panic!("answered: {reply:?}"),
    }
    let garbage = post(&server, &sent);
    assert_eq!(garbage.status(), 200);
    let text = garbage.body_text();
    assert!(
        serde_json::from_str::<serde_json::Value>(&text).is_err(),
        "{text}"
    );
    assert_eq!(server.received_count(), 0);

    assert_eq!(post(&server, &sent).answer().accepted, ids(&sent));
}

#[test]
fn a_stall_says_nothing_then_closes_and_down_ends_a_long_one() {
    let server = SyncServer::start();
    server.script([Fault::Stall(Duration::from_millis(200))]);
    let sent = events(Uuid::now_v7(), 1, 2);

    match post(&server, &sent) {
        Reply::Closed(bytes) => assert!(bytes.is_empty(), "{bytes:?}"),
        reply => panic!("answered: {reply:?}"),
    }
    assert_eq!(server.received_count(), 0);

    // An hour's stall ends with the server: the client sees the close
    // (its read timeout is 20 s, so this would fail, not hang).
    server.script([Fault::Stall(Duration::from_secs(3600))]);
    let device = sent[0].device_id;
    let mut client = Client::connect(&server);
    client
        .writer
        .write_all(&request_bytes(&body(device, &sent)))
        .unwrap();
    server.wait_for_requests(2, Duration::from_secs(10));
    server.down();
    assert!(client.is_closed());
    assert_eq!(server.received_count(), 0);
}

fn request_bytes(body: &[u8]) -> Vec<u8> {
    let mut bytes = format!(
        "POST /v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {TEST_TOKEN}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

#[test]
fn batches_above_the_limits_get_413() {
    let server = SyncServer::start();
    let device = Uuid::now_v7();
    let sent = events(device, 1, 4);
    server.set_max_batch(Some(3));
    assert_eq!(post(&server, &sent).status(), 413);
    assert_eq!(post(&server, &sent[..3]).status(), 200);
    server.set_max_batch(None);
    let big = body(device, &sent[3..]);
    server.set_max_body(Some(big.len() - 1));
    assert_eq!(post(&server, &sent[3..]).status(), 413);
    server.set_max_body(Some(big.len()));
    assert_eq!(post(&server, &sent[3..]).status(), 200);
    assert_eq!(ids(&server.events()), ids(&sent));
}

#[test]
fn a_chunked_body_and_connection_close_are_understood() {
    let server = SyncServer::start();
    let sent = events(Uuid::now_v7(), 1, 2);
    let body = body(sent[0].device_id, &sent);
    let (one, two) = body.split_at(body.len() / 3);
    let mut request = format!(
        "POST /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: bearer {TEST_TOKEN}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n{:x}\r\n",
        one.len()
    )
    .into_bytes();
    request.extend_from_slice(one);
    request.extend_from_slice(format!("\r\n{:x};ext=1\r\n", two.len()).as_bytes());
    request.extend_from_slice(two);
    request.extend_from_slice(b"\r\n0\r\n\r\n");
    let mut client = Client::connect(&server);

    let reply = client.raw(&request);
    assert_eq!(reply.answer().accepted, ids(&sent));
    assert_eq!(reply.header("connection").unwrap(), "close");
    assert!(client.is_closed());
}

/// The faults a seed gives to `n` requests (one event each).
fn chaos_faults(seed: u64, percent: u32, n: usize) -> Vec<Option<Fault>> {
    let server = SyncServer::start();
    server.chaos(seed, percent);
    let device = Uuid::now_v7();
    for seq in 1..=n {
        let _ = post(&server, &events(device, seq as i64, 1));
    }
    let requests = server.requests();
    assert_eq!(requests.len(), n);
    // Every event stored at most once, and exactly those not refused.
    let stored = server.received_count();
    let storing = requests
        .iter()
        .filter(|r| {
            matches!(
                r.fault,
                None | Some(Fault::StoreThenCut) | Some(Fault::CutMidAnswer)
            )
        })
        .count();
    assert_eq!(stored, storing);
    requests.into_iter().map(|r| r.fault).collect()
}

#[test]
fn chaos_gives_the_same_faults_for_the_same_seed() {
    let first = chaos_faults(42, 50, 40);
    let again = chaos_faults(42, 50, 40);
    assert_eq!(first, again);
    let faulted = first.iter().filter(|fault| fault.is_some()).count();
    assert!(faulted > 0 && faulted < 40, "{faulted} of 40 faulted");
    assert_ne!(chaos_faults(7, 50, 40), first, "another seed, other faults");
    assert!(chaos_faults(42, 0, 10).iter().all(Option::is_none));
    assert!(chaos_faults(42, 100, 10).iter().all(Option::is_some));
}

#[test]
fn down_refuses_connections_and_up_listens_on_the_same_port_with_what_it_stored() {
    let reserved = reserve_loopback_port();
    let port = reserved.port();
    assert!(
        TcpStream::connect(("127.0.0.1", port)).is_err(),
        "reserved: refused"
    );
    let server = SyncServer::start_reserved(reserved, TEST_TOKEN);
    assert_eq!(server.url(), format!("http://127.0.0.1:{port}"));
    let device = Uuid::now_v7();
    let sent = events(device, 1, 2);
    let mut kept_alive = Client::connect(&server);
    assert_eq!(
        kept_alive
            .post(TEST_TOKEN, &body(device, &sent[..1]))
            .status(),
        200
    );

    server.down();
    assert!(!server.is_up());
    assert!(TcpStream::connect(("127.0.0.1", port)).is_err(), "refused");
    assert!(kept_alive.is_closed(), "open connections are closed too");

    server.up();
    assert_eq!(server.port(), port);
    let answer = post(&server, &sent).answer();
    assert_eq!(answer.known, vec![sent[0].event_id]);
    assert_eq!(answer.accepted, vec![sent[1].event_id]);
    server.stop();
    assert!(TcpStream::connect(("127.0.0.1", port)).is_err(), "stopped");
}

#[test]
fn an_event_accepted_after_a_higher_seq_is_listed_as_out_of_order() {
    let server = SyncServer::start();
    let device = Uuid::now_v7();
    let sent = events(device, 1, 4);
    post(&server, &sent[..1]).answer();
    post(&server, &sent[2..]).answer();
    assert!(server.out_of_order().is_empty(), "a gap is not disorder");
    post(&server, &sent[1..2]).answer();
    post(&server, &sent).answer(); // all known: not counted again
    let out_of_order = server.out_of_order();
    assert_eq!(out_of_order.len(), 1, "{out_of_order:?}");
    assert!(
        out_of_order[0].contains("seq 2 accepted after seq 4"),
        "{out_of_order:?}"
    );
    // Another device has its own sequence.
    post(&server, &events(Uuid::now_v7(), 1, 1)).answer();
    assert_eq!(server.out_of_order().len(), 1);
}

#[test]
fn a_full_batch_of_500_is_taken_in_one_answer() {
    let server = SyncServer::start();
    let sent = events(Uuid::now_v7(), 1, 500);
    let answer = post(&server, &sent).answer();
    assert_eq!(answer.accepted.len(), 500);
    assert_eq!(
        server.wait_for_events(500, Duration::from_secs(10)).len(),
        500
    );
}

#[test]
#[should_panic(expected = "has 1 of the 2 events expected")]
fn waiting_for_events_that_do_not_come_says_how_many_came() {
    let server = SyncServer::start();
    post(&server, &events(Uuid::now_v7(), 1, 1)).answer();
    server.wait_for_events(2, Duration::from_millis(50));
}
