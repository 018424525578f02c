//! Is the clock plausible enough to start a session? A Raspberry Pi has no
//! battery clock: it can boot with an old time and would then mark a whole
//! class late or absent. Two checks: the clock is not earlier than the
//! newest event the database holds, and the system says it is synchronised
//! (where it can say). `judge` is pure; `system_sync` asks `timedatectl`.

use crate::domain::Timestamp;
use chrono::Duration;
use std::io::Read;
use std::process::{Command, Stdio};
use std::time::Instant;

/// What the system says about its clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sync {
    /// Set from a time server (NTP).
    Synchronised,
    /// Not (yet) set from a time server.
    NotSynchronised,
    /// Nobody to ask: no `timedatectl`, no systemd, D-Bus down, no answer.
    Unknown,
}

/// What the check found, when it lets the session start.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClockState {
    /// Not behind the database, and synchronised.
    Synchronised,
    /// Not behind the database, not synchronised, and allowed by the config
    /// (`session.require_synced_clock = false`).
    NotSynchronised,
    /// Not behind the database; the system cannot say if it is synchronised.
    SyncUnknown,
}

impl ClockState {
    /// A few words for the status line.
    pub fn status(&self) -> &'static str {
        match self {
            ClockState::Synchronised => "clock ok",
            ClockState::NotSynchronised => "clock: not synced",
            ClockState::SyncUnknown => "clock: sync unknown",
        }
    }
}

/// Why no session may start: what is wrong, and the fix, for an instructor
/// at the Pi. Times in the machine's local time, as `date -s` takes them.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ClockError {
    #[error(
        "The clock says {} but this database holds an event from {}: the clock is wrong \
         (a Raspberry Pi has no battery clock and can start with an old time). Connect it \
         to the network and wait for the time to be set (`timedatectl status` shows \
         \"System clock synchronized: yes\"), or set it by hand to the real date and time, \
         which is later than that event: sudo date -s 'YYYY-MM-DD HH:MM'. \
         No session was started.",
        shown(now, newest).0,
        shown(now, newest).1
    )]
    BehindStoredEvents { now: Timestamp, newest: Timestamp },
    #[error(
        "The clock says {} but it is not synchronised with a time server, so it may be \
         wrong (a Raspberry Pi has no battery clock and can start with an old time). \
         Connect it to the network and wait until `timedatectl status` shows \
         \"System clock synchronized: yes\" (if it shows \"NTP service: inactive\", turn \
         it on: sudo timedatectl set-ntp true). In a room without network, set the time \
         by hand (sudo date -s 'YYYY-MM-DD HH:MM') and put `require_synced_clock = false` \
         under [session] in taproll's config file (usually ~/.config/taproll/config.toml). \
         No session was started.",
        local_minute(now)
    )]
    NotSynchronised { now: Timestamp },
}

/// How far the clock may be behind the newest stored event and still be
/// taken as right: times are stored to the millisecond, and a synchronised
/// clock's own corrections are far smaller. A clock that booted stale is
/// behind by the time the Pi was off, minutes at least.
pub const SLACK: Duration = Duration::seconds(5);

/// Whether a session may start at `now`, given the newest time the database
/// holds and what the system says of its clock.
pub fn judge(
    now: Timestamp,
    newest_stored: Option<Timestamp>,
    sync: Sync,
    require_sync: bool,
) -> Result<ClockState, ClockError> {
    if let Some(newest) = newest_stored
        && newest.signed_duration_since(now) > SLACK
    {
        return Err(ClockError::BehindStoredEvents { now, newest });
    }
    match sync {
        Sync::Synchronised => Ok(ClockState::Synchronised),
        Sync::NotSynchronised if require_sync => Err(ClockError::NotSynchronised { now }),
        Sync::NotSynchronised => Ok(ClockState::NotSynchronised),
        Sync::Unknown => Ok(ClockState::SyncUnknown),
    }
}

/// The longest wait for `timedatectl`: it asks systemd-timedated over
/// D-Bus, which may be starting, stuck or absent.
const ASK_FOR: std::time::Duration = std::time::Duration::from_secs(2);

/// Asks `timedatectl` whether the clock is synchronised; `Unknown` when it
/// cannot say within `ASK_FOR` (it is then killed).
pub fn system_sync() -> Sync {
    let mut command = Command::new("timedatectl");
    command.args(["show", "--property=NTPSynchronized", "--value"]);
    ask(command, ASK_FOR)
}

/// Runs `command` for at most `limit` and reads its answer with `sync_from`.
fn ask(mut command: Command, limit: std::time::Duration) -> Sync {
    let spawned = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn();
    let mut child = match spawned {
        Ok(child) => child,
        Err(e) => {
            tracing::debug!(error = %e, "cannot run timedatectl: clock sync unknown");
            return Sync::Unknown;
        }
    };
    // Read on a thread of its own: a process that inherited the pipe could
    // keep it open after timedatectl exits, and a read must not wait for it.
    let (sender, output) = std::sync::mpsc::channel();
    if let Some(mut stdout) = child.stdout.take() {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = stdout.read_to_end(&mut bytes);
            let _ = sender.send(bytes);
        });
    }
    let deadline = Instant::now() + limit;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            Ok(None) | Err(_) => break None,
        }
    };
    let Some(status) = status else {
        tracing::warn!("timedatectl gave no answer in time: clock sync unknown");
        let _ = child.kill();
        let _ = child.wait();
        return Sync::Unknown;
    };
    let remaining = deadline.saturating_duration_since(Instant::now());
    let bytes = output.recv_timeout(remaining).unwrap_or_default();
    let sync = sync_from(status.success(), &bytes);
    tracing::debug!(?sync, code = ?status.code(), "timedatectl asked");
    sync
}

/// What `timedatectl show --property=NTPSynchronized --value` said: `yes`
/// or `no`; anything else, or a failure, says nothing.
fn sync_from(success: bool, stdout: &[u8]) -> Sync {
    if !success {
        return Sync::Unknown;
    }
    match std::str::from_utf8(stdout).map(str::trim) {
        Ok("yes") => Sync::Synchronised,
        Ok("no") => Sync::NotSynchronised,
        _ => Sync::Unknown,
    }
}

/// A time as the instructor's `date` shows it, to the minute.
fn local_minute(at: &Timestamp) -> String {
    at.with_timezone(&chrono::Local)
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

/// The clock's time and the newest event's, to the minute, or to the
/// second when the minute is the same (else the message would say
/// "09:12 but ... 09:12").
fn shown(now: &Timestamp, newest: &Timestamp) -> (String, String) {
    let (now_text, newest_text) = (local_minute(now), local_minute(newest));
    if now_text != newest_text {
        return (now_text, newest_text);
    }
    let second = |at: &Timestamp| {
        at.with_timezone(&chrono::Local)
            .format("%Y-%m-%d %H:%M:%S")
            .to_string()
    };
    (second(now), second(newest))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn time(text: &str) -> Timestamp {
        chrono::DateTime::parse_from_rfc3339(text).expect("an RFC 3339 time")
    }

    const NEWEST: &str = "2026-11-30T09:12:00+01:00";

    fn behind(now: &str) -> Result<ClockState, ClockError> {
        judge(time(now), Some(time(NEWEST)), Sync::Synchronised, true)
    }

    #[test]
    fn a_clock_at_the_newest_event_is_fine() {
        assert_eq!(behind(NEWEST), Ok(ClockState::Synchronised));
    }

    #[test]
    fn a_clock_after_the_newest_event_is_fine() {
        assert_eq!(
            behind("2026-11-30T09:15:00+01:00"),
            Ok(ClockState::Synchronised)
        );
    }

    #[test]
    fn a_clock_a_second_behind_is_within_the_slack() {
        assert_eq!(
            behind("2026-11-30T09:11:59+01:00"),
            Ok(ClockState::Synchronised)
        );
    }

    #[test]
    fn a_clock_exactly_the_slack_behind_is_fine_and_a_millisecond_more_is_not() {
        assert_eq!(
            behind("2026-11-30T09:11:55+01:00"),
            Ok(ClockState::Synchronised)
        );
        assert!(matches!(
            behind("2026-11-30T09:11:54.999+01:00"),
            Err(ClockError::BehindStoredEvents { .. })
        ));
    }

    #[test]
    fn a_clock_far_behind_is_refused_with_both_times() {
        let now = time("2025-01-01T10:00:00+01:00");
        assert_eq!(
            judge(now, Some(time(NEWEST)), Sync::Synchronised, true),
            Err(ClockError::BehindStoredEvents {
                now,
                newest: time(NEWEST)
            })
        );
    }

    #[test]
    fn behind_is_compared_as_instants_whatever_the_offsets() {
        // 08:30 UTC written in UTC+1 is after 08:20 written in UTC, though
        // its text sorts first.
        let now = time("2026-11-30T08:20:00+00:00");
        let newest = time("2026-11-30T09:30:00+01:00");
        assert!(judge(now, Some(newest), Sync::Unknown, true).is_err());
        let now = time("2026-11-30T08:40:00+00:00");
        assert!(judge(now, Some(newest), Sync::Unknown, true).is_ok());
    }

    #[test]
    fn an_empty_database_checks_only_the_sync() {
        let now = time("2025-01-01T10:00:00+01:00");
        assert_eq!(
            judge(now, None, Sync::Synchronised, true),
            Ok(ClockState::Synchronised)
        );
        assert_eq!(
            judge(now, None, Sync::NotSynchronised, true),
            Err(ClockError::NotSynchronised { now })
        );
    }

    #[test]
    fn not_synchronised_is_refused_when_required_and_allowed_when_not() {
        let now = time(NEWEST);
        let newest = Some(time(NEWEST));
        assert_eq!(
            judge(now, newest, Sync::NotSynchronised, true),
            Err(ClockError::NotSynchronised { now })
        );
        let allowed = judge(now, newest, Sync::NotSynchronised, false);
        assert_eq!(allowed, Ok(ClockState::NotSynchronised));
    }

    #[test]
    fn synchronised_is_fine_either_way() {
        let now = time(NEWEST);
        for require in [true, false] {
            assert_eq!(
                judge(now, None, Sync::Synchronised, require),
                Ok(ClockState::Synchronised)
            );
        }
    }

    #[test]
    fn unknown_sync_is_allowed_either_way_but_says_so() {
        let now = time(NEWEST);
        for require in [true, false] {
            let state = judge(now, None, Sync::Unknown, require);
            assert_eq!(state, Ok(ClockState::SyncUnknown));
        }
        assert_eq!(ClockState::SyncUnknown.status(), "clock: sync unknown");
    }

    #[test]
    fn behind_wins_over_an_allowed_unsynchronised_clock() {
        let now = time("2025-01-01T10:00:00+01:00");
        let refused = judge(now, Some(time(NEWEST)), Sync::NotSynchronised, false);
        assert!(matches!(
            refused,
            Err(ClockError::BehindStoredEvents { .. })
        ));
    }

    #[test]
    fn the_status_words_are_short() {
        for state in [
            ClockState::Synchronised,
            ClockState::NotSynchronised,
            ClockState::SyncUnknown,
        ] {
            assert!(state.status().len() <= 20, "{}", state.status());
        }
        assert_eq!(ClockState::Synchronised.status(), "clock ok");
        assert_eq!(ClockState::NotSynchronised.status(), "clock: not synced");
    }

    #[test]
    fn the_behind_message_names_both_times_in_local_time_and_the_fix() {
        let now = time("2025-01-01T10:00:00+01:00");
        let newest = time(NEWEST);
        let message = ClockError::BehindStoredEvents { now, newest }.to_string();
        for part in [
            format!("The clock says {}", local_minute(&now)),
            format!("holds an event from {}", local_minute(&newest)),
            "timedatectl status".to_string(),
            "System clock synchronized: yes".to_string(),
            "sudo date -s".to_string(),
            "No session was started.".to_string(),
        ] {
            assert!(message.contains(&part), "{part:?} not in {message}");
        }
    }

    #[test]
    fn times_in_the_same_minute_are_shown_to_the_second() {
        let now = time("2026-11-30T09:12:10+01:00");
        let newest = time("2026-11-30T09:12:40+01:00");
        let (now_text, newest_text) = shown(&now, &newest);
        assert_ne!(now_text, newest_text);
        assert!(now_text.ends_with(":10"), "{now_text}");
        assert!(newest_text.ends_with(":40"), "{newest_text}");
        let (far, _) = shown(&time("2025-01-01T10:00:30+01:00"), &newest);
        assert_eq!(far.len(), "2025-01-01 10:00".len(), "{far}");
    }

    #[test]
    fn the_not_synchronised_message_names_the_fix_and_the_config_key() {
        let now = time(NEWEST);
        let message = ClockError::NotSynchronised { now }.to_string();
        for part in [
            local_minute(&now).as_str(),
            "time server",
            "timedatectl",
            "set-ntp true",
            "require_synced_clock = false",
            "[session]",
            "No session was started.",
        ] {
            assert!(message.contains(part), "{part:?} not in {message}");
        }
    }

    #[test]
    fn timedatectl_yes_and_no_are_read() {
        assert_eq!(sync_from(true, b"yes\n"), Sync::Synchronised);
        assert_eq!(sync_from(true, b"no\n"), Sync::NotSynchronised);
        assert_eq!(sync_from(true, b"  yes  "), Sync::Synchronised);
    }

    #[test]
    fn anything_else_from_timedatectl_is_unknown() {
        // What a machine without systemd prints is on stderr, with exit 1.
        assert_eq!(sync_from(false, b""), Sync::Unknown);
        assert_eq!(sync_from(false, b"yes\n"), Sync::Unknown);
        assert_eq!(sync_from(true, b""), Sync::Unknown);
        assert_eq!(sync_from(true, b"NTPSynchronized=yes\n"), Sync::Unknown);
        assert_eq!(sync_from(true, b"Yes\n"), Sync::Unknown);
        assert_eq!(sync_from(true, b"\xff\xfe"), Sync::Unknown);
    }

    fn shell(script: &str) -> Command {
        let mut command = Command::new("sh");
        command.args(["-c", script]);
        command
    }

    #[test]
    fn an_answer_is_read_from_the_program() {
        let limit = std::time::Duration::from_secs(10);
        assert_eq!(ask(shell("echo yes"), limit), Sync::Synchronised);
        assert_eq!(ask(shell("echo no"), limit), Sync::NotSynchronised);
        // What timedatectl does on a machine without systemd (this one, CI).
        let no_systemd = "echo 'System has not been booted with systemd' >&2; exit 1";
        assert_eq!(ask(shell(no_systemd), limit), Sync::Unknown);
    }

    #[test]
    fn a_program_that_is_not_there_is_unknown() {
        let command = Command::new("/nonexistent/timedatectl");
        let limit = std::time::Duration::from_secs(10);
        assert_eq!(ask(command, limit), Sync::Unknown);
    }

    #[test]
    fn a_program_that_does_not_answer_is_killed_and_unknown() {
        let started = Instant::now();
        let limit = std::time::Duration::from_millis(100);
        assert_eq!(ask(shell("exec sleep 30"), limit), Sync::Unknown);
        // Not a speed test: it came back long before the sleep would end.
        assert!(started.elapsed() < std::time::Duration::from_secs(20));
    }

    #[test]
    fn asking_this_system_comes_back() {
        // Unknown here and in CI (no systemd); yes or no on a Pi.
        let _ = system_sync();
    }
}
