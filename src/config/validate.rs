//! The checks of a config file that serde cannot make.

use super::{Config, ConfigError};
use crate::domain::CardUid;
use crate::report::Zone;
use crate::toml_file;
use std::path::Path;

/// The checks serde cannot make. Each names the full dotted key (as
/// `toml_file` writes keys), which finds its line however the file wrote it.
pub(super) fn validate(config: &Config, file: &Path, text: &str) -> Result<(), ConfigError> {
    let check = |ok: bool, key: &str, message: &str| {
        if ok {
            Ok(())
        } else {
            Err(toml_file::invalid_value(
                file,
                text,
                key,
                message.to_string(),
            ))
        }
    };
    check(
        config.session.late_after_minutes <= 24 * 60,
        "session.late_after_minutes",
        "must be between 0 and 1440 minutes",
    )?;
    check(
        config.session.absent_after_minutes == 0
            || (config.session.absent_after_minutes > config.session.late_after_minutes
                && config.session.absent_after_minutes <= 24 * 60),
        "session.absent_after_minutes",
        "must be 0 (never) or more than late_after_minutes, up to 1440",
    )?;
    check(
        config.session.debounce_seconds <= 600,
        "session.debounce_seconds",
        "must be between 0 and 600 seconds",
    )?;
    check(
        (1..=3600).contains(&config.session.resume_question_seconds),
        "session.resume_question_seconds",
        "must be between 1 and 3600 seconds",
    )?;
    if let Err(message) = Zone::parse(&config.report.time_zone) {
        return Err(toml_file::invalid_value(file, text, "report.time_zone", message).into());
    }
    if let Err(message) = crate::report::output::parse_file_mode(&config.report.file_mode) {
        return Err(toml_file::invalid_value(file, text, "report.file_mode", message).into());
    }
    let moodle = &config.report.moodle;
    for (key, acronym) in [
        ("present", &moodle.present),
        ("late", &moodle.late),
        ("excused", &moodle.excused),
        ("absent", &moodle.absent),
    ] {
        check(
            !acronym.trim().is_empty() && !acronym.starts_with(['=', '+', '-', '@']),
            &format!("report.moodle.{key}"),
            "must be the status's acronym in Moodle, such as \"P\" (not empty, not starting with = + - @)",
        )?;
    }
    check(
        !config.report.formats.is_empty(),
        "report.formats",
        "must name at least one format, e.g. [\"csv\", \"xlsx\"]",
    )?;
    check(
        config.report.canvas.points <= 1000,
        "report.canvas.points",
        "must be between 0 and 1000",
    )?;
    check(
        config.report.canvas.late_credit_percent <= 100,
        "report.canvas.late_credit_percent",
        "must be between 0 and 100",
    )?;
    if let Some(server) = &config.sync.server
        && let Err(message) = crate::sync::ServerUrl::parse(server)
    {
        return Err(toml_file::invalid_value(file, text, "sync.server", message).into());
    }
    check(
        (1..=10_000).contains(&config.sync.batch_events),
        "sync.batch_events",
        "must be between 1 and 10000",
    )?;
    check(
        (4096..=64 * 1024 * 1024).contains(&config.sync.batch_bytes),
        "sync.batch_bytes",
        "must be between 4096 and 67108864",
    )?;
    check(
        (1..=300).contains(&config.sync.connect_timeout_seconds),
        "sync.connect_timeout_seconds",
        "must be between 1 and 300 seconds",
    )?;
    check(
        (1..=600).contains(&config.sync.request_timeout_seconds),
        "sync.request_timeout_seconds",
        "must be between 1 and 600 seconds",
    )?;
    check(
        (1..=3600).contains(&config.sync.retry_max_seconds),
        "sync.retry_max_seconds",
        "must be between 1 and 3600 seconds",
    )?;
    check(
        config
            .privacy
            .keep_raw_taps_days
            .is_none_or(|days| (1..=36_500).contains(&days)),
        "privacy.keep_raw_taps_days",
        "must be between 1 and 36500 days (leave it out to keep raw taps for good)",
    )?;
    for (key, rules) in config.risk.all() {
        check(
            rules.min_rate_percent <= 100,
            &format!("{key}.min_rate_percent"),
            "must be between 0 (off) and 100",
        )?;
        check(
            rules.consecutive_absences <= 1000,
            &format!("{key}.consecutive_absences"),
            "must be between 0 (off) and 1000",
        )?;
        check(
            rules.planned_sessions <= 10_000,
            &format!("{key}.planned_sessions"),
            "must be between 0 (off) and 10000",
        )?;
    }
    check(
        (1..=10_000).contains(&config.backup.keep),
        "backup.keep",
        "must be between 1 and 10000",
    )?;
    if let Some((key, message)) = config.keys.problem() {
        return Err(toml_file::invalid_value(file, text, &key, message).into());
    }
    for (index, card) in config.admin.cards.iter().enumerate() {
        if let Err(e) = CardUid::parse_card_number(card) {
            return Err(toml_file::invalid_value(
                file,
                text,
                &format!("admin.cards[{}]", index + 1),
                format!("`{card}`: {e}"),
            )
            .into());
        }
    }
    Ok(())
}
