//! The PostgreSQL backend: a pool of connections (deadpool), so several
//! requests, and several copies of the server, write at once; the database
//! engine keeps them consistent.

use super::{BatchWrite, Result, Row, Statement, StorageError, Value, check_version};
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

    pub async fn transaction(&self, statements: Vec<Statement>) -> Result<()> {
        let mut client = self.pool.get().await.map_err(pool_error)?;
        let tx = client.transaction().await?;
        let all: Vec<&Statement> = statements.iter().collect();
        pipeline(&tx, &all).await?;
        tx.commit().await?;
        Ok(())
    }

    /// A few round trips for a whole batch, not one per statement: the
    /// inserts are pipelined (sent together, answered in order), then the
    /// projections of the events that were new, with `after`. If that
    /// fails (a projection a device's data broke), the batch is written
    /// again event by event, each projection under a savepoint.
    pub async fn write_batch(&self, write: BatchWrite) -> Result<Option<Vec<bool>>> {
        match self.write_batch_at_once(&write).await {
            Ok(written) => Ok(written),
            Err(StorageError::Postgres(e)) if e.as_db_error().is_some() => {
                tracing::warn!(error = %e, "a batch's projections failed; writing it event by event");
                self.write_batch_one_by_one(&write).await
            }
            Err(e) => Err(e),
        }
    }

    async fn write_batch_at_once(&self, write: &BatchWrite) -> Result<Option<Vec<bool>>> {
        let mut client = self.pool.get().await.map_err(pool_error)?;
        let tx = client.transaction().await?;
        if query(&tx, &write.bind).await?.is_empty() {
            return Ok(None);
        }
        let inserts: Vec<&Statement> = write.items.iter().map(|item| &item.insert).collect();
        let inserted: Vec<bool> = pipeline(&tx, &inserts)
            .await?
            .into_iter()
            .map(|rows| !rows.is_empty())
            .collect();
        let then: Vec<&Statement> = write
            .items
            .iter()
            .zip(&inserted)
            .filter(|(_, new)| **new)
            .flat_map(|(item, _)| &item.then)
            .chain(&write.after)
            .collect();
        pipeline(&tx, &then).await?;
        tx.commit().await?;
        Ok(Some(inserted))
    }

    async fn write_batch_one_by_one(&self, write: &BatchWrite) -> Result<Option<Vec<bool>>> {
        let mut client = self.pool.get().await.map_err(pool_error)?;
        let mut tx = client.transaction().await?;
        if query(&tx, &write.bind).await?.is_empty() {
            return Ok(None);
        }
        let mut inserted = Vec::with_capacity(write.items.len());
        for item in &write.items {
            let new = !query(&tx, &item.insert).await?.is_empty();
            if new && !item.then.is_empty() {
                let savepoint = tx.savepoint("projection").await?;
                let then: Vec<&Statement> = item.then.iter().collect();
                match pipeline(&savepoint, &then).await {
                    Ok(_) => savepoint.commit().await?,
                    Err(e) => {
                        tracing::error!(error = %e, "an event's projection failed; the event is kept, unprojected");
                        savepoint.rollback().await?;
                        pipeline(&tx, &[&item.unprojected]).await?;
                    }
                }
            }
            inserted.push(new);
        }
        let after: Vec<&Statement> = write.after.iter().collect();
        pipeline(&tx, &after).await?;
        tx.commit().await?;
        Ok(Some(inserted))
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
