//! The banner under the roster: what the last tap (or change) did, and what
//! it says: a headline a student can read from a metre away, and a detail
//! line (reader, time).

use crate::domain::{CardUid, Outcome, TapRecord};
use crate::text::sanitize_for_terminal as clean;

/// The big line under the roster: what the last tap did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Banner {
    Ready,
    Tap(TapRecord),
    NotRecorded {
        uid: CardUid,
        error: String,
    },
    /// A card was seen but could not be read.
    CardError {
        reader: String,
        message: String,
    },
    /// A change asked for from the keyboard failed: what, and why.
    Failed {
        what: String,
        error: String,
    },
    /// What a change made from the keyboard did.
    Info {
        headline: String,
        detail: String,
    },
}

impl Banner {
    /// How long the banner stays: a failure long enough to be seen from
    /// across the room, anything else until the next student is at the door.
    pub fn shown_for(&self) -> chrono::Duration {
        match self {
            Banner::Ready => chrono::Duration::MAX,
            Banner::NotRecorded { .. } | Banner::CardError { .. } | Banner::Failed { .. } => {
                chrono::Duration::seconds(60)
            }
            Banner::Tap(_) | Banner::Info { .. } => chrono::Duration::seconds(20),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tone {
    Idle,
    /// Counted: green.
    Ok,
    /// Look at this: yellow (unknown card, already counted, ...).
    Warn,
    /// Not recorded: red.
    Error,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BannerText {
    pub headline: String,
    pub detail: String,
    pub tone: Tone,
}

fn text(headline: String, detail: String, tone: Tone) -> BannerText {
    BannerText {
        headline,
        detail,
        tone,
    }
}

/// `reader_up`: a reader is connected. Without one, "Ready" would be a lie.
pub fn describe(banner: &Banner, reader_up: bool) -> BannerText {
    let record = match banner {
        Banner::Ready if !reader_up => {
            return text(
                "No card reader — taps cannot be recorded".into(),
                "plug in the reader (or start pcscd); the status line says more".into(),
                Tone::Warn,
            );
        }
        Banner::Ready => return text("Ready — tap your card".into(), String::new(), Tone::Idle),
        Banner::NotRecorded { uid, error } => {
            return text(
                format!("✖ NOT RECORDED ({}) — TAP AGAIN", uid.masked()),
                clean(error),
                Tone::Error,
            );
        }
        Banner::CardError { reader, message } => {
            return text(
                "✖ CARD NOT READ — TAP AGAIN".into(),
                format!("{}: {}", clean(reader), clean(message)),
                Tone::Error,
            );
        }
        Banner::Failed { what, error } => {
            return text(format!("✖ {}", clean(what)), clean(error), Tone::Error);
        }
        Banner::Info { headline, detail } => {
            return text(clean(headline), clean(detail), Tone::Ok);
        }
        Banner::Tap(record) => record,
    };
    let name = record
        .student
        .as_ref()
        .map(|s| clean(&s.name).to_uppercase())
        .unwrap_or_default();
    let detail = format!(
        "{} · {}",
        clean(&record.reader),
        record.at.format("%H:%M:%S")
    );
    // A UID on the screen is masked: the room can read it too.
    let uid = record.uid.masked();
    match record.outcome {
        Outcome::Present => text(format!("✔ {name} — PRESENT"), detail, Tone::Ok),
        Outcome::Late => text(format!("✔ {name} — LATE"), detail, Tone::Ok),
        Outcome::TooLate => text(
            format!("{name} — TOO LATE, counted absent"),
            detail,
            Tone::Warn,
        ),
        Outcome::Duplicate { first_at } => text(
            format!("{name} — already counted at {}", first_at.format("%H:%M")),
            detail,
            Tone::Warn,
        ),
        Outcome::Unknown => text(
            format!("? Unknown card {uid} — see the instructor"),
            detail,
            Tone::Warn,
        ),
        Outcome::RandomId => text(
            "Phone or random-ID card — please tap your student card".into(),
            format!(
                "random ID {uid}, cannot be enrolled · {}",
                clean(&record.reader)
            ),
            Tone::Warn,
        ),
        Outcome::NotEnrolled => text(
            format!("{name} — not on this course's roster"),
            detail,
            Tone::Warn,
        ),
        // Repeats never reach the banner (App::apply), but say something sane.
        Outcome::Repeat => text(format!("{name} — already seen"), detail, Tone::Idle),
    }
}
