//! What the front ends show of the push: one short line for the status
//! bar, and the fields of the sync view and of headless `sync` lines.

use crate::domain::Timestamp;
use crate::store::QueueCounts;

#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SyncStatus {
    /// The server's base URL; `None`: the push is off.
    pub server: Option<String>,
    pub link: Link,
    pub counts: QueueCounts,
    pub last_success: Option<Timestamp>,
    /// The last flush request (`SyncHandle::finish`) the sender has seen
    /// through: it found nothing left to send after the request was made.
    pub flushed: u64,
}

#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Link {
    /// No `[sync]` server configured.
    #[default]
    Off,
    /// Configured, nothing tried yet.
    Starting,
    /// The last exchange worked.
    Online,
    /// Every try since `since` failed; the next is at `next_try`.
    Offline {
        since: Timestamp,
        error: String,
        next_try: Option<Timestamp>,
    },
    /// Not sending until someone acts (a refused or missing token).
    Stopped { why: String },
}

impl Link {
    /// A word for the state, as headless prints it.
    pub fn name(&self) -> &'static str {
        match self {
            Link::Off => "off",
            Link::Starting => "starting",
            Link::Online => "online",
            Link::Offline { .. } => "offline",
            Link::Stopped { .. } => "stopped",
        }
    }
}

impl SyncStatus {
    pub fn off() -> Self {
        Self::default()
    }

    /// The status bar's words: `synced`, `queued 12`, `offline since 09:12
    /// (the server refuses connections)`, `parked 2`, `sync stopped: …` or
    /// `sync off`. The worst news first.
    pub fn summary(&self) -> String {
        let waiting = self.counts.waiting;
        let parked = self.counts.parked;
        let extra = |text: String| {
            let mut parts = vec![text];
            if parked > 0 {
                parts.push(format!("parked {parked}"));
            }
            parts.join(" · ")
        };
        match &self.link {
            Link::Off => "sync off".to_string(),
            Link::Stopped { why } => extra(format!("sync stopped: {why}")),
            Link::Offline { since, error, .. } => extra(format!(
                "offline since {} ({error}) · queued {waiting}",
                since.format("%H:%M")
            )),
            Link::Starting | Link::Online if waiting > 0 => extra(format!("queued {waiting}")),
            Link::Starting | Link::Online if parked > 0 => format!("parked {parked}"),
            Link::Starting => "sync starting".to_string(),
            Link::Online => "synced".to_string(),
        }
    }

    /// Whether the news is bad (shown in the warning colour).
    pub fn is_trouble(&self) -> bool {
        matches!(self.link, Link::Offline { .. } | Link::Stopped { .. }) || self.counts.parked > 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        chrono::DateTime::parse_from_rfc3339(text).unwrap()
    }

    fn status(link: Link, waiting: u64, parked: u64) -> SyncStatus {
        SyncStatus {
            server: Some("https://example.edu".into()),
            link,
            counts: QueueCounts {
                waiting,
                parked,
                ..QueueCounts::default()
            },
            last_success: None,
            flushed: 0,
        }
    }

    #[test]
    fn the_status_bar_says_the_worst_news_first() {
        assert_eq!(SyncStatus::off().summary(), "sync off");
        assert_eq!(status(Link::Online, 0, 0).summary(), "synced");
        assert_eq!(status(Link::Online, 12, 0).summary(), "queued 12");
        assert_eq!(status(Link::Online, 0, 2).summary(), "parked 2");
        assert_eq!(status(Link::Online, 3, 2).summary(), "queued 3 · parked 2");
        let offline = Link::Offline {
            since: at("2026-11-30T09:12:00+01:00"),
            error: "the server refuses connections".into(),
            next_try: None,
        };
        assert_eq!(
            status(offline, 40, 0).summary(),
            "offline since 09:12 (the server refuses connections) · queued 40"
        );
        let stopped = Link::Stopped {
            why: "the server refused the token (401)".into(),
        };
        assert_eq!(
            status(stopped, 5, 0).summary(),
            "sync stopped: the server refused the token (401)"
        );
        assert!(!status(Link::Online, 12, 0).is_trouble());
        assert!(status(Link::Online, 0, 1).is_trouble());
    }
}
