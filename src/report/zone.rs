//! The time zone reports are written in: the machine's, or a named one, so a
//! Raspberry Pi left on UTC still writes the class's local times.

use crate::domain::Timestamp;
use std::str::FromStr;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Zone {
    /// The machine's zone (the `TZ` variable, else /etc/localtime).
    Local,
    Named(chrono_tz::Tz),
}

impl Zone {
    /// `local` or an IANA name such as `Europe/Amsterdam`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if text.is_empty() || text.eq_ignore_ascii_case("local") {
            return Ok(Zone::Local);
        }
        chrono_tz::Tz::from_str(text).map(Zone::Named).map_err(|_| {
            format!(
                "`{text}` is not a time zone; use \"local\" or a name like \"Europe/Amsterdam\""
            )
        })
    }

    /// As written in a report's header.
    pub fn name(&self) -> String {
        match self {
            // The name chrono's Local uses too: TZ when it holds a zone name,
            // else the system's (/etc/localtime). Just "local" if unnamed.
            Zone::Local => {
                let tz = std::env::var("TZ").unwrap_or_default();
                let tz = tz.trim_start_matches(':');
                if chrono_tz::Tz::from_str(tz).is_ok() {
                    tz.to_string()
                } else if tz.is_empty() {
                    iana_time_zone::get_timezone().unwrap_or_else(|_| "local".to_string())
                } else {
                    "local".to_string()
                }
            }
            Zone::Named(tz) => tz.name().to_string(),
        }
    }

    /// The same instant as a local time of this zone, with its offset.
    pub fn convert(&self, at: &Timestamp) -> Timestamp {
        match self {
            Zone::Local => at.with_timezone(&chrono::Local).fixed_offset(),
            Zone::Named(tz) => at.with_timezone(tz).fixed_offset(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn at(text: &str) -> Timestamp {
        chrono::DateTime::parse_from_rfc3339(text).unwrap()
    }

    #[test]
    fn a_named_zone_converts_with_its_summer_and_winter_offsets() {
        let zone = Zone::parse("Europe/Amsterdam").unwrap();
        assert_eq!(
            zone.convert(&at("2026-11-30T08:05:00Z")).to_rfc3339(),
            "2026-11-30T09:05:00+01:00"
        );
        assert_eq!(
            zone.convert(&at("2026-07-01T08:05:00Z")).to_rfc3339(),
            "2026-07-01T10:05:00+02:00"
        );
        assert_eq!(zone.name(), "Europe/Amsterdam");
    }

    #[test]
    fn the_date_is_the_date_in_the_zone() {
        let zone = Zone::parse("America/New_York").unwrap();
        assert_eq!(
            zone.convert(&at("2026-12-01T02:00:00Z")).date_naive(),
            NaiveDate::from_ymd_opt(2026, 11, 30).unwrap()
        );
    }

    #[test]
    fn local_and_bad_names() {
        assert_eq!(Zone::parse("local").unwrap(), Zone::Local);
        assert_eq!(Zone::parse("").unwrap(), Zone::Local);
        let error = Zone::parse("Mars/Olympus").unwrap_err();
        assert!(error.contains("Mars/Olympus"), "{error}");
    }
}
