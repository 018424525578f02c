//! Where the server keeps what devices send: PostgreSQL for a department,
//! or an SQLite file when one machine is enough (the default: nothing to
//! set up). Both run the same statements (`$1`-style parameters, TEXT and
//! BIGINT columns, `ON CONFLICT`, `RETURNING`); only the schema's DDL and
//! the driver differ, in `sqlite.rs` and `postgres.rs`. What the server
//! does with the data is written once, above this module, as statements.

mod postgres;
mod schema;
mod sqlite;

use std::fmt;

/// A parameter or a column value: the two types the schema uses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    Int(Option<i64>),
    Text(Option<String>),
}

impl Value {
    /// Text without NUL characters: PostgreSQL refuses them in TEXT and
    /// SQLite takes them; both store the same this way.
    pub fn text(text: impl Into<String>) -> Self {
        Value::Text(Some(without_nul(text.into())))
    }

    pub fn opt_text(text: Option<impl Into<String>>) -> Self {
        Value::Text(text.map(|text| without_nul(text.into())))
    }

    pub fn int(n: i64) -> Self {
        Value::Int(Some(n))
    }

    pub fn as_text(&self) -> Option<&str> {
        match self {
            Value::Text(text) => text.as_deref(),
            Value::Int(_) => None,
        }
    }

    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(n) => *n,
            Value::Text(_) => None,
        }
    }
}

/// One SQL statement with its parameters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Statement {
    pub sql: &'static str,
    pub params: Vec<Value>,
}

impl Statement {
    pub fn new(sql: &'static str, params: Vec<Value>) -> Self {
        Self { sql, params }
    }
}

fn without_nul(text: String) -> String {
    if text.contains('\0') {
        text.replace('\0', "")
    } else {
        text
    }
}

/// An insert that may find its row there already (`ON CONFLICT DO NOTHING
/// RETURNING ...`), and what to run only when it did insert; if that
/// fails, it is undone (a savepoint) and `unprojected` runs instead.
#[derive(Clone, Debug)]
pub struct Guarded {
    pub insert: Statement,
    pub then: Vec<Statement>,
    pub unprojected: Statement,
}

/// A batch's writes, in one transaction: `bind` first, which must return a
/// row (else nothing is written), then each guarded insert, then `after`.
#[derive(Clone, Debug)]
pub struct BatchWrite {
    pub bind: Statement,
    pub items: Vec<Guarded>,
    pub after: Vec<Statement>,
}

pub type Row = Vec<Value>;

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("SQLite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("PostgreSQL: {0}")]
    Postgres(#[from] tokio_postgres::Error),
    #[error("PostgreSQL connection pool: {0}")]
    Pool(String),
    #[error(
        "the database was set up by a newer taproll-server (schema {found}, this one knows up to {known}); upgrade taproll-server"
    )]
    TooNew { found: i64, known: i64 },
    #[error("{0}")]
    Bad(String),
}

pub type Result<T, E = StorageError> = std::result::Result<T, E>;

/// An open database, migrated to this server's schema.
pub enum Storage {
    Sqlite(sqlite::Sqlite),
    Postgres(postgres::Postgres),
}

impl fmt::Debug for Storage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Storage::Sqlite(_) => "Storage::Sqlite",
            Storage::Postgres(_) => "Storage::Postgres",
        })
    }
}

impl Storage {
    /// `postgres://…` (or `postgresql://…`), else an SQLite file: `sqlite:PATH`
    /// or a plain path. Applies the migrations this server knows.
    pub async fn open(database: &str) -> Result<Self> {
        let storage =
            if database.starts_with("postgres://") || database.starts_with("postgresql://") {
                Storage::Postgres(postgres::Postgres::connect(database).await?)
            } else {
                let path = database.strip_prefix("sqlite:").unwrap_or(database);
                Storage::Sqlite(sqlite::Sqlite::open(path).await?)
            };
        storage.migrate().await?;
        Ok(storage)
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Storage::Sqlite(_) => "sqlite",
            Storage::Postgres(_) => "postgres",
        }
    }

    pub async fn query(&self, statement: Statement) -> Result<Vec<Row>> {
        match self {
            Storage::Sqlite(db) => db.query(statement).await,
            Storage::Postgres(db) => db.query(statement).await,
        }
    }

    /// `statements` in one transaction.
    pub async fn transaction(&self, statements: Vec<Statement>) -> Result<()> {
        match self {
            Storage::Sqlite(db) => db.transaction(statements).await,
            Storage::Postgres(db) => db.transaction(statements).await,
        }
    }

    /// A batch's writes; which inserts inserted, in order, or `None` when
    /// `bind` found no row (nothing written).
    pub async fn write_batch(&self, write: BatchWrite) -> Result<Option<Vec<bool>>> {
        match self {
            Storage::Sqlite(db) => db.write_batch(write).await,
            Storage::Postgres(db) => db.write_batch(write).await,
        }
    }

    async fn migrate(&self) -> Result<()> {
        match self {
            Storage::Sqlite(db) => db.migrate(schema::SQLITE).await,
            Storage::Postgres(db) => db.migrate(schema::POSTGRES).await,
        }
    }
}

/// The migrations of one backend, checked the same way by both.
pub(crate) fn check_version(found: i64, known: usize) -> Result<()> {
    if found > known as i64 {
        return Err(StorageError::TooNew {
            found,
            known: known as i64,
        });
    }
    Ok(())
}
