//! The SQLite backend: one connection behind a mutex, used from tokio's
//! blocking pool. Enough for one department on one machine; for more, the
//! PostgreSQL backend.

use super::{BatchWrite, Result, Row, Statement, StorageError, Value, check_version};
use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, TransactionBehavior, params_from_iter};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub struct Sqlite {
    conn: Arc<Mutex<Connection>>,
}

impl Sqlite {
    pub async fn open(path: &str) -> Result<Self> {
        let path = path.to_string();
        let conn = tokio::task::spawn_blocking(move || -> Result<Connection> {
            let conn = Connection::open(&path)?;
            conn.pragma_update(None, "journal_mode", "WAL")?;
            conn.pragma_update(None, "synchronous", "FULL")?;
            conn.busy_timeout(Duration::from_secs(10))?;
            Ok(conn)
        })
        .await
        .map_err(|e| StorageError::Bad(format!("SQLite thread: {e}")))??;
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    /// Runs `work` on the connection, off the async threads.
    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Connection) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let conn = Arc::clone(&self.conn);
        tokio::task::spawn_blocking(move || {
            let mut conn = conn
                .lock()
                .map_err(|_| StorageError::Bad("the SQLite connection was poisoned".into()))?;
            work(&mut conn)
        })
        .await
        .map_err(|e| StorageError::Bad(format!("SQLite thread: {e}")))?
    }

    pub async fn query(&self, statement: Statement) -> Result<Vec<Row>> {
        self.run(move |conn| query(conn, &statement)).await
    }

    pub async fn transaction(&self, statements: Vec<Statement>) -> Result<()> {
        self.run(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            for statement in &statements {
                execute(&tx, statement)?;
            }
            tx.commit()?;
            Ok(())
        })
        .await
    }

    pub async fn write_batch(&self, write: BatchWrite) -> Result<Option<Vec<bool>>> {
        self.run(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            if query(&tx, &write.bind)?.is_empty() {
                return Ok(None);
            }
            let mut inserted = Vec::with_capacity(write.items.len());
            for item in &write.items {
                let new = !query(&tx, &item.insert)?.is_empty();
                if new && !item.then.is_empty() {
                    tx.execute_batch("SAVEPOINT projection")?;
                    match item.then.iter().try_for_each(|s| execute(&tx, s).map(|_| ())) {
                        Ok(()) => tx.execute_batch("RELEASE projection")?,
                        Err(e) => {
                            tracing::error!(error = %e, "an event's projection failed; the event is kept, unprojected");
                            tx.execute_batch("ROLLBACK TO projection; RELEASE projection")?;
                            execute(&tx, &item.unprojected)?;
                        }
                    }
                }
                inserted.push(new);
            }
            for statement in &write.after {
                execute(&tx, statement)?;
            }
            tx.commit()?;
            Ok(Some(inserted))
        })
        .await
    }

    pub async fn migrate(&self, migrations: &'static [&'static str]) -> Result<()> {
        self.run(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            tx.execute_batch(
                "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)",
            )?;
            let found: Option<i64> =
                tx.query_row("SELECT max(version) FROM schema_version", [], |r| r.get(0))?;
            let found = found.unwrap_or(0);
            check_version(found, migrations.len())?;
            for (index, sql) in migrations.iter().enumerate().skip(found as usize) {
                tx.execute_batch(sql)?;
                tx.execute(
                    "INSERT INTO schema_version (version) VALUES (?1)",
                    [index as i64 + 1],
                )?;
                tracing::info!(version = index + 1, "database migrated");
            }
            tx.commit()?;
            Ok(())
        })
        .await
    }
}

fn query(conn: &Connection, statement: &Statement) -> Result<Vec<Row>> {
    let mut prepared = conn.prepare_cached(&numbered(statement.sql))?;
    let columns = prepared.column_count();
    let mut rows = prepared.query(params_from_iter(statement.params.iter().map(param)))?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        let mut values = Vec::with_capacity(columns);
        for i in 0..columns {
            values.push(match row.get_ref(i)? {
                ValueRef::Null => Value::Text(None),
                ValueRef::Integer(n) => Value::Int(Some(n)),
                ValueRef::Real(x) => Value::Int(Some(x as i64)),
                ValueRef::Text(text) | ValueRef::Blob(text) => {
                    Value::Text(Some(String::from_utf8_lossy(text).into_owned()))
                }
            });
        }
        out.push(values);
    }
    Ok(out)
}

fn execute(conn: &Connection, statement: &Statement) -> Result<usize> {
    Ok(conn
        .prepare_cached(&numbered(statement.sql))?
        .execute(params_from_iter(statement.params.iter().map(param)))?)
}

fn param(value: &Value) -> ToSqlOutput<'_> {
    match value {
        Value::Int(Some(n)) => ToSqlOutput::Borrowed(ValueRef::Integer(*n)),
        Value::Text(Some(text)) => ToSqlOutput::Borrowed(ValueRef::Text(text.as_bytes())),
        Value::Int(None) | Value::Text(None) => ToSqlOutput::Borrowed(ValueRef::Null),
    }
}

/// `$1` as SQLite's `?1`: SQLite reads `$1` as a *name*, numbered by first
/// appearance, so `SET a = $2 WHERE b = $1` would bind them the wrong way.
fn numbered(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '$' && chars.peek().is_some_and(char::is_ascii_digit) {
            out.push('?');
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::numbered;

    #[test]
    fn dollar_parameters_become_numbered_ones() {
        assert_eq!(
            numbered("UPDATE t SET a = $2 WHERE b = $1 AND c = '$x'"),
            "UPDATE t SET a = ?2 WHERE b = ?1 AND c = '$x'"
        );
    }
}
