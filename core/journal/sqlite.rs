//! The durable journal: one SQLite file, the embedded default store that
//! every surface opens by path.
//!
//! Why the core, otherwise pure Rust under `forbid(unsafe_code)`, takes this
//! C dependency: a kiosk or township server needs a crash-safe store that is a
//! single file and needs no server, and every surface (Rust, C, Python) must
//! open the same file the same way. Keeping the store in the core gives all of
//! them one implementation of the locking, durability and chain rules. The
//! unsafe code stays inside rusqlite (SQLite compiled in, `bundled`); the
//! `sqlite` cargo feature can be turned off for a pure-Rust core with only the
//! memory journal.
//!
//! Durability: WAL with `synchronous=FULL`, one transaction per record, so an
//! acknowledged command survives a power cut and a torn one leaves no trace.
//! Exclusivity: the connection takes SQLite's exclusive lock at open and holds
//! it (`locking_mode=EXCLUSIVE`), so a second writer, in this process or
//! another, fails at once with [`JournalError::Locked`] instead of waiting.

use std::path::Path;
use std::time::Duration;

use rusqlite::{
    params, Connection, ErrorCode as SqliteCode, OptionalExtension, TransactionBehavior,
};

use super::{
    chain_hash, Checkpoint, Journal, JournalError, Record, RecordBody, Snapshot, StoredRecord,
};
use crate::journal::GENESIS_HASH;

/// The schema, one step per version: step `i` takes a file from version `i`
/// to `i + 1`. Steps are only ever added at the end.
const MIGRATIONS: &[&str] = &[
    // 1: records with their chain hashes, the idempotency key as a unique
    //    index (a copy of the key inside the hashed body), one snapshot.
    "CREATE TABLE records (
         seq       INTEGER PRIMARY KEY,
         prev_hash TEXT NOT NULL,
         hash      TEXT NOT NULL,
         key       TEXT UNIQUE,
         body      BLOB NOT NULL
     );
     CREATE TABLE snapshots (
         seq     INTEGER PRIMARY KEY,
         hash    TEXT NOT NULL,
         version TEXT NOT NULL,
         digest  TEXT NOT NULL,
         state   BLOB NOT NULL
     );",
];

/// The page size of new journal files.
const PAGE_SIZE: i64 = 16_384;

/// The schema version this build writes (`PRAGMA user_version`).
pub const SCHEMA_VERSION: u32 = MIGRATIONS.len() as u32;

/// A journal in a SQLite file.
pub struct SqliteJournal {
    conn: Connection,
    head: Checkpoint,
}

impl std::fmt::Debug for SqliteJournal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteJournal")
            .field("path", &self.conn.path())
            .field("head", &self.head)
            .finish()
    }
}

impl SqliteJournal {
    /// Creates or opens the journal at `path`, takes the write lock, and
    /// brings the schema up to [`SCHEMA_VERSION`].
    ///
    /// Fails with [`JournalError::Locked`] when another connection holds the
    /// file, and [`JournalError::UnsupportedSchema`] when a newer build wrote it.
    pub fn open(path: impl AsRef<Path>) -> Result<SqliteJournal, JournalError> {
        let mut conn = Connection::open(path).map_err(sql)?;
        // Never wait for a lock: a second writer is a configuration error to
        // report, not something to queue behind.
        conn.busy_timeout(Duration::ZERO).map_err(sql)?;
        conn.pragma_update(None, "locking_mode", "EXCLUSIVE")
            .map_err(sql)?;
        // For a new file: 16 KiB pages read a long journal about half again
        // as fast as the default 4 KiB (fewer page transitions per record)
        // while a commit still writes only a few pages. No effect on an
        // existing file.
        conn.pragma_update(None, "page_size", PAGE_SIZE)
            .map_err(sql)?;
        // Take the exclusive lock now and keep it (the locking mode holds it
        // after the transaction ends), so the second opener fails here.
        conn.execute_batch("BEGIN EXCLUSIVE; COMMIT;")
            .map_err(sql)?;
        let mode: String = conn
            .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
            .map_err(sql)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(JournalError::Io {
                detail: format!("the file cannot use write-ahead logging (mode {mode})"),
            });
        }
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(sql)?;
        migrate(&mut conn, MIGRATIONS)?;
        let head = conn
            .query_row(
                "SELECT seq, hash FROM records ORDER BY seq DESC LIMIT 1",
                [],
                |row| Ok((row.get::<_, i64>(0)?, row.get::<_, String>(1)?)),
            )
            .optional()
            .map_err(sql)?;
        let head = match head {
            Some((seq, hash)) => Checkpoint {
                seq: seq_from_sql(seq)?,
                hash,
            },
            None => Checkpoint {
                seq: 0,
                hash: GENESIS_HASH.to_owned(),
            },
        };
        Ok(SqliteJournal { conn, head })
    }

    /// Appends records in one transaction: all of them or none. Each must
    /// follow the one before (for imports and restores; the engine appends one).
    pub fn append_all(&mut self, records: &[Record]) -> Result<(), JournalError> {
        let mut head = self.head.clone();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sql)?;
        {
            let mut insert = tx
                .prepare_cached(
                    "INSERT INTO records (seq, prev_hash, hash, key, body) VALUES (?1, ?2, ?3, ?4, ?5)",
                )
                .map_err(sql)?;
            for record in records {
                let seq = record.body.seq;
                if seq != head.seq + 1 || record.prev_hash != head.hash {
                    return Err(JournalError::Corrupt {
                        seq,
                        detail: format!("does not follow record {} in the journal", head.seq),
                    });
                }
                insert
                    .execute(params![
                        seq_to_sql(seq),
                        record.prev_hash,
                        record.hash,
                        record.body.key,
                        record.body.canonical_bytes(),
                    ])
                    .map_err(sql)?;
                head = Checkpoint {
                    seq,
                    hash: record.hash.clone(),
                };
            }
        }
        tx.commit().map_err(sql)?;
        self.head = head;
        Ok(())
    }

    /// Runs SQLite's own `integrity_check` over the file's pages and indexes.
    pub fn integrity_check(&self) -> Result<(), JournalError> {
        let mut statement = self.conn.prepare("PRAGMA integrity_check").map_err(sql)?;
        let problems: Vec<String> = statement
            .query_map([], |row| row.get(0))
            .map_err(sql)?
            .collect::<Result<_, _>>()
            .map_err(sql)?;
        if problems == ["ok"] {
            Ok(())
        } else {
            Err(JournalError::Corrupt {
                seq: 0,
                detail: format!("integrity check: {}", problems.join("; ")),
            })
        }
    }

    /// The schema version the file is at.
    pub fn schema_version(&self) -> Result<u32, JournalError> {
        user_version(&self.conn)
    }
}

impl Journal for SqliteJournal {
    fn append(&mut self, record: &Record) -> Result<(), JournalError> {
        self.append_all(std::slice::from_ref(record))
    }

    fn replay(
        &self,
        from_seq: u64,
        visit: &mut dyn FnMut(Record) -> Result<(), JournalError>,
    ) -> Result<(), JournalError> {
        let mut statement = self
            .conn
            .prepare_cached(
                "SELECT seq, prev_hash, hash, body FROM records WHERE seq >= ?1 ORDER BY seq",
            )
            .map_err(sql)?;
        let mut rows = statement.query([seq_to_sql(from_seq)]).map_err(sql)?;
        while let Some(row) = rows.next().map_err(sql)? {
            visit(decode(row)?)?;
        }
        Ok(())
    }

    fn record(&self, seq: u64) -> Result<Option<Record>, JournalError> {
        let mut statement = self
            .conn
            .prepare_cached("SELECT seq, prev_hash, hash, body FROM records WHERE seq = ?1")
            .map_err(sql)?;
        let mut rows = statement.query([seq_to_sql(seq)]).map_err(sql)?;
        match rows.next().map_err(sql)? {
            Some(row) => Ok(Some(decode(row)?)),
            None => Ok(None),
        }
    }

    fn key_seq(&self, key: &str) -> Result<Option<u64>, JournalError> {
        let seq: Option<i64> = self
            .conn
            .prepare_cached("SELECT seq FROM records WHERE key = ?1")
            .map_err(sql)?
            .query_row([key], |row| row.get(0))
            .optional()
            .map_err(sql)?;
        seq.map(seq_from_sql).transpose()
    }

    fn scan(
        &self,
        from_seq: u64,
        limit: usize,
        visit: &mut dyn FnMut(StoredRecord<'_>) -> Result<(), JournalError>,
    ) -> Result<(), JournalError> {
        let mut statement = self
            .conn
            .prepare_cached(
                "SELECT seq, prev_hash, hash, body FROM records WHERE seq >= ?1 ORDER BY seq LIMIT ?2",
            )
            .map_err(sql)?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let mut rows = statement
            .query(params![seq_to_sql(from_seq), limit])
            .map_err(sql)?;
        while let Some(row) = rows.next().map_err(sql)? {
            let seq = seq_from_sql(row.get(0).map_err(sql)?)?;
            let text = |index| -> Result<&str, JournalError> {
                row.get_ref(index)
                    .map_err(sql)?
                    .as_str()
                    .map_err(|e| corrupt(seq, e))
            };
            let stored = StoredRecord {
                seq,
                prev_hash: text(1)?,
                hash: text(2)?,
                canonical: row
                    .get_ref(3)
                    .map_err(sql)?
                    .as_blob()
                    .map_err(|e| corrupt(seq, e))?,
            };
            visit(stored)?;
        }
        Ok(())
    }

    fn keeps_snapshots(&self) -> bool {
        true
    }

    fn load_snapshot(&self) -> Result<Option<Snapshot>, JournalError> {
        self.conn
            .query_row(
                "SELECT seq, hash, version, digest, state FROM snapshots ORDER BY seq DESC LIMIT 1",
                [],
                |row| {
                    Ok((
                        row.get::<_, i64>(0)?,
                        row.get(1)?,
                        row.get(2)?,
                        row.get(3)?,
                        row.get(4)?,
                    ))
                },
            )
            .optional()
            .map_err(sql)?
            .map(|(seq, hash, version, digest, state)| {
                Ok(Snapshot {
                    seq: seq_from_sql(seq)?,
                    hash,
                    version,
                    digest,
                    state,
                })
            })
            .transpose()
    }

    fn save_snapshot(&mut self, snapshot: &Snapshot) -> Result<(), JournalError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sql)?;
        tx.execute("DELETE FROM snapshots", []).map_err(sql)?;
        tx.execute(
            "INSERT INTO snapshots (seq, hash, version, digest, state) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                seq_to_sql(snapshot.seq),
                snapshot.hash,
                snapshot.version,
                snapshot.digest,
                snapshot.state,
            ],
        )
        .map_err(sql)?;
        tx.commit().map_err(sql)
    }
}

/// Brings the file from its version up to `migrations.len()`, in one
/// transaction; refuses a file written by a newer schema.
fn migrate(conn: &mut Connection, migrations: &[&str]) -> Result<(), JournalError> {
    let supported = migrations.len() as u32;
    let found = user_version(conn)?;
    if found > supported {
        return Err(JournalError::UnsupportedSchema { found, supported });
    }
    if found == supported {
        return Ok(());
    }
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(sql)?;
    for step in &migrations[found as usize..] {
        tx.execute_batch(step).map_err(sql)?;
    }
    tx.pragma_update(None, "user_version", supported)
        .map_err(sql)?;
    tx.commit().map_err(sql)
}

fn user_version(conn: &Connection) -> Result<u32, JournalError> {
    let version: i64 = conn
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .map_err(sql)?;
    u32::try_from(version).map_err(|_| JournalError::UnsupportedSchema {
        found: u32::MAX,
        supported: SCHEMA_VERSION,
    })
}

/// Decodes a `seq, prev_hash, hash, body` row whose body matches its hash.
fn decode(row: &rusqlite::Row<'_>) -> Result<Record, JournalError> {
    let seq = seq_from_sql(row.get(0).map_err(sql)?)?;
    let bytes = row
        .get_ref(3)
        .map_err(sql)?
        .as_blob()
        .map_err(|e| corrupt(seq, e))?;
    let prev_hash: String = row.get(1).map_err(|e| corrupt(seq, e))?;
    let hash: String = row.get(2).map_err(|e| corrupt(seq, e))?;
    // Whatever is read back for use is checked against its own hash first, so
    // an edited record is refused rather than applied.
    if chain_hash(&prev_hash, bytes) != hash {
        return Err(JournalError::TamperDetected { seq });
    }
    let body: RecordBody = serde_json::from_slice(bytes).map_err(|e| corrupt(seq, e))?;
    if body.seq != seq {
        return Err(corrupt(seq, format!("the body says record {}", body.seq)));
    }
    Ok(Record {
        body,
        prev_hash,
        hash,
    })
}

fn seq_to_sql(seq: u64) -> i64 {
    i64::try_from(seq).unwrap_or(i64::MAX)
}

fn seq_from_sql(seq: i64) -> Result<u64, JournalError> {
    u64::try_from(seq).map_err(|_| JournalError::Corrupt {
        seq: 0,
        detail: format!("negative sequence number {seq}"),
    })
}

fn corrupt(seq: u64, error: impl std::fmt::Display) -> JournalError {
    JournalError::Corrupt {
        seq,
        detail: error.to_string(),
    }
}

/// Maps SQLite's errors: a held lock is [`JournalError::Locked`], a file that
/// is not a database or is damaged is corrupt, anything else is I/O.
fn sql(error: rusqlite::Error) -> JournalError {
    match error.sqlite_error_code() {
        Some(SqliteCode::DatabaseBusy | SqliteCode::DatabaseLocked) => JournalError::Locked,
        Some(SqliteCode::NotADatabase | SqliteCode::DatabaseCorrupt) => JournalError::Corrupt {
            seq: 0,
            detail: error.to_string(),
        },
        _ => JournalError::Io {
            detail: error.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp() -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let path = dir.path().join("journal.sqlite");
        (dir, path)
    }

    #[test]
    fn a_new_file_gets_the_schema_page_size_and_durability_settings() {
        let (_dir, path) = temp();
        let journal = SqliteJournal::open(&path).expect("opens");
        assert_eq!(journal.schema_version(), Ok(SCHEMA_VERSION));
        let page: i64 = journal
            .conn
            .pragma_query_value(None, "page_size", |row| row.get(0))
            .expect("reads");
        assert_eq!(page, PAGE_SIZE);
        let mode: String = journal
            .conn
            .pragma_query_value(None, "journal_mode", |row| row.get(0))
            .expect("reads");
        let synchronous: i64 = journal
            .conn
            .pragma_query_value(None, "synchronous", |row| row.get(0))
            .expect("reads");
        assert_eq!(
            (mode.as_str(), synchronous),
            ("wal", 2),
            "WAL with synchronous=FULL"
        );
        journal.integrity_check().expect("a fresh file is intact");
    }

    #[test]
    fn migrations_run_forward_from_the_files_version_and_keep_data() {
        let (_dir, path) = temp();
        let mut conn = Connection::open(&path).expect("opens");
        migrate(&mut conn, &MIGRATIONS[..1]).expect("version 1");
        conn.execute(
            "INSERT INTO records (seq, prev_hash, hash, key, body) VALUES (1, 'p', 'h', 'k', x'7b7d')",
            [],
        )
        .expect("a row");
        let next = [MIGRATIONS[0], "ALTER TABLE records ADD COLUMN note TEXT"];
        migrate(&mut conn, &next).expect("version 2");
        assert_eq!(user_version(&conn), Ok(2));
        let (key, note): (String, Option<String>) = conn
            .query_row("SELECT key, note FROM records WHERE seq = 1", [], |row| {
                Ok((row.get(0)?, row.get(1)?))
            })
            .expect("the row survived");
        assert_eq!((key.as_str(), note), ("k", None));
        // Running again changes nothing (the steps are not re-applied).
        migrate(&mut conn, &next).expect("already current");
    }

    #[test]
    fn a_file_from_a_newer_schema_is_refused() {
        let (_dir, path) = temp();
        drop(SqliteJournal::open(&path).expect("opens"));
        let conn = Connection::open(&path).expect("opens");
        conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
            .expect("set");
        drop(conn);
        let error = SqliteJournal::open(&path).expect_err("refused");
        assert_eq!(
            error,
            JournalError::UnsupportedSchema {
                found: SCHEMA_VERSION + 1,
                supported: SCHEMA_VERSION
            }
        );
    }

    #[test]
    fn a_second_open_of_the_same_file_is_locked_out_until_the_first_closes() {
        let (_dir, path) = temp();
        let first = SqliteJournal::open(&path).expect("opens");
        assert_eq!(
            SqliteJournal::open(&path).expect_err("held"),
            JournalError::Locked
        );
        drop(first);
        SqliteJournal::open(&path).expect("free again");
    }

    #[test]
    fn a_file_that_is_not_a_database_is_reported_not_overwritten() {
        let (_dir, path) = temp();
        let junk = vec![0x5a_u8; 8192];
        std::fs::write(&path, &junk).expect("write");
        let error = SqliteJournal::open(&path).expect_err("refused");
        assert_eq!(error.code(), crate::ErrorCode::JournalCorrupt, "{error}");
        assert_eq!(std::fs::read(&path).expect("read"), junk);
    }
}
