//! Rows of the published tables, decoded from pgoutput row messages by
//! column name.
//!
//! A [`Catalog`] remembers each [`Relation`] message by OID and maps the
//! tables this follower knows (`zones`, `journal`, `heartbeat`,
//! `tsig_keys`) to their column positions by name, so the column order of
//! the primary's tables does not matter. Values are read in the text and
//! the binary formats for the types the schema uses (`int2`, `int4`,
//! `int8`, `text`/`varchar`, `bytea`, `bool`).
//!
//! A table this follower does not know, a column it does not know (in a
//! known table), or a row that lacks a column or holds a value it cannot
//! read is a [`RowError`]; the caller reports it as a problem and goes on.

use crate::pgoutput::{Column, Message, OldKind, Relation, TupleData};
use std::collections::HashMap;

/// Type OIDs used by the schema (`pg_type.oid`, fixed for built-in types).
mod oid {
    pub const BYTEA: u32 = 17;
    pub const NAME: u32 = 19;
    pub const INT8: u32 = 20;
    pub const INT2: u32 = 21;
    pub const INT4: u32 = 23;
    pub const TEXT: u32 = 25;
    pub const JSON: u32 = 114;
    pub const BPCHAR: u32 = 1042;
    pub const VARCHAR: u32 = 1043;
}

/// Why a row message could not become a [`RowEvent`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RowError {
    /// A row message for a relation OID never described by a Relation message.
    #[error("row for relation OID {0} before its Relation message")]
    UnknownRelation(u32),
    /// A row of a table this follower does not replicate.
    #[error("row of unexpected table {0}")]
    UnknownTable(String),
    /// A required column is not in the table's Relation message.
    #[error("table {table}: column {column} missing")]
    MissingColumn {
        /// The table.
        table: &'static str,
        /// The column.
        column: &'static str,
    },
    /// A column value that can't be read as the schema says.
    #[error("table {table}: column {column}: {reason}")]
    BadValue {
        /// The table.
        table: &'static str,
        /// The column.
        column: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// A message kind that makes no sense for the table (an update of the journal, …).
    #[error("table {table}: unexpected {what}")]
    Unexpected {
        /// The table.
        table: &'static str,
        /// What came.
        what: &'static str,
    },
}

/// The replicated tables.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Table {
    /// `zones`.
    Zones,
    /// `journal`.
    Journal,
    /// `heartbeat`.
    Heartbeat,
    /// `tsig_keys`.
    TsigKeys,
}

impl Table {
    fn from_name(name: &str) -> Option<Table> {
        match name {
            "zones" => Some(Table::Zones),
            "journal" => Some(Table::Journal),
            "heartbeat" => Some(Table::Heartbeat),
            "tsig_keys" => Some(Table::TsigKeys),
            _ => None,
        }
    }

    /// The table's name.
    pub fn name(self) -> &'static str {
        match self {
            Table::Zones => "zones",
            Table::Journal => "journal",
            Table::Heartbeat => "heartbeat",
            Table::TsigKeys => "tsig_keys",
        }
    }

    /// The columns of [`Table::columns`] a database of an older schema lacks
    /// (read as NULL then, not reported missing).
    fn optional_columns(self) -> &'static [&'static str] {
        match self {
            Table::Zones => &["expires_at"],
            _ => &[],
        }
    }

    /// The columns this follower reads; others are reported as unknown.
    fn columns(self) -> &'static [&'static str] {
        match self {
            Table::Zones => &[
                "id",
                "name",
                "kind",
                "serial",
                "settings",
                "created_at",
                "updated_at",
                "expires_at",
            ],
            Table::Journal => &[
                "seq",
                "zone_id",
                "kind",
                "serial_from",
                "serial_to",
                "committed_at",
                "removed",
                "added",
            ],
            Table::Heartbeat => &["id", "at_ms", "interval_ms", "writer"],
            Table::TsigKeys => &["name", "algorithm", "secret", "created_at"],
        }
    }
}

/// A zones row as replicated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ZoneRowPg {
    /// `zones.id` on the primary.
    pub id: i64,
    /// The zone name (lowercase absolute presentation form).
    pub name: String,
    /// `primary` or `secondary`.
    pub kind: String,
    /// The stored serial.
    pub serial: i64,
    /// Settings JSON; `None` when an update left a TOASTed value unchanged (not sent).
    pub settings: Option<String>,
    /// Creation time, unix ms.
    pub created_at: i64,
    /// Last update, unix ms.
    pub updated_at: i64,
    /// When a secondary zone expires, unix ms (schema version 3; `None`
    /// when NULL or on an older schema).
    pub expires_at: Option<i64>,
}

/// A journal row as replicated (blobs not decoded yet).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JournalRowPg {
    /// `journal.seq`.
    pub seq: i64,
    /// The zone's id on the primary.
    pub zone_id: i64,
    /// `create` or `change`.
    pub kind: String,
    /// Serial before.
    pub serial_from: i64,
    /// Serial after.
    pub serial_to: i64,
    /// Commit time, unix ms.
    pub committed_at: i64,
    /// Removed records, [`zonecast_store::encode_records`] format.
    pub removed: Vec<u8>,
    /// Added records, same format.
    pub added: Vec<u8>,
}

/// One replicated row change, typed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RowEvent {
    /// A zones row inserted.
    ZoneInsert(ZoneRowPg),
    /// A zones row updated (the new row).
    ZoneUpdate(ZoneRowPg),
    /// A zones row deleted (`REPLICA IDENTITY FULL` carries the name; `None` if only the key came).
    ZoneDelete {
        /// The zone's id on the primary.
        id: i64,
        /// Its name, when the old row was sent whole.
        name: Option<String>,
    },
    /// A journal row inserted.
    Journal(JournalRowPg),
    /// The heartbeat row written.
    Heartbeat {
        /// Writer's clock at writing, unix ms.
        at_ms: i64,
        /// The writer's interval, ms.
        interval_ms: i64,
        /// Who wrote it.
        writer: String,
    },
    /// A TSIG key inserted or updated.
    TsigPut {
        /// Key name.
        name: String,
        /// Algorithm name.
        algorithm: String,
        /// Raw secret.
        secret: Vec<u8>,
        /// Creation time.
        created_at: i64,
    },
    /// A TSIG key deleted.
    TsigDelete {
        /// Key name.
        name: String,
    },
    /// Tables truncated.
    Truncate(Vec<Table>),
}

#[derive(Clone, Debug)]
struct RelInfo {
    name: String,
    table: Option<Table>,
    /// Column name → (position, type OID).
    columns: HashMap<String, (usize, u32)>,
}

/// Relations seen on this connection, by OID.
#[derive(Clone, Debug, Default)]
pub struct Catalog {
    rels: HashMap<u32, RelInfo>,
}

impl Catalog {
    /// An empty catalog (a new replication connection starts with none).
    pub fn new() -> Catalog {
        Catalog::default()
    }

    /// Records a Relation message; returns the problems it shows (an
    /// unknown table, unknown columns, required columns missing).
    ///
    /// Missing required columns are reported again for each row.
    pub fn relation(&mut self, r: &Relation<'_>) -> Vec<String> {
        let table = Table::from_name(r.name);
        let mut problems = Vec::new();
        let columns: HashMap<String, (usize, u32)> = r
            .columns
            .iter()
            .enumerate()
            .map(|(i, c)| (c.name.to_string(), (i, c.type_oid)))
            .collect();
        match table {
            None => problems.push(format!(
                "relation {}.{} (OID {}) is not a table this edge replicates",
                r.namespace, r.name, r.oid
            )),
            Some(t) => {
                for c in &r.columns {
                    if !t.columns().contains(&c.name) {
                        problems.push(format!("table {}: unknown column {}", t.name(), c.name));
                    }
                }
                for c in t.columns() {
                    if !columns.contains_key(*c) && !t.optional_columns().contains(c) {
                        problems.push(format!("table {}: column {c} missing", t.name()));
                    }
                }
            }
        }
        self.rels.insert(
            r.oid,
            RelInfo {
                name: format!("{}.{}", r.namespace, r.name),
                table,
                columns,
            },
        );
        problems
    }

    fn rel(&self, oid: u32) -> Result<(&RelInfo, Table), RowError> {
        let rel = self.rels.get(&oid).ok_or(RowError::UnknownRelation(oid))?;
        let table = rel
            .table
            .ok_or_else(|| RowError::UnknownTable(rel.name.clone()))?;
        Ok((rel, table))
    }

    /// Turns a row message (Insert, Update, Delete, Truncate) into a typed event.
    ///
    /// Other messages give `Ok(None)`.
    pub fn row(&self, msg: &Message<'_>) -> Result<Option<RowEvent>, RowError> {
        match msg {
            Message::Insert(i) => {
                let (rel, table) = self.rel(i.relation)?;
                let t = Tuple {
                    rel,
                    table,
                    data: &i.new,
                };
                Ok(Some(match table {
                    Table::Zones => RowEvent::ZoneInsert(t.zone()?),
                    Table::Journal => RowEvent::Journal(t.journal()?),
                    Table::Heartbeat => t.heartbeat()?,
                    Table::TsigKeys => t.tsig()?,
                }))
            }
            Message::Update(u) => {
                let (rel, table) = self.rel(u.relation)?;
                let t = Tuple {
                    rel,
                    table,
                    data: &u.new,
                };
                Ok(Some(match table {
                    Table::Zones => RowEvent::ZoneUpdate(t.zone()?),
                    Table::Journal => {
                        return Err(RowError::Unexpected {
                            table: "journal",
                            what: "update",
                        })
                    }
                    Table::Heartbeat => t.heartbeat()?,
                    Table::TsigKeys => {
                        // A renamed key: the old key goes away.
                        if let Some((_, old)) = &u.old {
                            let o = Tuple {
                                rel,
                                table,
                                data: old,
                            };
                            let old_name = o.text("name")?;
                            let new = t.tsig()?;
                            if let RowEvent::TsigPut { name, .. } = &new {
                                if *name != old_name {
                                    return Err(RowError::Unexpected {
                                        table: "tsig_keys",
                                        what: "key rename",
                                    });
                                }
                            }
                            new
                        } else {
                            t.tsig()?
                        }
                    }
                }))
            }
            Message::Delete(d) => {
                let (rel, table) = self.rel(d.relation)?;
                let t = Tuple {
                    rel,
                    table,
                    data: &d.old,
                };
                Ok(Some(match table {
                    Table::Zones => RowEvent::ZoneDelete {
                        id: t.int("id")?,
                        name: if d.kind == OldKind::Full {
                            Some(t.text("name")?)
                        } else {
                            t.opt_text("name")?
                        },
                    },
                    Table::TsigKeys => RowEvent::TsigDelete {
                        name: t.text("name")?,
                    },
                    Table::Journal => {
                        return Err(RowError::Unexpected {
                            table: "journal",
                            what: "delete",
                        })
                    }
                    Table::Heartbeat => {
                        return Err(RowError::Unexpected {
                            table: "heartbeat",
                            what: "delete",
                        })
                    }
                }))
            }
            Message::Truncate(tr) => {
                let mut tables = Vec::new();
                for oid in &tr.relations {
                    let (_, table) = self.rel(*oid)?;
                    tables.push(table);
                }
                Ok(Some(RowEvent::Truncate(tables)))
            }
            _ => Ok(None),
        }
    }
}

/// Which zone a row that could not be read belongs to, as far as can be told.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hint {
    /// A row of this zone (id on the primary).
    Zone(i64),
    /// A zones, journal or tsig_keys row of unknown zone: everything must be resynced.
    Everything,
    /// Not a row of zone data (an unknown table, the heartbeat).
    Nothing,
}

impl Catalog {
    /// For a row message that [`Catalog::row`] refused: whose data it was.
    pub fn zone_hint(&self, msg: &Message<'_>) -> Hint {
        let (oid, data) = match msg {
            Message::Insert(i) => (i.relation, &i.new),
            Message::Update(u) => (u.relation, &u.new),
            Message::Delete(d) => (d.relation, &d.old),
            Message::Truncate(_) => return Hint::Everything,
            _ => return Hint::Nothing,
        };
        let Some(rel) = self.rels.get(&oid) else {
            // A row before its Relation: the table is unknown.
            return Hint::Everything;
        };
        let (table, column) = match rel.table {
            Some(Table::Zones) => (Table::Zones, "id"),
            Some(Table::Journal) => (Table::Journal, "zone_id"),
            Some(Table::TsigKeys) => return Hint::Everything,
            Some(Table::Heartbeat) | None => return Hint::Nothing,
        };
        let t = Tuple { rel, table, data };
        match t.int(column) {
            Ok(id) => Hint::Zone(id),
            Err(_) => Hint::Everything,
        }
    }
}

struct Tuple<'c, 'a> {
    rel: &'c RelInfo,
    table: Table,
    data: &'c TupleData<'a>,
}

impl<'a> Tuple<'_, 'a> {
    fn bad(&self, column: &'static str, reason: impl Into<String>) -> RowError {
        RowError::BadValue {
            table: self.table.name(),
            column,
            reason: reason.into(),
        }
    }

    /// The column's value and type; `None` for NULL.
    fn get(&self, column: &'static str) -> Result<Option<(Column<'a>, u32)>, RowError> {
        let &(i, ty) = self
            .rel
            .columns
            .get(column)
            .ok_or(RowError::MissingColumn {
                table: self.table.name(),
                column,
            })?;
        match self.data.columns.get(i) {
            None => Err(self.bad(column, "not in the row")),
            Some(Column::Null) => Ok(None),
            Some(c) => Ok(Some((*c, ty))),
        }
    }

    fn int(&self, column: &'static str) -> Result<i64, RowError> {
        let v = self.get(column)?.ok_or_else(|| self.bad(column, "NULL"))?;
        self.int_of(column, v)
    }

    /// An integer column that may be NULL, or absent (a schema before it was added).
    fn opt_int(&self, column: &'static str) -> Result<Option<i64>, RowError> {
        if !self.rel.columns.contains_key(column) {
            return Ok(None);
        }
        self.get(column)?
            .map(|v| self.int_of(column, v))
            .transpose()
    }

    fn int_of(&self, column: &'static str, (c, ty): (Column<'a>, u32)) -> Result<i64, RowError> {
        match (c, ty) {
            (Column::Text(v), oid::INT2 | oid::INT4 | oid::INT8) => std::str::from_utf8(v)
                .ok()
                .and_then(|s| s.parse::<i64>().ok())
                .ok_or_else(|| self.bad(column, "not an integer")),
            (Column::Binary(v), oid::INT8) => <[u8; 8]>::try_from(v)
                .map(i64::from_be_bytes)
                .map_err(|_| self.bad(column, "int8 not 8 octets")),
            (Column::Binary(v), oid::INT4) => <[u8; 4]>::try_from(v)
                .map(|b| i64::from(i32::from_be_bytes(b)))
                .map_err(|_| self.bad(column, "int4 not 4 octets")),
            (Column::Binary(v), oid::INT2) => <[u8; 2]>::try_from(v)
                .map(|b| i64::from(i16::from_be_bytes(b)))
                .map_err(|_| self.bad(column, "int2 not 2 octets")),
            (Column::Unchanged, _) => Err(self.bad(column, "unchanged TOAST value")),
            (_, ty) => Err(self.bad(column, format!("type OID {ty} is not an integer type"))),
        }
    }

    fn opt_text(&self, column: &'static str) -> Result<Option<String>, RowError> {
        let Some((c, ty)) = self.get(column)? else {
            return Ok(None);
        };
        match (c, ty) {
            (
                Column::Text(v) | Column::Binary(v),
                oid::TEXT | oid::VARCHAR | oid::NAME | oid::BPCHAR | oid::JSON,
            ) => String::from_utf8(v.to_vec())
                .map(Some)
                .map_err(|_| self.bad(column, "not UTF-8")),
            (Column::Unchanged, _) => Err(self.bad(column, "unchanged TOAST value")),
            (_, ty) => Err(self.bad(column, format!("type OID {ty} is not a text type"))),
        }
    }

    fn text(&self, column: &'static str) -> Result<String, RowError> {
        self.opt_text(column)?
            .ok_or_else(|| self.bad(column, "NULL"))
    }

    fn bytes(&self, column: &'static str) -> Result<Vec<u8>, RowError> {
        let (c, ty) = self.get(column)?.ok_or_else(|| self.bad(column, "NULL"))?;
        match (c, ty) {
            (Column::Binary(v), oid::BYTEA) => Ok(v.to_vec()),
            (Column::Text(v), oid::BYTEA) => {
                parse_bytea_text(v).ok_or_else(|| self.bad(column, "bytea text is not hex format"))
            }
            (Column::Unchanged, _) => Err(self.bad(column, "unchanged TOAST value")),
            (_, ty) => Err(self.bad(column, format!("type OID {ty} is not bytea"))),
        }
    }

    fn zone(&self) -> Result<ZoneRowPg, RowError> {
        let settings = match self.get("settings")? {
            Some((Column::Unchanged, _)) => None,
            _ => Some(self.opt_text("settings")?.unwrap_or_else(|| "{}".into())),
        };
        Ok(ZoneRowPg {
            id: self.int("id")?,
            name: self.text("name")?,
            kind: self.text("kind")?,
            serial: self.int("serial")?,
            settings,
            created_at: self.int("created_at")?,
            updated_at: self.int("updated_at")?,
            expires_at: self.opt_int("expires_at")?,
        })
    }

    fn journal(&self) -> Result<JournalRowPg, RowError> {
        Ok(JournalRowPg {
            seq: self.int("seq")?,
            zone_id: self.int("zone_id")?,
            kind: self.text("kind")?,
            serial_from: self.int("serial_from")?,
            serial_to: self.int("serial_to")?,
            committed_at: self.int("committed_at")?,
            removed: self.bytes("removed")?,
            added: self.bytes("added")?,
        })
    }

    fn heartbeat(&self) -> Result<RowEvent, RowError> {
        Ok(RowEvent::Heartbeat {
            at_ms: self.int("at_ms")?,
            interval_ms: self.int("interval_ms")?,
            writer: self.text("writer")?,
        })
    }

    fn tsig(&self) -> Result<RowEvent, RowError> {
        Ok(RowEvent::TsigPut {
            name: self.text("name")?,
            algorithm: self.text("algorithm")?,
            secret: self.bytes("secret")?,
            created_at: self.int("created_at")?,
        })
    }
}

/// Parses bytea's hex text output (`\x0a0b…`).
fn parse_bytea_text(v: &[u8]) -> Option<Vec<u8>> {
    let hex = v.strip_prefix(b"\\x")?;
    if hex.len() % 2 != 0 {
        return None;
    }
    let digit = |c: u8| -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            b'A'..=b'F' => Some(c - b'A' + 10),
            _ => None,
        }
    };
    hex.chunks_exact(2)
        .map(|p| Some(digit(p[0])? << 4 | digit(p[1])?))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pgoutput::{decode, encode as e, Column as C};

    fn zones_rel() -> Vec<u8> {
        // Columns deliberately out of the schema's order.
        e::relation(
            100,
            "public",
            "zones",
            b'f',
            &[
                (0, "name", oid::TEXT, -1),
                (1, "id", oid::INT8, -1),
                (0, "kind", oid::TEXT, -1),
                (0, "serial", oid::INT8, -1),
                (0, "settings", oid::TEXT, -1),
                (0, "created_at", oid::INT8, -1),
                (0, "updated_at", oid::INT8, -1),
            ],
        )
    }

    /// A catalog knowing the relation `r`, which must raise no problem.
    fn catalog_of(r: &[u8]) -> Catalog {
        let mut c = Catalog::new();
        let Message::Relation(rel) = decode(r).unwrap() else {
            panic!()
        };
        assert!(c.relation(&rel).is_empty());
        c
    }

    fn catalog() -> Catalog {
        catalog_of(&zones_rel())
    }

    /// `zones.expires_at` (schema version 3) is read when the relation has
    /// it, NULL as `None`; the relations above (version 2) lack it.
    #[test]
    fn zone_expiry_is_read_when_the_schema_has_it() {
        // Every column this follower reads, expires_at included.
        let columns: Vec<(u8, &str, u32, i32)> = Table::Zones
            .columns()
            .iter()
            .map(|&name| {
                let text = matches!(name, "name" | "kind" | "settings");
                (
                    u8::from(name == "id"),
                    name,
                    if text { oid::TEXT } else { oid::INT8 },
                    -1,
                )
            })
            .collect();
        let c = catalog_of(&e::relation(101, "public", "zones", b'f', &columns));
        let update = |expires_at| {
            let mut columns = vec![
                C::Text(b"7"),
                C::Text(b"sec.example."),
                C::Text(b"secondary"),
            ];
            columns.extend([C::Text(b"5"), C::Text(b"{}"), C::Text(b"1"), C::Text(b"2")]);
            columns.push(expires_at);
            let m = e::update(101, None, &TupleData { columns });
            c.row(&decode(&m).unwrap())
        };
        for (value, want) in [
            (C::Text(b"1796000000123"), Some(1_796_000_000_123)),
            (C::Null, None),
        ] {
            let Ok(Some(RowEvent::ZoneUpdate(row))) = update(value) else {
                panic!("not a zone update")
            };
            assert_eq!(row.expires_at, want);
        }
        assert!(matches!(
            update(C::Text(b"soon")),
            Err(RowError::BadValue {
                column: "expires_at",
                ..
            })
        ));
    }

    #[test]
    fn zone_rows_by_name_text_and_binary() {
        let c = catalog();
        let id = 7i64.to_be_bytes();
        let t = TupleData {
            columns: vec![
                C::Text(b"example.com."),
                C::Binary(&id),
                C::Text(b"primary"),
                C::Text(b"2024010101"),
                C::Unchanged,
                C::Text(b"1"),
                C::Text(b"2"),
            ],
        };
        let m = e::update(100, None, &t);
        let ev = c.row(&decode(&m).unwrap()).unwrap().unwrap();
        assert_eq!(
            ev,
            RowEvent::ZoneUpdate(ZoneRowPg {
                id: 7,
                name: "example.com.".into(),
                kind: "primary".into(),
                serial: 2024010101,
                settings: None,
                created_at: 1,
                updated_at: 2,
                expires_at: None,
            })
        );
        let m = e::delete(100, OldKind::Full, &t);
        let ev = c.row(&decode(&m).unwrap()).unwrap().unwrap();
        assert_eq!(
            ev,
            RowEvent::ZoneDelete {
                id: 7,
                name: Some("example.com.".into())
            }
        );
    }

    #[test]
    fn problems_not_panics() {
        let mut c = catalog();
        // Unknown relation OID.
        let t = TupleData {
            columns: vec![C::Null],
        };
        let m = e::insert(5, &t);
        assert_eq!(
            c.row(&decode(&m).unwrap()).unwrap_err(),
            RowError::UnknownRelation(5)
        );
        // Unknown table.
        let r = e::relation(6, "public", "stuff", b'd', &[(1, "x", oid::INT4, -1)]);
        let Message::Relation(rel) = decode(&r).unwrap() else {
            panic!()
        };
        assert_eq!(c.relation(&rel).len(), 1);
        let m = e::insert(
            6,
            &TupleData {
                columns: vec![C::Text(b"1")],
            },
        );
        assert!(matches!(
            c.row(&decode(&m).unwrap()).unwrap_err(),
            RowError::UnknownTable(n) if n == "public.stuff"
        ));
        // Unknown and missing columns in a known table.
        let r = e::relation(
            8,
            "public",
            "heartbeat",
            b'd',
            &[
                (1, "id", oid::INT2, -1),
                (0, "at_ms", oid::INT8, -1),
                (0, "color", oid::TEXT, -1),
            ],
        );
        let Message::Relation(rel) = decode(&r).unwrap() else {
            panic!()
        };
        let p = c.relation(&rel);
        assert!(
            p.iter().any(|p| p.contains("unknown column color")),
            "{p:?}"
        );
        assert!(p.iter().any(|p| p.contains("interval_ms missing")), "{p:?}");
        let m = e::insert(
            8,
            &TupleData {
                columns: vec![C::Text(b"1"), C::Text(b"5"), C::Null],
            },
        );
        assert!(matches!(
            c.row(&decode(&m).unwrap()).unwrap_err(),
            RowError::MissingColumn {
                column: "interval_ms",
                ..
            }
        ));
        // Bad values: short row, NULL, non-number, wrong binary width.
        for cols in [
            vec![C::Text(b"example.com.")],
            vec![C::Null; 7],
            vec![
                C::Text(b"a."),
                C::Text(b"x1"),
                C::Text(b"primary"),
                C::Text(b"1"),
                C::Text(b"{}"),
                C::Text(b"1"),
                C::Text(b"1"),
            ],
            vec![
                C::Text(b"a."),
                C::Binary(&[1, 2]),
                C::Text(b"primary"),
                C::Text(b"1"),
                C::Text(b"{}"),
                C::Text(b"1"),
                C::Text(b"1"),
            ],
            vec![
                C::Binary(&[0xff]),
                C::Text(b"1"),
                C::Text(b"primary"),
                C::Text(b"1"),
                C::Text(b"{}"),
                C::Text(b"1"),
                C::Text(b"1"),
            ],
        ] {
            let m = e::insert(100, &TupleData { columns: cols });
            assert!(
                matches!(c.row(&decode(&m).unwrap()), Err(RowError::BadValue { .. })),
                "{m:?}"
            );
        }
    }

    #[test]
    fn journal_and_bytea() {
        let mut c = Catalog::new();
        let r = e::relation(
            9,
            "public",
            "journal",
            b'd',
            &[
                (1, "seq", oid::INT8, -1),
                (0, "zone_id", oid::INT8, -1),
                (0, "kind", oid::TEXT, -1),
                (0, "serial_from", oid::INT8, -1),
                (0, "serial_to", oid::INT8, -1),
                (0, "committed_at", oid::INT8, -1),
                (0, "removed", oid::BYTEA, -1),
                (0, "added", oid::BYTEA, -1),
            ],
        );
        let Message::Relation(rel) = decode(&r).unwrap() else {
            panic!()
        };
        assert!(c.relation(&rel).is_empty());
        let t = TupleData {
            columns: vec![
                C::Text(b"3"),
                C::Text(b"1"),
                C::Text(b"change"),
                C::Text(b"1"),
                C::Text(b"2"),
                C::Text(b"9"),
                C::Text(b"\\x00ff"),
                C::Binary(&[1, 2, 3]),
            ],
        };
        let ev = c.row(&decode(&e::insert(9, &t)).unwrap()).unwrap().unwrap();
        let RowEvent::Journal(j) = ev else { panic!() };
        assert_eq!(j.removed, vec![0, 0xff]);
        assert_eq!(j.added, vec![1, 2, 3]);
        assert_eq!(parse_bytea_text(b"\\x0"), None);
        assert_eq!(parse_bytea_text(b"abc"), None);
        assert_eq!(parse_bytea_text(b"\\xzz"), None);
        // Updates and deletes of the journal are unexpected.
        assert!(c.row(&decode(&e::update(9, None, &t)).unwrap()).is_err());
    }
}
