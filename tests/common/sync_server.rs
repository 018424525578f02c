//! A real HTTP/1.1 receiver of push protocol v1 (`docs/protocol.md`) for the
//! sync tests: `POST /v1/events` on 127.0.0.1, a Bearer token, deduplication
//! by event id, and faults on demand (a scripted queue, or seeded chaos).
//!
//! Plain std: a thread accepts, a thread per connection reads requests until
//! the client closes (keep-alive). Everything it answers depends only on the
//! requests and on what the test set, never on timing (except `Stall`, which
//! is a time by definition). It keeps what a test wants to check: every
//! event stored, once, in arrival order; every request with the status it
//! got; and any event accepted with a lower `seq` than one accepted before
//! from the same device.

use socket2::{Domain, Protocol, Socket, Type};
use std::collections::{HashMap, HashSet, VecDeque};
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};
use taproll::events::Envelope;
use taproll_wire::protocol::{Batch, BatchAnswer, EVENTS_PATH, PROTOCOL_VERSION, Rejection};
use uuid::Uuid;

/// The token `SyncServer::start` accepts.
pub const TEST_TOKEN: &str = "test-token";

/// The largest request body read (64 MiB); above it, 413 and the connection
/// is closed. Not the protocol's limit: see `set_max_body` for that.
const MAX_BODY: usize = 64 << 20;
/// The longest request line or header line.
const MAX_LINE: usize = 16 << 10;
const MAX_HEADERS: usize = 100;

/// What the server does to one request instead of its normal answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Answer this status with a short JSON error body; store nothing. A 3xx
    /// comes with a `Location` back to this same endpoint.
    Status(u16),
    /// The same with a `Retry-After` header: delta-seconds (`"1"`) or an
    /// HTTP-date (`"Wed, 21 Oct 2026 07:28:00 GMT"`).
    StatusRetryAfter(u16, String),
    /// Answer this status with exactly this body (as `application/json`);
    /// store nothing. For answers that parse but lie (`{}`, lists missing
    /// ids, a 422 with a message).
    Answer(u16, String),
    /// Read the request, store nothing, say nothing for this long, then
    /// close the connection.
    Stall(Duration),
    /// Read the request, store nothing, close at once without answering.
    Close,
    /// Store the events as normal, then close without answering: the client
    /// must send them again, and gets them back as `known`.
    StoreThenCut,
    /// Store the events, then say nothing for this long (or until `down`):
    /// a client killed meanwhile has them stored here but not marked sent.
    StoreThenStall(Duration),
    /// Store the events, write the first half of the answer's bytes, close.
    CutMidAnswer,
    /// 200 with a body that is not JSON (said to be JSON); store nothing.
    Garbage,
}

/// One request as the server saw it, and what it answered.
#[derive(Clone, Debug)]
pub struct Request {
    /// The connection it came on (1, 2, ...): equal numbers mean keep-alive.
    pub connection: u64,
    pub method: String,
    /// The target as sent, query included.
    pub path: String,
    /// Names lower-cased, values trimmed, in the order sent.
    pub headers: Vec<(String, String)>,
    /// The body's length in bytes (after removing any chunked framing).
    pub body_len: usize,
    /// The events in the batch (0 when the body is not a batch).
    pub events: usize,
    pub event_ids: Vec<Uuid>,
    /// The status answered; `None` when no status line was sent (a stall,
    /// a close, `StoreThenCut`).
    pub status: Option<u16>,
    /// The fault applied instead of the normal answer, if any.
    pub fault: Option<Fault>,
}

impl Request {
    /// The first header of that name (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

/// A receiver on 127.0.0.1; dropping it stops it and closes its port.
pub struct SyncServer {
    shared: Arc<Shared>,
    port: u16,
    listening: Mutex<Option<Listening>>,
}

impl SyncServer {
    /// On a free port, taking the token `TEST_TOKEN`, with no faults.
    pub fn start() -> SyncServer {
        SyncServer::start_with(TEST_TOKEN)
    }

    /// On a free port, taking `token`.
    pub fn start_with(token: &str) -> SyncServer {
        SyncServer::start_on(0, token)
    }

    /// On `port` (0: a free one), e.g. one from `free_loopback_port` that a
    /// client was already given while there was no server.
    pub fn start_on(port: u16, token: &str) -> SyncServer {
        let shared = Arc::new(Shared {
            state: Mutex::new(State::new(token)),
            changed: Condvar::new(),
        });
        let listener = bind(port).unwrap_or_else(|error| {
            panic!("the test sync server cannot listen on 127.0.0.1:{port}: {error}")
        });
        let port = listener
            .local_addr()
            .expect("a bound listener has an address")
            .port();
        let listening = Listening::spawn(listener, &shared);
        SyncServer {
            shared,
            port,
            listening: Mutex::new(Some(listening)),
        }
    }

    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Queue faults: each next request gets the next one, whatever it is
    /// (even a 404 or a 401 would-be), then requests are answered normally.
    /// Scripted faults come before chaos.
    pub fn script(&self, faults: impl IntoIterator<Item = Fault>) {
        self.shared.lock().script.extend(faults);
    }

    /// From now on, `fault_percent` of the requests (those without a
    /// scripted fault) get a fault, drawn with a xorshift generator seeded
    /// with `seed`: the same seed gives the same faults on the same request
    /// numbers. `fault_percent` 0 ends chaos. The faults drawn are 500, 502,
    /// 503, 408, 429 with `Retry-After: 0`, `Close`, `StoreThenCut`,
    /// `CutMidAnswer` and `Garbage`: all "try again later" for the client
    /// (never a stall, a 400, a 401 or a 413).
    pub fn chaos(&self, seed: u64, fault_percent: u32) {
        self.shared.lock().chaos = (fault_percent > 0).then(|| Chaos::new(seed, fault_percent));
    }

    /// Answer 413 to every batch of more than `max` events (`None`: no
    /// limit). A standing rule, checked after the token.
    pub fn set_max_batch(&self, max: Option<usize>) {
        self.shared.lock().max_batch = max;
    }

    /// Answer 413 to every body of more than `max` bytes (`None`: no limit).
    pub fn set_max_body(&self, max: Option<usize>) {
        self.shared.lock().max_body = max;
    }

    /// Answer these event ids in `rejected` with `reason`, from now on
    /// (before looking whether they were stored).
    pub fn reject_events(&self, ids: impl IntoIterator<Item = Uuid>, reason: &str) {
        let mut state = self.shared.lock();
        for id in ids {
            state.reject.insert(id, reason.to_string());
        }
    }

    /// Refuse every batch that holds event `id`, whole, with `status` (400
    /// or 422) and `message`: the client must find the one event.
    pub fn refuse_batches_with(&self, id: Uuid, status: u16, message: &str) {
        self.shared.lock().refuse_batches_with = Some((id, status, message.to_string()));
    }

    /// Refuse every batch with `status` and `message` (`None`: stop): a
    /// refusal that is not about one event.
    pub fn refuse_every_batch(&self, refusal: Option<(u16, &str)>) {
        self.shared.lock().refuse_every_batch =
            refusal.map(|(status, message)| (status, message.to_string()));
    }

    /// Forget `reject_events`: the receiver was fixed.
    pub fn clear_rejections(&self) {
        self.shared.lock().reject.clear();
    }

    /// Accept only `token` from now on (the old one gets 401).
    pub fn set_token(&self, token: &str) {
        self.shared.lock().token = token.to_string();
    }

    /// Every event stored, in arrival order, each once.
    pub fn events(&self) -> Vec<Envelope> {
        self.shared.lock().events.clone()
    }

    /// `events().len()`, without the copy.
    pub fn received_count(&self) -> usize {
        self.shared.lock().events.len()
    }

    /// Every request seen, in order.
    pub fn requests(&self) -> Vec<Request> {
        self.shared.lock().requests.clone()
    }

    /// Events accepted with a `seq` not above one accepted before from the
    /// same device, one line each. Empty when every device sent in order.
    pub fn out_of_order(&self) -> Vec<String> {
        self.shared.lock().out_of_order.clone()
    }

    /// Waits until at least `n` events are stored and returns them all;
    /// panics after `within`, saying how many it has.
    pub fn wait_for_events(&self, n: usize, within: Duration) -> Vec<Envelope> {
        let state = self.wait(within, |state| state.events.len() >= n);
        match state {
            Ok(state) => state.events.clone(),
            Err(state) => panic!(
                "the test sync server has {} of the {n} events expected after {within:?}; {}",
                state.events.len(),
                state.summary()
            ),
        }
    }

    /// Waits until at least `n` requests were answered (or cut) and returns
    /// them all; panics after `within`, saying how many it has.
    pub fn wait_for_requests(&self, n: usize, within: Duration) -> Vec<Request> {
        let state = self.wait(within, |state| state.requests.len() >= n);
        match state {
            Ok(state) => state.requests.clone(),
            Err(state) => panic!(
                "the test sync server has {} of the {n} requests expected after {within:?}; {}",
                state.requests.len(),
                state.summary()
            ),
        }
    }

    /// "The server is down": close the listener (connecting is refused) and
    /// every open connection, and end stalls. What it stored stays. Returns
    /// when the port is closed.
    pub fn down(&self) {
        let listening = self
            .listening
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(listening) = listening {
            listening.stop(self.port);
        }
        let mut state = self.shared.lock();
        for connection in state.connections.values() {
            let _ = connection.shutdown(Shutdown::Both);
        }
        state.connections.clear();
        state.generation += 1;
        self.shared.changed.notify_all();
    }

    /// Listen again, on the same port, with everything stored kept.
    pub fn up(&self) {
        let mut listening = self
            .listening
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if listening.is_some() {
            return;
        }
        let listener = bind(self.port).unwrap_or_else(|error| {
            panic!(
                "the test sync server cannot listen again on 127.0.0.1:{}: {error}",
                self.port
            )
        });
        *listening = Some(Listening::spawn(listener, &self.shared));
    }

    pub fn is_up(&self) -> bool {
        self.listening
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_some()
    }

    /// Stop for good (the same as dropping it).
    pub fn stop(self) {}

    fn wait(
        &self,
        within: Duration,
        done: impl Fn(&State) -> bool,
    ) -> Result<MutexGuard<'_, State>, MutexGuard<'_, State>> {
        let deadline = Instant::now() + within;
        let mut state = self.shared.lock();
        loop {
            if done(&state) {
                return Ok(state);
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(state);
            }
            state = self
                .shared
                .changed
                .wait_timeout(state, deadline - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }
}

impl Drop for SyncServer {
    fn drop(&mut self) {
        self.down();
    }
}

/// A port on 127.0.0.1 kept for a server that is not there yet: bound (so
/// no other test gets it) but not listening (so a client's connection is
/// refused, as by a server that is down). `SyncServer::start_reserved`
/// gives it to a server.
pub struct ReservedPort {
    socket: Socket,
    port: u16,
}

impl ReservedPort {
    pub fn port(&self) -> u16 {
        self.port
    }
}

pub fn reserve_loopback_port() -> ReservedPort {
    let reserve = || -> io::Result<ReservedPort> {
        let socket = Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP))?;
        socket.set_reuse_address(true)?;
        socket.bind(&SocketAddr::from((Ipv4Addr::LOCALHOST, 0)).into())?;
        let port = socket
            .local_addr()?
            .as_socket()
            .map_or(0, |address| address.port());
        Ok(ReservedPort { socket, port })
    };
    reserve().expect("a free port on 127.0.0.1")
}

impl SyncServer {
    /// On the reserved port, taking `token`.
    pub fn start_reserved(reserved: ReservedPort, token: &str) -> SyncServer {
        let port = reserved.port;
        drop(reserved.socket);
        SyncServer::start_on(port, token)
    }
}

/// A listening socket with `SO_REUSEADDR`, so that `up` can take the same
/// port again at once (connections closed by `down` leave it in TIME_WAIT).
fn bind(port: u16) -> io::Result<TcpListener> {
    let socket = Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    socket.bind(&SocketAddr::from((Ipv4Addr::LOCALHOST, port)).into())?;
    socket.listen(128)?;
    Ok(socket.into())
}

struct Shared {
    state: Mutex<State>,
    /// Told when a request was handled (for `wait_for_*`) and on `down`
    /// (for stalls).
    changed: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic in a connection thread must not hide what was stored.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

struct State {
    token: String,
    script: VecDeque<Fault>,
    chaos: Option<Chaos>,
    max_batch: Option<usize>,
    max_body: Option<usize>,
    reject: HashMap<Uuid, String>,
    /// A batch holding this event gets this status and message, whole.
    refuse_batches_with: Option<(Uuid, u16, String)>,
    /// Every batch gets this status and message (a proxy's limit).
    refuse_every_batch: Option<(u16, String)>,
    events: Vec<Envelope>,
    ids: HashSet<Uuid>,
    /// The highest `seq` accepted per device.
    last_seq: HashMap<Uuid, i64>,
    out_of_order: Vec<String>,
    requests: Vec<Request>,
    /// Open connections, to close on `down`.
    connections: HashMap<u64, TcpStream>,
    connections_made: u64,
    /// Raised by `down`: a stall under an older one ends.
    generation: u64,
}

impl State {
    fn new(token: &str) -> State {
        State {
            token: token.to_string(),
            script: VecDeque::new(),
            chaos: None,
            max_batch: None,
            max_body: None,
            reject: HashMap::new(),
            refuse_batches_with: None,
            refuse_every_batch: None,
            events: Vec::new(),
            ids: HashSet::new(),
            last_seq: HashMap::new(),
            out_of_order: Vec::new(),
            requests: Vec::new(),
            connections: HashMap::new(),
            connections_made: 0,
            generation: 0,
        }
    }

    /// The last requests' statuses, for a panic message.
    fn summary(&self) -> String {
        let last: Vec<String> = self
            .requests
            .iter()
            .rev()
            .take(10)
            .rev()
            .map(|request| {
                let status = request
                    .status
                    .map_or_else(|| "no answer".to_string(), |status| status.to_string());
                match &request.fault {
                    Some(fault) => format!("{status} ({fault:?}, {} events)", request.events),
                    None => format!("{status} ({} events)", request.events),
                }
            })
            .collect();
        format!(
            "{} requests, the last ones answered: [{}]",
            self.requests.len(),
            last.join(", ")
        )
    }

    /// The normal answer to a request, storing what it accepts.
    fn answer(&mut self, request: &HttpRequest, batch: &Result<Batch, String>) -> Answer {
        let target = request.path.split('?').next().unwrap_or_default();
        if target != EVENTS_PATH {
            return Answer::error(404, &format!("no such endpoint: {target}"));
        }
        if request.method != "POST" {
            return Answer::error(405, "only POST is allowed here")
                .with_header("Allow", "POST".to_string());
        }
        let authorised = request
            .header("authorization")
            .and_then(|value| value.split_once(' '))
            .is_some_and(|(scheme, token)| {
                scheme.eq_ignore_ascii_case("bearer") && token.trim() == self.token
            });
        if !authorised {
            return Answer::error(401, "this device token is not accepted")
                .with_header("WWW-Authenticate", "Bearer".to_string());
        }
        if let Some(max) = self.max_body
            && request.body.len() > max
        {
            return Answer::error(
                413,
                &format!(
                    "a batch may have at most {max} bytes, this one has {}",
                    request.body.len()
                ),
            );
        }
        let batch = match batch {
            Ok(batch) => batch,
            Err(error) => return Answer::error(400, &format!("not a protocol v1 batch: {error}")),
        };
        if batch.protocol != PROTOCOL_VERSION {
            return Answer::error(
                400,
                &format!(
                    "protocol {} is not spoken here (only {PROTOCOL_VERSION})",
                    batch.protocol
                ),
            );
        }
        if let Some(stranger) = batch.events.iter().find(|e| e.device_id != batch.device_id) {
            return Answer::error(
                400,
                &format!(
                    "event {} is from device {}, the batch from {}",
                    stranger.event_id, stranger.device_id, batch.device_id
                ),
            );
        }
        if let Some(max) = self.max_batch
            && batch.events.len() > max
        {
            return Answer::error(
                413,
                &format!(
                    "a batch may have at most {max} events, this one has {}",
                    batch.events.len()
                ),
            );
        }
        if let Some((status, message)) = &self.refuse_every_batch {
            return Answer::error(*status, message);
        }
        if let Some((id, status, message)) = &self.refuse_batches_with
            && batch.events.iter().any(|e| e.event_id == *id)
        {
            return Answer::error(*status, message);
        }
        let mut answer = BatchAnswer::default();
        for envelope in &batch.events {
            let id = envelope.event_id;
            if let Some(reason) = self.reject.get(&id) {
                answer.rejected.push(Rejection {
                    event_id: id,
                    reason: reason.clone(),
                });
            } else if !self.ids.insert(id) {
                answer.known.push(id);
            } else {
                self.check_order(envelope);
                self.events.push(envelope.clone());
                answer.accepted.push(id);
            }
        }
        let body = serde_json::to_vec(&answer).expect("a batch answer serialises");
        Answer::new(200, body)
    }

    fn check_order(&mut self, envelope: &Envelope) {
        let last = self.last_seq.entry(envelope.device_id).or_insert(0);
        if envelope.seq <= *last {
            let what = if envelope.seq == *last {
                "the same seq again (a copied database?)"
            } else {
                "a lower seq"
            };
            self.out_of_order.push(format!(
                "device {}: event {} with seq {} accepted after seq {}: {what}",
                envelope.device_id, envelope.event_id, envelope.seq, *last
            ));
        } else {
            *last = envelope.seq;
        }
    }
}

/// Seeded pseudo-random faults (xorshift64).
struct Chaos {
    state: u64,
    percent: u32,
}

impl Chaos {
    fn new(seed: u64, percent: u32) -> Chaos {
        // xorshift never leaves 0; mix the seed so that 0, 1, 2 all work.
        let state = seed ^ 0x9E37_79B9_7F4A_7C15;
        Chaos {
            state: if state == 0 {
                0x2545_F491_4F6C_DD1D
            } else {
                state
            },
            percent,
        }
    }

    fn next(&mut self) -> u64 {
        let mut x = self.state;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.state = x;
        x
    }

    /// One draw for whether this request gets a fault, one for which.
    fn fault(&mut self) -> Option<Fault> {
        if self.next() % 100 >= u64::from(self.percent) {
            return None;
        }
        Some(match self.next() % 9 {
            0 => Fault::Status(500),
            1 => Fault::Status(502),
            2 => Fault::Status(503),
            3 => Fault::Status(408),
            4 => Fault::StatusRetryAfter(429, "0".to_string()),
            5 => Fault::Close,
            6 => Fault::StoreThenCut,
            7 => Fault::CutMidAnswer,
            _ => Fault::Garbage,
        })
    }
}

/// The accept thread, and how to end it.
struct Listening {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<()>,
}

impl Listening {
    fn spawn(listener: TcpListener, shared: &Arc<Shared>) -> Listening {
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let stop = Arc::clone(&stop);
            let shared = Arc::clone(shared);
            thread::Builder::new()
                .name("sync-server-accept".into())
                .spawn(move || accept_loop(&listener, &stop, &shared))
                .expect("a thread for the test sync server")
        };
        Listening { stop, thread }
    }

    /// Ends the accept loop (a connection of its own wakes it) and waits
    /// for it: the listener is closed when this returns.
    fn stop(self, port: u16) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect((Ipv4Addr::LOCALHOST, port));
        let _ = self.thread.join();
    }
}

fn accept_loop(listener: &TcpListener, stop: &AtomicBool, shared: &Arc<Shared>) {
    for stream in listener.incoming() {
        if stop.load(Ordering::SeqCst) {
            return;
        }
        let Ok(stream) = stream else {
            // Out of file descriptors, or a connection reset before accept.
            thread::sleep(Duration::from_millis(1));
            continue;
        };
        let _ = stream.set_nodelay(true);
        let Ok(registered) = stream.try_clone() else {
            continue;
        };
        let connection = {
            let mut state = shared.lock();
            state.connections_made += 1;
            let connection = state.connections_made;
            state.connections.insert(connection, registered);
            connection
        };
        let for_thread = Arc::clone(shared);
        let spawned = thread::Builder::new()
            .name(format!("sync-server-{connection}"))
            .spawn(move || {
                serve(&for_thread, connection, stream);
                for_thread.lock().connections.remove(&connection);
            });
        if spawned.is_err() {
            // The stream went with the closure that never ran: it is closed.
            shared.lock().connections.remove(&connection);
        }
    }
}

/// What to do with the connection after a request.
enum Action {
    /// Write these bytes; close after them if `close`.
    Write { bytes: Vec<u8>, close: bool },
    /// Write these bytes (maybe none) and close.
    Cut(Vec<u8>),
    /// Say nothing for this long (or until `down`), then close.
    Stall { time: Duration, generation: u64 },
}

/// Reads requests on one connection and answers them until either side
/// closes it.
fn serve(shared: &Shared, connection: u64, stream: TcpStream) {
    let Ok(mut writer) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::with_capacity(64 << 10, stream);
    loop {
        let request = match read_request(&mut reader, &mut writer) {
            Ok(Some(request)) => request,
            Ok(None) | Err(ReadError::Closed) => return,
            Err(ReadError::Bad(status, message)) => {
                let answer = Answer::error(status, message);
                let _ = writer.write_all(&answer.bytes(true));
                let _ = writer.shutdown(Shutdown::Both);
                return;
            }
        };
        match handle(shared, connection, &request) {
            Action::Write { bytes, close } => {
                if writer.write_all(&bytes).is_err() || close || !request.keep_alive {
                    let _ = writer.shutdown(Shutdown::Both);
                    return;
                }
            }
            Action::Cut(bytes) => {
                let _ = writer.write_all(&bytes);
                let _ = writer.flush();
                let _ = writer.shutdown(Shutdown::Both);
                return;
            }
            Action::Stall { time, generation } => {
                let deadline = Instant::now() + time;
                let mut state = shared.lock();
                while state.generation == generation {
                    let now = Instant::now();
                    if now >= deadline {
                        break;
                    }
                    state = shared
                        .changed
                        .wait_timeout(state, deadline - now)
                        .unwrap_or_else(PoisonError::into_inner)
                        .0;
                }
                drop(state);
                let _ = writer.shutdown(Shutdown::Both);
                return;
            }
        }
    }
}

/// Decides the answer to one request (a fault, or the normal one), stores
/// what it accepts and records the request.
fn handle(shared: &Shared, connection: u64, request: &HttpRequest) -> Action {
    // Parsed outside the lock: the one costly step.
    let batch: Result<Batch, String> =
        serde_json::from_slice(&request.body).map_err(|error| error.to_string());
    let mut guard = shared.lock();
    let state = &mut *guard;
    let fault = match state.script.pop_front() {
        Some(fault) => Some(fault),
        None => state.chaos.as_mut().and_then(Chaos::fault),
    };
    let (status, action) = match &fault {
        None => {
            let answer = state.answer(request, &batch);
            (Some(answer.status), answer.write(request))
        }
        Some(Fault::Status(status)) => {
            let mut answer =
                Answer::error(*status, &format!("injected fault: {}", reason(*status)));
            if (300..400).contains(status) {
                let location = format!("http://{}{EVENTS_PATH}", request.host());
                answer = answer.with_header("Location", location);
            }
            (Some(*status), answer.write(request))
        }
        Some(Fault::StatusRetryAfter(status, after)) => {
            let answer = Answer::error(*status, &format!("injected fault: {}", reason(*status)))
                .with_header("Retry-After", after.clone());
            (Some(*status), answer.write(request))
        }
        Some(Fault::Answer(status, body)) => {
            let answer = Answer::new(*status, body.clone().into_bytes());
            (Some(*status), answer.write(request))
        }
        Some(Fault::Stall(time)) => (
            None,
            Action::Stall {
                time: *time,
                generation: state.generation,
            },
        ),
        Some(Fault::Close) => (None, Action::Cut(Vec::new())),
        Some(Fault::StoreThenCut) => {
            let _ = state.answer(request, &batch);
            (None, Action::Cut(Vec::new()))
        }
        Some(Fault::StoreThenStall(time)) => {
            let _ = state.answer(request, &batch);
            (
                None,
                Action::Stall {
                    time: *time,
                    generation: state.generation,
                },
            )
        }
        Some(Fault::CutMidAnswer) => {
            let answer = state.answer(request, &batch);
            let mut bytes = answer.bytes(false);
            bytes.truncate(bytes.len() / 2);
            (Some(answer.status), Action::Cut(bytes))
        }
        Some(Fault::Garbage) => {
            let answer = Answer::new(
                200,
                b"<html><body>Welcome to the campus network</body></html>".to_vec(),
            );
            (Some(200), answer.write(request))
        }
    };
    let event_ids: Vec<Uuid> = match &batch {
        Ok(batch) => batch.events.iter().map(|e| e.event_id).collect(),
        Err(_) => Vec::new(),
    };
    state.requests.push(Request {
        connection,
        method: request.method.clone(),
        path: request.path.clone(),
        headers: request.headers.clone(),
        body_len: request.body.len(),
        events: event_ids.len(),
        event_ids,
        status,
        fault,
    });
    shared.changed.notify_all();
    action
}

/// An answer with a JSON body.
struct Answer {
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: Vec<u8>,
}

impl Answer {
    fn new(status: u16, body: Vec<u8>) -> Answer {
        Answer {
            status,
            headers: Vec::new(),
            body,
        }
    }

    /// `{"error": message}`.
    fn error(status: u16, message: &str) -> Answer {
        let body = serde_json::to_vec(&serde_json::json!({ "error": message }))
            .expect("a JSON object serialises");
        Answer::new(status, body)
    }

    fn with_header(mut self, name: &'static str, value: String) -> Answer {
        self.headers.push((name, value));
        self
    }

    /// Written as the answer to `request`, the connection kept open if
    /// the client wants it.
    fn write(self, request: &HttpRequest) -> Action {
        Action::Write {
            bytes: self.bytes(!request.keep_alive),
            close: !request.keep_alive,
        }
    }

    fn bytes(&self, close: bool) -> Vec<u8> {
        let mut head = format!(
            "HTTP/1.1 {} {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
            self.status,
            reason(self.status),
            self.body.len()
        );
        for (name, value) in &self.headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        if close {
            head.push_str("Connection: close\r\n");
        }
        head.push_str("\r\n");
        let mut bytes = head.into_bytes();
        bytes.extend_from_slice(&self.body);
        bytes
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        301 => "Moved Permanently",
        302 => "Found",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        411 => "Length Required",
        413 => "Content Too Large",
        422 => "Unprocessable Content",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Status",
    }
}

/// One HTTP/1.1 request, read whole.
struct HttpRequest {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    keep_alive: bool,
}

impl HttpRequest {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    fn host(&self) -> &str {
        self.header("host").unwrap_or("127.0.0.1")
    }
}

enum ReadError {
    /// The client went away (or the connection failed): nothing to answer.
    Closed,
    /// Not a request we can read: answer this status and close.
    Bad(u16, &'static str),
}

/// The next request on the connection; `None` when the client closed it
/// between requests.
fn read_request(
    reader: &mut BufReader<TcpStream>,
    writer: &mut TcpStream,
) -> Result<Option<HttpRequest>, ReadError> {
    // Empty lines before a request line are allowed (RFC 9112 2.2).
    let line = loop {
        match read_line(reader)? {
            None => return Ok(None),
            Some(line) if line.is_empty() => continue,
            Some(line) => break line,
        }
    };
    let mut parts = line.split(' ');
    let (Some(method), Some(path), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(ReadError::Bad(
            400,
            "a request line is METHOD TARGET HTTP/1.1",
        ));
    };
    if !version.starts_with("HTTP/1.") {
        return Err(ReadError::Bad(400, "only HTTP/1.x is spoken here"));
    }
    let mut headers = Vec::new();
    loop {
        let line = read_line(reader)?.ok_or(ReadError::Closed)?;
        if line.is_empty() {
            break;
        }
        if headers.len() == MAX_HEADERS {
            return Err(ReadError::Bad(431, "too many header fields"));
        }
        let Some((name, value)) = line.split_once(':') else {
            return Err(ReadError::Bad(400, "a header line without a colon"));
        };
        if name.is_empty() || name.ends_with(char::is_whitespace) || line.starts_with([' ', '\t']) {
            return Err(ReadError::Bad(400, "a malformed header line"));
        }
        headers.push((name.to_ascii_lowercase(), value.trim().to_string()));
    }
    let find = |name: &str| {
        headers
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value): &(String, String)| value.clone())
    };
    let connection = find("connection").unwrap_or_default().to_ascii_lowercase();
    // An HTTP/1.0 client gets its answer and a closed connection.
    let keep_alive =
        version != "HTTP/1.0" && !connection.split(',').any(|token| token.trim() == "close");
    if find("expect").is_some_and(|value| value.eq_ignore_ascii_case("100-continue")) {
        writer
            .write_all(b"HTTP/1.1 100 Continue\r\n\r\n")
            .map_err(|_| ReadError::Closed)?;
    }
    let body = if let Some(coding) = find("transfer-encoding") {
        if !coding.to_ascii_lowercase().trim().ends_with("chunked") {
            return Err(ReadError::Bad(
                501,
                "only the chunked transfer coding is read here",
            ));
        }
        read_chunked(reader)?
    } else if let Some(length) = find("content-length") {
        let length: usize = length
            .parse()
            .map_err(|_| ReadError::Bad(400, "Content-Length is not a number"))?;
        if length > MAX_BODY {
            return Err(ReadError::Bad(
                413,
                "the body is larger than this test server reads",
            ));
        }
        let mut body = vec![0; length];
        reader
            .read_exact(&mut body)
            .map_err(|_| ReadError::Closed)?;
        body
    } else {
        Vec::new()
    };
    Ok(Some(HttpRequest {
        method: method.to_string(),
        path: path.to_string(),
        headers,
        body,
        keep_alive,
    }))
}

/// A body in the chunked transfer coding, trailers skipped.
fn read_chunked(reader: &mut BufReader<TcpStream>) -> Result<Vec<u8>, ReadError> {
    let mut body = Vec::new();
    loop {
        let line = read_line(reader)?.ok_or(ReadError::Closed)?;
        let size = line.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size, 16)
            .map_err(|_| ReadError::Bad(400, "a chunk size is not hexadecimal"))?;
        if size == 0 {
            while !read_line(reader)?.ok_or(ReadError::Closed)?.is_empty() {}
            return Ok(body);
        }
        if body.len() + size > MAX_BODY {
            return Err(ReadError::Bad(
                413,
                "the body is larger than this test server reads",
            ));
        }
        let start = body.len();
        body.resize(start + size, 0);
        reader
            .read_exact(&mut body[start..])
            .map_err(|_| ReadError::Closed)?;
        if !read_line(reader)?.ok_or(ReadError::Closed)?.is_empty() {
            return Err(ReadError::Bad(400, "a chunk longer than its size"));
        }
    }
}

/// One line without its CRLF (or bare LF); `None` at the end of the stream
/// before any byte of it.
fn read_line(reader: &mut BufReader<TcpStream>) -> Result<Option<String>, ReadError> {
    let mut line = Vec::new();
    let read = reader
        .by_ref()
        .take(MAX_LINE as u64 + 2)
        .read_until(b'\n', &mut line)
        .map_err(|_| ReadError::Closed)?;
    if read == 0 {
        return Ok(None);
    }
    if line.last() != Some(&b'\n') {
        return if line.len() > MAX_LINE {
            Err(ReadError::Bad(
                431,
                "a line longer than this test server reads",
            ))
        } else {
            Err(ReadError::Closed)
        };
    }
    line.pop();
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    String::from_utf8(line)
        .map(Some)
        .map_err(|_| ReadError::Bad(400, "a request line or header that is not UTF-8"))
}
