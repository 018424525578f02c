//! What a server's reply to one batch means for the events in it
//! (`docs/protocol.md`, "Answers"). Pure: the HTTP exchange is in `client`.

use super::backoff::retry_after;
use crate::text::sanitize_for_terminal as sanitize;
use std::time::Duration;
use taproll_wire::protocol::BatchAnswer;

/// A reply as received: its status, `Retry-After`, `Location` and body.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Reply {
    pub status: u16,
    pub retry_after: Option<String>,
    pub location: Option<String>,
    pub body: Vec<u8>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Verdict {
    /// The server said, for each event, accepted, known or rejected.
    Answered(BatchAnswer),
    /// 413: fewer events per batch.
    TooLarge,
    /// 400 / 422: something in the batch is refused; find which event.
    BadBatch(String),
    /// 401 / 403: the token is refused; stop until someone fixes it.
    Refused(String),
    /// Anything else: try the same events again later.
    Retry {
        after: Option<Duration>,
        error: String,
    },
}

/// Judges `reply`, received at `now`.
pub fn judge(reply: &Reply, now: chrono::DateTime<chrono::Utc>) -> Verdict {
    let status = reply.status;
    let said = message(&reply.body);
    let with_message = |text: String| match &said {
        Some(said) => format!("{text}: {said}"),
        None => text,
    };
    match status {
        200..=299 => match serde_json::from_slice::<BatchAnswer>(&reply.body) {
            Ok(answer) => Verdict::Answered(answer),
            Err(e) => Verdict::Retry {
                after: None,
                error: format!("the server answered {status} without a batch answer ({e})"),
            },
        },
        413 => Verdict::TooLarge,
        400 | 422 => Verdict::BadBatch(with_message(format!(
            "the server refused the batch ({status})"
        ))),
        401 | 403 => Verdict::Refused(with_message(format!(
            "the server refused the token ({status}); set a valid one and restart taproll"
        ))),
        300..=399 => Verdict::Retry {
            after: None,
            error: format!(
                "the server redirects ({status}{}); set sync.server to the address it names",
                reply
                    .location
                    .as_deref()
                    .map(|to| format!(" to {}", sanitize(to)))
                    .unwrap_or_default()
            ),
        },
        404 | 405 => Verdict::Retry {
            after: None,
            error: with_message(format!(
                "the server answered {status}: is sync.server the receiver's address?"
            )),
        },
        _ => Verdict::Retry {
            after: reply
                .retry_after
                .as_deref()
                .and_then(|value| retry_after(value, now)),
            error: with_message(format!("the server answered {status}")),
        },
    }
}

/// What an error body says, short and safe to show: the `error` or
/// `message` of a JSON body, else its first line of text.
fn message(body: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(body);
    let said = match serde_json::from_str::<serde_json::Value>(&text) {
        Ok(json) => ["error", "message", "detail"]
            .iter()
            .find_map(|key| json.get(key).and_then(|v| v.as_str()).map(str::to_string))?,
        // An HTML error page (a proxy's, a web server's) says nothing useful.
        Err(_) if text.trim_start().starts_with('<') => return None,
        Err(_) => text.lines().next().unwrap_or_default().to_string(),
    };
    let said = sanitize(said.trim());
    if said.is_empty() {
        return None;
    }
    Some(match said.char_indices().nth(160) {
        Some((cut, _)) => format!("{}…", &said[..cut]),
        None => said,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(status: u16, body: &str) -> Reply {
        Reply {
            status,
            body: body.as_bytes().to_vec(),
            ..Reply::default()
        }
    }

    fn now() -> chrono::DateTime<chrono::Utc> {
        chrono::DateTime::parse_from_rfc3339("2026-11-30T09:00:00Z")
            .unwrap()
            .to_utc()
    }

    #[test]
    fn each_kind_of_answer_has_its_verdict() {
        let ok = reply(200, r#"{"accepted":[],"known":[],"rejected":[]}"#);
        assert_eq!(judge(&ok, now()), Verdict::Answered(BatchAnswer::default()));
        assert_eq!(judge(&reply(413, ""), now()), Verdict::TooLarge);
        assert_eq!(
            judge(&reply(422, r#"{"error":"seq must be positive"}"#), now()),
            Verdict::BadBatch("the server refused the batch (422): seq must be positive".into())
        );
        assert!(matches!(judge(&reply(401, ""), now()), Verdict::Refused(_)));
        assert!(matches!(judge(&reply(403, ""), now()), Verdict::Refused(_)));
        for status in [404, 408, 429, 500, 502, 503, 504, 301] {
            assert!(
                matches!(judge(&reply(status, ""), now()), Verdict::Retry { .. }),
                "{status}"
            );
        }
    }

    #[test]
    fn a_success_without_a_batch_answer_is_retried_not_taken() {
        for body in ["", "<html>ok</html>", "{}", r#"{"accepted":"all"}"#] {
            assert!(
                matches!(judge(&reply(200, body), now()), Verdict::Retry { .. }),
                "{body}"
            );
        }
    }

    #[test]
    fn an_html_error_page_is_not_quoted() {
        let page = reply(
            502,
            "<!DOCTYPE html>\n<html><body>Bad Gateway</body></html>",
        );
        let Verdict::Retry { error, .. } = judge(&page, now()) else {
            panic!("502 is retried");
        };
        assert_eq!(error, "the server answered 502");
    }

    #[test]
    fn retry_after_is_honoured_in_both_forms() {
        let mut busy = reply(429, "");
        busy.retry_after = Some("7".into());
        let Verdict::Retry { after, .. } = judge(&busy, now()) else {
            panic!("429 is retried");
        };
        assert_eq!(after, Some(Duration::from_secs(7)));
        busy.status = 503;
        busy.retry_after = Some("Mon, 30 Nov 2026 09:02:00 GMT".into());
        let Verdict::Retry { after, .. } = judge(&busy, now()) else {
            panic!("503 is retried");
        };
        assert_eq!(after, Some(Duration::from_secs(120)));
    }

    #[test]
    fn a_servers_message_is_short_and_cannot_drive_the_terminal() {
        let long = format!("{{\"error\":\"\\u001b[2J{}\"}}", "x".repeat(500));
        let Verdict::BadBatch(text) = judge(&reply(400, &long), now()) else {
            panic!("400 is a bad batch");
        };
        assert!(!text.contains('\u{1b}'), "{text:?}");
        assert!(text.chars().count() < 220, "{text}");
    }
}
