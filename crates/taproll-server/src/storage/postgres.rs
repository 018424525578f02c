//! The PostgreSQL backend: a pool of connections (deadpool), so several
//! requests, and several copies of the server, write at once; the database
//! engine keeps them consistent.

use super::{Guarded, Result, Row, Statement, StorageError, Value, check_version};
use deadpool_postgres::{Config, Pool, Runtime};
use std::collections::HashMap;
use tokio_postgres::NoTls;
use tokio_postgres::types::{ToSql, Type};

/// Any number: taken by one server at a time while it migrates the schema,
/// so that copies started together do not migrate twice.
const MIGRATION_LOCK: i64 = 0x7461_7072;

pub struct Postgres {
    pool: Pool,
}

impl Postgres {
    pub async fn connect(url: &str) -> Result<Self> {
        let config = Config {
            url: Some(url.to_string()),
            ..Config::default()
        };
        let pool = config
            .create_pool(Some(Runtime::Tokio1), NoTls)
            .map_err(|e| StorageError::Pool(e.to_string()))?;
        // Connect now: a wrong address is said at start, not at the first batch.
        drop(pool.get().await.map_err(pool_error)?);
        Ok(Self { pool })
    }

    pub async fn query(&self, statement: Statement) -> Result<Vec<Row>> {
        let client = self.pool.get().await.map_err(pool_error)?;
        query(&client, &statement).await
    }

    /// Two round trips for a whole batch, not one per statement: the
    /// inserts are pipelined (sent together, answered in order), then the
    /// projections of the events that were new, with `after`.
    pub async fn guarded(&self, items: Vec<Guarded>, after: Vec<Statement>) -> Result<Vec<bool>> {
        let mut client = self.pool.get().await.map_err(pool_error)?;
        let tx = client.transaction().await?;
        let inserts: Vec<&Statement> = items.iter().map(|item| &item.insert).collect();
        let inserted: Vec<bool> = pipeline(&tx, &inserts)
            .await?
            .into_iter()
            .map(|rows| !rows.is_empty())
            .collect();
        let then: Vec<&Statement> = items
            .iter()
            .zip(&inserted)
            .filter(|(_, new)| **new)
            .flat_map(|(item, _)| &item.then)
            .chain(&after)
            .collect();
        pipeline(&tx, &then).await?;
        tx.commit().await?;
        Ok(inserted)
    }

    pub async fn migrate(&self, migrations: &'static [&'static str]) -> Result<()> {
        let mut client = self.pool.get().await.map_err(pool_error)?;
        let tx = client.transaction().await?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
            .await?;
        tx.batch_execute("CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL)")
            .await?;
        let found: Option<i64> = tx
            .query_one("SELECT max(version) FROM schema_version", &[])
            .await?
            .get(0);
        let found = found.unwrap_or(0);
        check_version(found, migrations.len())?;
        for (index, sql) in migrations.iter().enumerate().skip(found as usize) {
            tx.batch_execute(sql).await?;
            tx.execute(
                "INSERT INTO schema_version (version) VALUES ($1)",
                &[&(index as i64 + 1)],
            )
            .await?;
            tracing::info!(version = index + 1, "database migrated");
        }
        tx.commit().await?;
        Ok(())
    }
}

fn pool_error(error: impl std::fmt::Display) -> StorageError {
    StorageError::Pool(error.to_string())
}

fn params(values: &[Value]) -> Vec<Box<dyn ToSql + Sync + Send>> {
    values
        .iter()
        .map(|value| -> Box<dyn ToSql + Sync + Send> {
            match value {
                Value::Int(n) => Box::new(*n),
                Value::Text(text) => Box::new(text.clone()),
            }
        })
        .collect()
}

async fn query(
    client: &impl deadpool_postgres::GenericClient,
    statement: &Statement,
) -> Result<Vec<Row>> {
    let owned = params(&statement.params);
    let refs: Vec<&(dyn ToSql + Sync)> = owned.iter().map(|p| p.as_ref() as _).collect();
    let prepared = client.prepare_cached(statement.sql).await?;
    let rows = client.query(&prepared, &refs).await?;
    rows.iter()
        .map(|row| {
            (0..row.len())
                .map(|i| {
                    Ok(match *row.columns()[i].type_() {
                        Type::INT8 => Value::Int(row.try_get::<_, Option<i64>>(i)?),
                        Type::INT4 => Value::Int(row.try_get::<_, Option<i32>>(i)?.map(i64::from)),
                        _ => Value::Text(row.try_get::<_, Option<String>>(i)?),
                    })
                })
                .collect()
        })
        .collect()
}

/// Runs `statements` in order, sent together on one connection.
async fn pipeline(
    client: &impl deadpool_postgres::GenericClient,
    statements: &[&Statement],
) -> Result<Vec<Vec<tokio_postgres::Row>>> {
    let mut prepared: HashMap<&'static str, tokio_postgres::Statement> = HashMap::new();
    for statement in statements {
        if !prepared.contains_key(statement.sql) {
            prepared.insert(statement.sql, client.prepare_cached(statement.sql).await?);
        }
    }
    let runs = statements.iter().map(|statement| {
        let owned = params(&statement.params);
        let prepared = prepared[statement.sql].clone();
        async move {
            let refs: Vec<&(dyn ToSql + Sync)> = owned.iter().map(|p| p.as_ref() as _).collect();
            client.query(&prepared, &refs).await
        }
    });
    Ok(futures_util::future::try_join_all(runs).await?)
}
