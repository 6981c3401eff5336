//! The target table as the database describes it, checked against the record's fields
//! at start-up.

use std::collections::BTreeSet;

use postgres::Client;

use super::rows::{ColumnKind, Columns};

/// One column of the table.
#[derive(Debug)]
pub struct Column {
    pub name: String,
    pub kind: ColumnKind,
    /// NOT NULL with no default, identity or generation: a row must give it.
    pub required: bool,
    pub generated: bool,
}

/// The table: its name as PostgreSQL quotes it, its columns and its unique keys.
#[derive(Debug)]
pub struct Table {
    pub name: String,
    pub columns: Vec<Column>,
    /// The column sets of its unique indexes (primary key first).
    pub unique: Vec<(bool, BTreeSet<String>)>,
}

/// How the sink writes: plain inserts, or upserts on a key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Mode {
    Insert,
    /// On the table's primary key.
    UpsertOnPrimaryKey,
    /// On these columns, which a unique index of the table must cover exactly.
    UpsertOn(Vec<String>),
}

pub fn describe(client: &mut Client, table: &str) -> Result<Table, postgres::Error> {
    let name: String = client
        .query_one("SELECT $1::text::regclass::text", &[&table])?
        .get(0);
    let columns = client
        .query(
            "SELECT a.attname::text, t.typcategory = 'A', \
                    a.attnotnull AND NOT a.atthasdef AND a.attidentity = '' \
                        AND a.attgenerated = '', \
                    a.attgenerated <> '' \
             FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid \
             WHERE a.attrelid = $1::text::regclass AND a.attnum > 0 \
                   AND NOT a.attisdropped \
             ORDER BY a.attnum",
            &[&table],
        )?
        .into_iter()
        .map(|row| Column {
            name: row.get(0),
            kind: if row.get(1) {
                ColumnKind::Array
            } else {
                ColumnKind::Scalar
            },
            required: row.get(2),
            generated: row.get(3),
        })
        .collect();
    let unique = client
        .query(
            "SELECT i.indisprimary, \
                    array(SELECT a.attname::text FROM unnest(i.indkey::int2[]) k \
                          JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k), \
                    cardinality(i.indkey::int2[]) \
             FROM pg_index i \
             WHERE i.indrelid = $1::text::regclass AND i.indisunique \
                   AND i.indpred IS NULL \
             ORDER BY i.indisprimary DESC",
            &[&table],
        )?
        .into_iter()
        .filter_map(|row| {
            let names: Vec<String> = row.get(1);
            let width: i32 = row.get(2);
            // An index on an expression names fewer columns than it has keys.
            (names.len() == width as usize).then(|| (row.get(0), names.into_iter().collect()))
        })
        .collect();
    Ok(Table {
        name,
        columns,
        unique,
    })
}

/// The columns the sink writes (the record's fields, in their order, with each
/// column's kind) and the key's positions among them, or why the record and the table
/// do not fit, naming the column.
pub fn plan(table: &Table, fields: &[&str], mode: &Mode) -> Result<(Columns, Vec<usize>), String> {
    let names = || {
        table
            .columns
            .iter()
            .map(|c| c.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut columns = Vec::new();
    for field in fields {
        let Some(column) = table.columns.iter().find(|c| c.name == *field) else {
            return Err(format!(
                "the record's field `{field}` has no column in table {} (its columns: {})",
                table.name,
                names()
            ));
        };
        if column.generated {
            return Err(format!(
                "column `{field}` of table {} is generated; the record cannot write it",
                table.name
            ));
        }
        columns.push((column.name.clone(), column.kind));
    }
    if let Some(missing) = table
        .columns
        .iter()
        .find(|c| c.required && !fields.contains(&c.name.as_str()))
    {
        return Err(format!(
            "column `{}` of table {} is NOT NULL without a default, and the record has no \
             field `{}`",
            missing.name, table.name, missing.name
        ));
    }
    let key: Vec<String> = match mode {
        Mode::Insert => return Ok((columns, Vec::new())),
        Mode::UpsertOnPrimaryKey => match table.unique.first() {
            Some((true, key)) => {
                // In the record's order, so that the statement reads naturally.
                let mut key: Vec<String> = key.iter().cloned().collect();
                key.sort_by_key(|k| fields.iter().position(|f| f == k));
                key
            }
            _ => {
                return Err(format!(
                    "table {} has no primary key to upsert on; add one, or name a unique \
                     key with upsert_on([..])",
                    table.name
                ))
            }
        },
        Mode::UpsertOn(key) => {
            let wanted: BTreeSet<String> = key.iter().cloned().collect();
            if !table.unique.iter().any(|(_, k)| *k == wanted) {
                return Err(format!(
                    "no unique index or primary key of table {} is on exactly ({}); upsert \
                     needs one",
                    table.name,
                    key.join(", ")
                ));
            }
            key.clone()
        }
    };
    let mut positions = Vec::new();
    for k in &key {
        let Some(at) = columns.iter().position(|(name, _)| name == k) else {
            return Err(format!(
                "the upsert key column `{k}` of table {} is not a field of the record",
                table.name
            ));
        };
        positions.push(at);
    }
    Ok((columns, positions))
}

/// A quoted SQL identifier.
pub fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> Table {
        let column = |name: &str, required| Column {
            name: name.into(),
            kind: ColumnKind::Scalar,
            required,
            generated: name == "total",
        };
        Table {
            name: "alerts".into(),
            columns: vec![
                column("id", true),
                column("amount", false),
                column("note", false),
                column("total", false),
            ],
            unique: vec![(true, ["id".to_string()].into())],
        }
    }

    #[test]
    fn fields_map_to_columns_by_name() {
        let (columns, key) =
            plan(&table(), &["amount", "id"], &Mode::UpsertOnPrimaryKey).expect("fits");
        let names: Vec<_> = columns.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!((names, key), (vec!["amount", "id"], vec![1]));
    }

    #[test]
    fn mismatches_name_the_column() {
        let t = table();
        let err = plan(&t, &["id", "amout"], &Mode::Insert).unwrap_err();
        assert!(err.contains("field `amout` has no column"), "{err}");
        assert!(err.contains("id, amount, note, total"), "{err}");
        let err = plan(&t, &["amount"], &Mode::Insert).unwrap_err();
        assert!(
            err.contains("column `id`") && err.contains("NOT NULL"),
            "{err}"
        );
        let err = plan(&t, &["id", "total"], &Mode::Insert).unwrap_err();
        assert!(
            err.contains("`total`") && err.contains("generated"),
            "{err}"
        );
        let err = plan(&t, &["id"], &Mode::UpsertOn(vec!["note".into()])).unwrap_err();
        assert!(err.contains("exactly (note)"), "{err}");
        let no_key = Table {
            unique: Vec::new(),
            ..table()
        };
        let err = plan(&no_key, &["id"], &Mode::UpsertOnPrimaryKey).unwrap_err();
        assert!(err.contains("no primary key"), "{err}");
    }
}
