//! The report as JSON, for other programs. The schema is versioned and
//! documented in `docs/report-json.md`; change one, change the other, and
//! raise `SCHEMA_VERSION` for anything that is not a new field.

use super::model::{Content, CourseReport, Report, SessionReport, StudentTotals};
use crate::domain::{Mark, MarkSource, rfc3339};
use crate::privacy::UidExport;
use serde_json::{Value, json};
use std::fmt::Write as _;

/// 2: `uid` is written as `[privacy] uids` says (masked by default); 1
/// wrote the whole UID.
pub const SCHEMA_VERSION: u32 = 2;

/// `uids`: how the unknown taps' cards are written.
pub fn render(report: &Report, uids: &UidExport) -> Result<Vec<u8>, serde_json::Error> {
    let mut value = json!({
        "schema": "taproll-report",
        "schema_version": SCHEMA_VERSION,
        "time_zone": report.time_zone,
    });
    match &report.content {
        Content::Session(s) => {
            value["kind"] = "session".into();
            value["session"] = session(s, uids);
        }
        Content::Course(c) => {
            value["kind"] = "course".into();
            value["course"] = course(c, uids);
        }
    }
    let mut text = escape_controls(&serde_json::to_string_pretty(&value)?);
    text.push('\n');
    Ok(text.into_bytes())
}

/// serde_json escapes the C0 controls in strings but writes DEL, the C1
/// controls and the bidirectional overrides as they are: those are escaped
/// here as `\uXXXX` too, so the file holds nothing a terminal acts on and a
/// program still reads every text exactly as stored. Outside strings JSON
/// holds only ASCII, so every such character is inside one; a raw line
/// break is the pretty layout's own and stays.
fn escape_controls(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        if c != '\n' && crate::text::is_unsafe(c) {
            // All of them are in the Basic Multilingual Plane: one \uXXXX.
            let _ = write!(out, "\\u{:04x}", u32::from(c));
        } else {
            out.push(c);
        }
    }
    out
}

fn session(s: &SessionReport, uids: &UidExport) -> Value {
    let t = &s.totals;
    json!({
        "id": s.id,
        "course": s.course,
        "label": s.label,
        "started_at": rfc3339(&s.started_at),
        "ended_at": s.ended_at.as_ref().map(rfc3339),
        "totals": {
            "present": t.present,
            "late": t.late,
            "absent": t.absent,
            "excused": t.excused,
            "unmarked": t.unmarked,
            "unknown_cards": t.unknown_cards,
            "unclaimed_cards": t.unclaimed_cards,
            "duplicates": t.duplicates,
            "repeats": t.repeats,
        },
        "students": s.students.iter().map(|line| json!({
            "student_no": line.student_no,
            "name": line.name,
            "section": line.section,
            "status": line.mark.map(Mark::as_str),
            "first_tap": line.first_tap.as_ref().map(rfc3339),
            "source": line.source.map(MarkSource::as_str),
            "note": line.note,
        })).collect::<Vec<_>>(),
        "unknown_taps": s.unknown_taps.iter().map(|tap| json!({
            "at": rfc3339(&tap.at),
            "uid": uids.data(&tap.uid),
            "reader": tap.reader,
            "random_id": tap.random_id,
            "claimed_by": tap.claimed_by.as_ref().map(|(no, name)| json!({
                "student_no": no,
                "name": name,
            })),
        })).collect::<Vec<_>>(),
    })
}

fn course(c: &CourseReport, uids: &UidExport) -> Value {
    json!({
        "name": c.course,
        "from": c.from.map(|d| d.to_string()),
        "to": c.to.map(|d| d.to_string()),
        "students": c.students.iter().map(student_totals).collect::<Vec<_>>(),
        "at_risk": c.at_risk().map(|s| json!({
            "student_no": s.student_no,
            "name": s.name,
            "reasons": reasons(s),
        })).collect::<Vec<_>>(),
        "sessions": c.sessions.iter().map(|s| session(s, uids)).collect::<Vec<_>>(),
    })
}

fn student_totals(s: &StudentTotals) -> Value {
    json!({
        "student_no": s.student_no,
        "name": s.name,
        "section": s.section,
        "present": s.present,
        "late": s.late,
        "absent": s.absent,
        "excused": s.excused,
        "rate": s.rate,
        "last_attended": s.last_attended.map(|d| d.to_string()),
        "risk": reasons(s),
    })
}

/// Why a student is at risk, one sentence a reason; empty when not.
fn reasons(s: &StudentTotals) -> Vec<String> {
    s.risk.iter().map(ToString::to_string).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_are_escaped_and_read_back_as_stored() {
        let name = "Eve\u{1b}[31m\u{7}\u{7f}\u{9b}2J\u{202E}x\u{2066}\tZoë 李";
        let text =
            escape_controls(&serde_json::to_string_pretty(&json!({ "name": name })).unwrap());
        assert!(
            !text.chars().any(|c| c != '\n' && crate::text::is_unsafe(c)),
            "{text}"
        );
        assert!(
            text.contains("\\u001b[31m\\u0007\\u007f\\u009b2J\\u202ex\\u2066\\tZoë 李"),
            "{text}"
        );
        let back: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back["name"], name);
    }
}
