//! What a new event changes in the projections (`sessions`, `taps`,
//! `marks`, `students`, `enrolments`, `cards`): statements, scoped to the
//! institution of the device that sent it. None may fail on data a device
//! can send (a rename onto a number in use, say): a failing projection
//! would hold up every later batch of that room. If one fails anyway, the
//! storage keeps the event, marks it unprojected, and goes on.

use crate::storage::{Statement, Value};
use taproll_wire::events::{Envelope, Event};
use taproll_wire::rfc3339;

fn t(text: impl Into<String>) -> Value {
    Value::text(text)
}

fn ot(text: &Option<String>) -> Value {
    Value::opt_text(text.clone())
}

/// The statements of one event. `registration`: the device registration
/// (`devices.id`) that sent it, so that a session is shown with its room.
pub fn projection(institution: i64, registration: &str, envelope: &Envelope) -> Vec<Statement> {
    let i = Value::int(institution);
    let seq = Value::int(envelope.seq);
    match &envelope.event {
        Event::SessionStarted {
            session,
            course,
            planned_start,
            label,
        } => vec![Statement::new(
            "INSERT INTO sessions (institution_id, session, device_id, registration, course,
                                   planned_start, label)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (institution_id, session) DO UPDATE SET
                 course = excluded.course, planned_start = excluded.planned_start,
                 label = COALESCE(excluded.label, sessions.label)",
            vec![
                i,
                t(session.to_string()),
                t(envelope.device_id.to_string()),
                t(registration),
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
                envelope.seq,
                MarkRow {
                    session: session.to_string(),
                    student_no: student_no.clone(),
                    mark: mark.as_str(),
                    source: source.as_str(),
                    note: note.clone(),
                    marked_at: rfc3339(marked_at),
                    tap: tap.map(|t| t.to_string()),
                },
            )],
            // No mark any more; a mark of a later event stays.
            _ => vec![Statement::new(
                "DELETE FROM marks WHERE institution_id = $1 AND session = $2 AND student_no = $3
                   AND seq <= $4",
                vec![i, t(session.to_string()), t(student_no), seq],
            )],
        },
        Event::SessionEnded {
            session,
            ended_at,
            marks,
        } => {
            // The final sheet is the session's marks, unless a later event
            // (a mark by hand after the end) changed one since.
            let session = session.to_string();
            let mut statements = vec![
                Statement::new(
                    "UPDATE sessions SET ended_at = $3 WHERE institution_id = $1 AND session = $2",
                    vec![i.clone(), t(&session), t(rfc3339(ended_at))],
                ),
                Statement::new(
                    "DELETE FROM marks WHERE institution_id = $1 AND session = $2 AND seq <= $3",
                    vec![i, t(&session), seq],
                ),
            ];
            statements.extend(marks.iter().map(|m| {
                upsert_mark(
                    institution,
                    envelope.seq,
                    MarkRow {
                        session: session.clone(),
                        student_no: m.student_no.clone(),
                        mark: m.mark.as_str(),
                        source: m.source.as_str(),
                        note: m.note.clone(),
                        marked_at: rfc3339(&m.marked_at),
                        tap: m.tap.map(|t| t.to_string()),
                    },
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
                statements.extend(renamed(institution, previous, student_no));
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
        Event::StudentForgotten {
            student_no,
            pseudonym,
        } => forgotten(institution, student_no, pseudonym),
    }
}

/// A student forgotten on their device: their rows move to the pseudonym
/// (counts stay right), their name and email go, and their cards with the
/// cards' UIDs in the taps. The events as received (`events`) are kept as
/// they came: erasing there is the server admin's (docs/privacy.md).
fn forgotten(institution: i64, student_no: &str, pseudonym: &str) -> Vec<Statement> {
    let params = || vec![Value::int(institution), t(pseudonym)];
    let mut statements = renamed(institution, student_no, pseudonym);
    statements.extend(
        [
            "UPDATE students SET name = $2, email = NULL WHERE institution_id = $1 AND student_no = $2",
            "UPDATE taps SET uid = 'forgotten' WHERE institution_id = $1
               AND (student_no = $2
                    OR uid IN (SELECT uid FROM cards WHERE institution_id = $1 AND student_no = $2))",
            "DELETE FROM cards WHERE institution_id = $1 AND student_no = $2",
            "DELETE FROM enrolments WHERE institution_id = $1 AND student_no = $2",
        ]
        .into_iter()
        .map(|sql| Statement::new(sql, params())),
    );
    statements
}

/// A student's number changed: their rows move to the new number. Rows
/// the new number has already (another room knew it first) are kept, and
/// the old number's are dropped, never a conflict.
fn renamed(institution: i64, previous: &str, now: &str) -> Vec<Statement> {
    let params = || vec![Value::int(institution), t(previous), t(now)];
    [
        "INSERT INTO students (institution_id, student_no, name, email)
         SELECT institution_id, $3, name, email FROM students
         WHERE institution_id = $1 AND student_no = $2
         ON CONFLICT (institution_id, student_no) DO NOTHING",
        "DELETE FROM students WHERE institution_id = $1 AND student_no = $2 AND $2 <> $3",
        "INSERT INTO enrolments (institution_id, course, student_no, section)
         SELECT institution_id, course, $3, section FROM enrolments
         WHERE institution_id = $1 AND student_no = $2
         ON CONFLICT (institution_id, course, student_no) DO NOTHING",
        "DELETE FROM enrolments WHERE institution_id = $1 AND student_no = $2 AND $2 <> $3",
        "INSERT INTO marks (institution_id, session, student_no, mark, source, note, marked_at, tap, seq)
         SELECT institution_id, session, $3, mark, source, note, marked_at, tap, seq FROM marks
         WHERE institution_id = $1 AND student_no = $2
         ON CONFLICT (institution_id, session, student_no) DO NOTHING",
        "DELETE FROM marks WHERE institution_id = $1 AND student_no = $2 AND $2 <> $3",
        "UPDATE taps SET student_no = $3 WHERE institution_id = $1 AND student_no = $2",
        "UPDATE cards SET student_no = $3 WHERE institution_id = $1 AND student_no = $2",
    ]
    .into_iter()
    .map(|sql| Statement::new(sql, params()))
    .collect()
}

/// One row of the marks table.
struct MarkRow {
    session: String,
    student_no: String,
    mark: &'static str,
    source: &'static str,
    note: Option<String>,
    marked_at: String,
    tap: Option<String>,
}

/// A mark as of event `seq`: an event sent late (a parked one, retried)
/// does not overwrite what a later event set.
fn upsert_mark(institution: i64, seq: i64, row: MarkRow) -> Statement {
    Statement::new(
        "INSERT INTO marks (institution_id, session, student_no, mark, source, note, marked_at, tap, seq)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT (institution_id, session, student_no) DO UPDATE SET
             mark = excluded.mark, source = excluded.source, note = excluded.note,
             marked_at = excluded.marked_at, tap = excluded.tap, seq = excluded.seq
         WHERE excluded.seq >= marks.seq",
        vec![
            Value::int(institution),
            t(row.session),
            t(row.student_no),
            t(row.mark),
            t(row.source),
            Value::opt_text(row.note),
            t(row.marked_at),
            Value::opt_text(row.tap),
            Value::int(seq),
        ],
    )
}
