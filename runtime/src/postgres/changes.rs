//! An updating SQL query's changelog into a table in upsert mode (Flink's JDBC sink on a
//! changelog): `+I` and `+U` upsert the row on the table's key, `-D` deletes the key's
//! row, `-U` (always followed by its `+U`) writes nothing.
//!
//! The table's upsert key must be the query's (its `GROUP BY` columns): otherwise one
//! key's rows would overwrite another's, so the job fails at start-up naming both, as
//! Flink 2.3 refuses it rather than materialize.
//!
//! Batches are as for records: within a batch the last change of a key wins, and a
//! batch's deletes and upserts commit in one transaction (deletes by `COPY` into a
//! staging table, then `DELETE .. USING`). Upserts and deletes are idempotent, so a
//! batch retried after a lost connection is applied once. (With checkpoints the job
//! refuses to start: an updating query's state is not in checkpoints yet.)

use serde::de::DeserializeOwned;
use serde::Serialize;
use timely::dataflow::StreamVec;

use super::table::{ident, Mode};
use super::{retryable, Batch, Failure, PostgresSink, RowWriter};
use crate::context::JobContext;
use crate::error::{Error, Result};
use crate::sinks::{write_with, Writer, Written};
use crate::sql::changelog::{Change, ChangelogSink, RowKind};
use crate::time::Time;

/// The staging table of a batch's deletes.
const DELETES: &str = "tidemill_stage_deletes";

impl<T: Serialize + DeserializeOwned + 'static> ChangelogSink<T> for PostgresSink<T> {
    fn build_changelog<'scope>(
        &self,
        changes: StreamVec<'scope, Time, Change<T>>,
        key: &[&str],
        context: &JobContext,
    ) -> Written<'scope> {
        let writer = ChangeWriter::open(self, key);
        write_with(changes, "postgres", context, writer, self.flush_interval)
    }
}

/// One worker's connection, its batch of upserts, and its batch of deletes.
struct ChangeWriter {
    rows: RowWriter,
    deletes: Batch,
    copy_deletes: String,
    delete: String,
}

impl ChangeWriter {
    fn open<T: DeserializeOwned>(spec: &PostgresSink<T>, query_key: &[&str]) -> Result<Self> {
        let table = &spec.table;
        if spec.mode == Mode::Insert {
            return Err(Error::Config(format!(
                "postgres sink to {table}: an updating query's changes need an upsert sink on its key ({}): `postgres(url, table).upsert()`",
                query_key.join(", ")
            )));
        }
        let mut rows = RowWriter::open(spec)?;
        let mut sink_key: Vec<&str> = rows.key_columns.iter().map(String::as_str).collect();
        let mut wanted = query_key.to_vec();
        sink_key.sort_unstable();
        wanted.sort_unstable();
        if query_key.is_empty() || sink_key != wanted {
            let query = if query_key.is_empty() {
                "none: it does not project every GROUP BY column".to_string()
            } else {
                format!("({})", query_key.join(", "))
            };
            return Err(Error::Config(format!(
                "postgres sink to {}: the query's upsert key, its GROUP BY columns, is {query}, but the table's upsert key is ({}); make them the same columns (`upsert_on(&[..])`, or the table's primary key)",
                rows.conn.at,
                rows.key_columns.join(", ")
            )));
        }
        let keys: Vec<String> = rows.key_columns.iter().map(|k| ident(k)).collect();
        let list = &rows.list;
        let stage = format!(
            "CREATE TEMPORARY TABLE IF NOT EXISTS {DELETES} ON COMMIT DELETE ROWS AS \
             SELECT {list} FROM {} WITH NO DATA",
            rows.table
        );
        let prepare = match rows.conn.prepare.take() {
            Some(upserts) => format!("{upserts}; {stage}"),
            None => stage,
        };
        rows.conn.prepare = Some(prepare.clone());
        rows.conn
            .run("preparing the deletes", |client| {
                Ok(client.batch_execute(&prepare)?)
            })
            .map_err(|e| rows.error("cannot prepare the deletes", &e))?;
        let matches: Vec<String> = keys.iter().map(|k| format!("t.{k} = d.{k}")).collect();
        Ok(ChangeWriter {
            copy_deletes: format!("COPY {DELETES} ({list}) FROM STDIN"),
            delete: format!(
                "DELETE FROM {} t USING {DELETES} d WHERE {}",
                rows.table,
                matches.join(" AND ")
            ),
            rows,
            deletes: Batch::default(),
        })
    }

    fn len(&self) -> usize {
        self.rows.batch.len() + self.deletes.len()
    }
}

impl<T: Serialize> Writer<Change<T>> for ChangeWriter {
    fn write(&mut self, changes: &mut Vec<Change<T>>) -> Result<()> {
        let mut one = Vec::with_capacity(1);
        for change in changes.drain(..) {
            if change.kind == RowKind::UpdateBefore {
                continue;
            }
            let upsert = change.kind.is_upsert();
            one.push(change.row);
            // The key's latest change wins: an upsert cancels a waiting delete of its
            // key, and a delete a waiting upsert.
            let other = if upsert {
                self.rows.add(None, &mut one)?;
                &mut self.deletes
            } else {
                self.rows.add(Some(&mut self.deletes), &mut one)?;
                &mut self.rows.batch
            };
            if let Some(earlier) = other.keys.remove(&self.rows.key) {
                other.live[earlier] = false;
            }
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        if self.len() == 0 {
            return Ok(());
        }
        let what = format!("a batch of {} changes", self.len());
        let (copy, merge) = (&self.rows.copy, self.rows.merge.as_deref());
        let (upserts, deletes) = (&self.rows.batch, &self.deletes);
        let (copy_deletes, delete) = (&self.copy_deletes, &self.delete);
        let written = self.rows.conn.run(&what, |client| {
            use std::io::Write;
            let mut transaction = client.transaction()?;
            if deletes.written(true).next().is_some() {
                let mut writer = transaction.copy_in(copy_deletes.as_str())?;
                for row in deletes.written(true) {
                    writer.write_all(row)?;
                }
                writer.finish()?;
                transaction.execute(delete.as_str(), &[])?;
            }
            if upserts.written(true).next().is_some() {
                let mut writer = transaction.copy_in(copy.as_str())?;
                for row in upserts.written(true) {
                    writer.write_all(row)?;
                }
                writer.finish()?;
                if let Some(merge) = merge {
                    transaction.execute(merge, &[])?;
                }
            }
            Ok::<_, Failure>(transaction.commit()?)
        });
        match written {
            Ok(()) => {
                self.rows.batch.clear();
                self.deletes.clear();
                Ok(())
            }
            Err(e) if retryable(&e) => Err(self.rows.error(
                &format!("gave up after {:?} of failures", self.rows.conn.retry_for),
                &e,
            )),
            Err(e) => Err(self.rows.rejected(&e)),
        }
    }

    fn wants_flush(&self) -> bool {
        self.len() >= self.rows.batch_size
    }
}
