//! `POST /v1/events`: a batch from one device, stored in one transaction.
//! Each event goes into `events` as received, once (a known id is answered
//! `known` and changes nothing); a new event also updates the projections,
//! in the device's sequence order. Pure here: what to check, and which
//! statements a batch makes; `http.rs` runs them.

use crate::devices::Device;
use crate::storage::{Guarded, Statement, Value};
use taproll_wire::events::{Envelope, Event};
use taproll_wire::protocol::{Batch, PROTOCOL_VERSION};
use taproll_wire::rfc3339;

/// How old the batch's newest event was when it arrived, by the device's
/// own clock (its time of sending against its time of the event): how far
/// behind the server is. Zero for an empty batch.
pub fn lag_ms(batch: &Batch) -> i64 {
    batch.events.iter().map(|e| e.at).max().map_or(0, |newest| {
        (batch.sent_at - newest).num_milliseconds().max(0)
    })
}

/// Why a whole batch is refused (400, or 403 for another device's events).
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum BatchError {
    #[error("protocol {0} is not spoken here (this server speaks protocol 1)")]
    Protocol(u32),
    #[error("event {event} is from device {found}, the batch from {batch}")]
    MixedDevices {
        event: String,
        found: String,
        batch: String,
    },
    #[error("this token belongs to device {bound}, not {sent}")]
    OtherDevice { bound: String, sent: String },
}

impl BatchError {
    pub fn status(&self) -> u16 {
        match self {
            BatchError::OtherDevice { .. } => 403,
            BatchError::Protocol(_) | BatchError::MixedDevices { .. } => 400,
        }
    }
}

pub fn check(device: &Device, batch: &Batch) -> Result<(), BatchError> {
    if batch.protocol != PROTOCOL_VERSION {
        return Err(BatchError::Protocol(batch.protocol));
    }
    let sent = batch.device_id.to_string();
    if let Some(bound) = &device.device_id
        && *bound != sent
    {
        return Err(BatchError::OtherDevice {
            bound: bound.clone(),
            sent,
        });
    }
    if let Some(stranger) = batch.events.iter().find(|e| e.device_id != batch.device_id) {
        return Err(BatchError::MixedDevices {
            event: stranger.event_id.to_string(),
            found: stranger.device_id.to_string(),
            batch: sent,
        });
    }
    Ok(())
}

/// The statements of a batch: for each event (in sequence order) its
/// insert into `events` and, when new, its projection; then the device's
/// record (last seen, sequence, clock offset, lag). `received_at` is the
/// server's clock; `offset_ms` the device's clock minus it; `lag_ms` how
/// old the batch's newest event was when it arrived.
pub fn statements(
    device: &Device,
    batch: &Batch,
    received_at: &str,
    offset_ms: i64,
    lag_ms: i64,
) -> (Vec<Guarded>, Vec<Statement>) {
    let institution = device.institution_id;
    let mut events: Vec<&Envelope> = batch.events.iter().collect();
    events.sort_by_key(|e| e.seq);
    let sent_at = rfc3339(&batch.sent_at);
    let guarded = events
        .iter()
        .map(|envelope| Guarded {
            insert: Statement::new(
                "INSERT INTO events (event_id, institution_id, device_id, seq, kind, at,
                                     received_at, sent_at, body)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
                 ON CONFLICT (event_id) DO NOTHING RETURNING event_id",
                vec![
                    Value::text(envelope.event_id.to_string()),
                    Value::int(institution),
                    Value::text(envelope.device_id.to_string()),
                    Value::int(envelope.seq),
                    Value::text(envelope.event.kind()),
                    Value::text(rfc3339(&envelope.at)),
                    Value::text(received_at),
                    Value::text(&sent_at),
                    // Serialised from what was parsed: every field kept;
                    // the device's own bytes are not needed to replay it.
                    Value::text(serde_json::to_string(envelope).unwrap_or_default()),
                ],
            ),
            then: projection(institution, envelope),
        })
        .collect();
    let last_seq = events.last().map_or(0, |e| e.seq);
    let after = vec![Statement::new(
        "UPDATE devices SET
             device_id = COALESCE(device_id, $2),
             last_seen_at = $3,
             last_seq = CASE WHEN last_seq < $4 THEN $4 ELSE last_seq END,
             events = events + $5,
             clock_offset_ms = $6,
             lag_ms = $7
         WHERE id = $1",
        vec![
            Value::text(&device.id),
            Value::text(batch.device_id.to_string()),
            Value::text(received_at),
            Value::int(last_seq),
            Value::int(batch.events.len() as i64),
            Value::int(offset_ms),
            Value::int(lag_ms),
        ],
    )];
    (guarded, after)
}

/// What a new event changes in the projections.
fn projection(institution: i64, envelope: &Envelope) -> Vec<Statement> {
    fn t(text: impl Into<String>) -> Value {
        Value::text(text)
    }
    fn ot(text: &Option<String>) -> Value {
        Value::opt_text(text.clone())
    }
    let i = Value::int(institution);
    match &envelope.event {
        Event::SessionStarted {
            session,
            course,
            planned_start,
            label,
        } => vec![Statement::new(
            "INSERT INTO sessions (institution_id, session, device_id, course, planned_start, label)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (institution_id, session) DO UPDATE SET
                 course = excluded.course, planned_start = excluded.planned_start,
                 label = COALESCE(excluded.label, sessions.label)",
            vec![
                i,
                t(session.to_string()),
                t(envelope.device_id.to_string()),
                t(course),
                t(rfc3339(planned_start)),
                ot(label),
            ],
        )],
        Event::SessionLabelled { session, label } => vec![Statement::new(
            "UPDATE sessions SET label = $3 WHERE institution_id = $1 AND session = $2",
            vec![i, t(session.to_string()), t(label)],
        )],
        Event::Tap {
            tap,
            session,
            tapped_at,
            reader,
            uid,
            outcome,
            student_no,
        } => vec![Statement::new(
            "INSERT INTO taps (institution_id, tap, session, tapped_at, reader, uid, outcome, student_no)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
             ON CONFLICT (institution_id, tap) DO NOTHING",
            vec![
                i,
                t(tap.to_string()),
                t(session.to_string()),
                t(rfc3339(tapped_at)),
                t(reader),
                t(uid),
                t(outcome),
                ot(student_no),
            ],
        )],
        Event::TapMoved {
            tap,
            session,
            outcome,
            student_no,
            ..
        } => vec![Statement::new(
            "UPDATE taps SET session = $3, outcome = $4, student_no = $5
             WHERE institution_id = $1 AND tap = $2",
            vec![
                i,
                t(tap.to_string()),
                t(session.to_string()),
                t(outcome),
                ot(student_no),
            ],
        )],
        Event::Mark {
            session,
            student_no,
            mark,
            source,
            note,
            marked_at,
            tap,
            ..
        } => match (mark, source, marked_at) {
            (Some(mark), Some(source), Some(marked_at)) => vec![upsert_mark(
                institution,
                &session.to_string(),
                student_no,
                mark.as_str(),
                source.as_str(),
                note.clone(),
                &rfc3339(marked_at),
                tap.map(|t| t.to_string()),
            )],
            _ => vec![Statement::new(
                "DELETE FROM marks WHERE institution_id = $1 AND session = $2 AND student_no = $3",
                vec![i, t(session.to_string()), t(student_no)],
            )],
        },
        Event::SessionEnded {
            session,
            ended_at,
            marks,
        } => {
            // The final sheet is the whole truth of the session's marks.
            let session = session.to_string();
            let mut statements = vec![
                Statement::new(
                    "UPDATE sessions SET ended_at = $3 WHERE institution_id = $1 AND session = $2",
                    vec![i.clone(), t(&session), t(rfc3339(ended_at))],
                ),
                Statement::new(
                    "DELETE FROM marks WHERE institution_id = $1 AND session = $2",
                    vec![i, t(&session)],
                ),
            ];
            statements.extend(marks.iter().map(|m| {
                upsert_mark(
                    institution,
                    &session,
                    &m.student_no,
                    m.mark.as_str(),
                    m.source.as_str(),
                    m.note.clone(),
                    &rfc3339(&m.marked_at),
                    m.tap.map(|t| t.to_string()),
                )
            }));
            statements
        }
        Event::StudentSaved {
            student_no,
            previous_student_no,
            name,
            email,
            course,
            section,
        } => {
            let mut statements = Vec::new();
            if let Some(previous) = previous_student_no {
                for sql in [
                    "UPDATE students SET student_no = $3 WHERE institution_id = $1 AND student_no = $2",
                    "UPDATE enrolments SET student_no = $3 WHERE institution_id = $1 AND student_no = $2",
                    "UPDATE marks SET student_no = $3 WHERE institution_id = $1 AND student_no = $2",
                    "UPDATE taps SET student_no = $3 WHERE institution_id = $1 AND student_no = $2",
                    "UPDATE cards SET student_no = $3 WHERE institution_id = $1 AND student_no = $2",
                ] {
                    statements.push(Statement::new(
                        sql,
                        vec![i.clone(), t(previous), t(student_no)],
                    ));
                }
            }
            statements.push(Statement::new(
                "INSERT INTO students (institution_id, student_no, name, email) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (institution_id, student_no) DO UPDATE SET
                     name = excluded.name, email = excluded.email",
                vec![i.clone(), t(student_no), t(name), ot(email)],
            ));
            statements.push(Statement::new(
                "INSERT INTO enrolments (institution_id, course, student_no, section) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (institution_id, course, student_no) DO UPDATE SET section = excluded.section",
                vec![i, t(course), t(student_no), ot(section)],
            ));
            statements
        }
        Event::CardBound {
            uid, student_no, ..
        } => vec![Statement::new(
            "INSERT INTO cards (institution_id, uid, student_no) VALUES ($1, $2, $3)
             ON CONFLICT (institution_id, uid) DO UPDATE SET student_no = excluded.student_no",
            vec![i, t(uid), t(student_no)],
        )],
        Event::CardRemoved { uid, student_no } => vec![Statement::new(
            "DELETE FROM cards WHERE institution_id = $1 AND uid = $2 AND student_no = $3",
            vec![i, t(uid), t(student_no)],
        )],
    }
}

#[allow(clippy::too_many_arguments)] // one row of the marks table
fn upsert_mark(
    institution: i64,
    session: &str,
    student_no: &str,
    mark: &str,
    source: &str,
    note: Option<String>,
    marked_at: &str,
    tap: Option<String>,
) -> Statement {
    Statement::new(
        "INSERT INTO marks (institution_id, session, student_no, mark, source, note, marked_at, tap)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (institution_id, session, student_no) DO UPDATE SET
             mark = excluded.mark, source = excluded.source, note = excluded.note,
             marked_at = excluded.marked_at, tap = excluded.tap",
        vec![
            Value::int(institution),
            Value::text(session),
            Value::text(student_no),
            Value::text(mark),
            Value::text(source),
            Value::opt_text(note),
            Value::text(marked_at),
            Value::opt_text(tap),
        ],
    )
}
