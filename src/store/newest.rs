//! The newest time the database holds, for the clock check (`crate::clock`):
//! a clock earlier than it is wrong.

use super::{Result, Store, parse_time};
use crate::domain::Timestamp;

/// Every column that records when this device's clock saw something happen:
/// taps, the events of the outbox (every change since the event log began:
/// a session started or ended, a mark, a card bound), the events queued
/// before it, changes to marks, courses made, cards bound. Not a session's
/// `started_at` (nor `ended_at` and the absences, which may copy it): that
/// is the class's planned start, which may be ahead of the clock (taproll
/// run at 08:55 for a class at 09:00).
const TIMES: &str = "
    SELECT at AS t FROM taps
    UNION ALL SELECT at FROM outbox
    UNION ALL SELECT created_at FROM outbox_v1
    UNION ALL SELECT changed_at FROM mark_changes
    UNION ALL SELECT created_at FROM courses
    UNION ALL SELECT added_at FROM cards";

impl Store {
    /// The latest time any stored event happened; `None` for a database
    /// with none. Times are RFC 3339 text with their UTC offsets, whose
    /// text does not sort as their instants do: compared by `julianday`,
    /// which reads the offset. With `max()` SQLite gives the other column
    /// from the row with the maximum. A time it cannot read (NULL) counts
    /// as the largest, so that it is an error here rather than passed over.
    pub fn newest_event_time(&self) -> Result<Option<Timestamp>> {
        let newest: Option<String> = self.conn.query_row(
            &format!("SELECT t, max(coalesce(julianday(t), 1e308)) FROM ({TIMES})"),
            [],
            |row| row.get(0),
        )?;
        newest.as_deref().map(parse_time).transpose()
    }
}
