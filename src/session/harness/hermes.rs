//! Hermes: one SQLite database, `$HERMES_HOME/state.db` (default `~/.hermes/state.db`),
//! with `sessions(id, started_at, ...)` and `messages(id, session_id, role, content, ...)`.
//! The cursor is the highest `messages.id` mirrored; each new row becomes one JSON line
//! holding every column the table has. A text or blob value that starts with the byte
//! `\x00` followed by `json:` holds JSON and is decoded. The active session is the one
//! owning the highest message id. The database is opened read-only with a busy timeout.

use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags};
use serde_json::{Map, Value};

use super::{Harness, Position, SessionRef, env_dir};
use crate::session::sanitize_id;

pub struct Hermes;

const JSON_MARK: &[u8] = b"\x00json:";

fn db_path() -> PathBuf {
    env_dir("HERMES_HOME")
        .unwrap_or_else(|| crate::config::home_dir().join(".hermes"))
        .join("state.db")
}

fn sql_err(e: rusqlite::Error) -> io::Error {
    io::Error::other(format!("hermes database: {e}"))
}

/// `None` when there is no database.
fn open(path: &Path) -> io::Result<Option<Connection>> {
    if !path.is_file() {
        return Ok(None);
    }
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(sql_err)?;
    conn.busy_timeout(Duration::from_secs(5)).map_err(sql_err)?;
    Ok(Some(conn))
}

fn session_ref(path: &Path, native: String) -> SessionRef {
    SessionRef {
        id: sanitize_id(&native),
        native_id: native,
        path: path.to_path_buf(),
        cwd: None,
    }
}

fn decode(bytes: &[u8]) -> Value {
    if let Some(rest) = bytes.strip_prefix(JSON_MARK)
        && let Ok(v) = serde_json::from_slice(rest)
    {
        return v;
    }
    Value::String(String::from_utf8_lossy(bytes).into_owned())
}

fn value(v: ValueRef) -> Value {
    match v {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => Value::from(i),
        ValueRef::Real(f) => serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number),
        ValueRef::Text(t) | ValueRef::Blob(t) => decode(t),
    }
}

impl Harness for Hermes {
    fn name(&self) -> &'static str {
        "hermes"
    }

    fn discover(&self, _cwd: &Path) -> io::Result<Vec<SessionRef>> {
        let path = db_path();
        let Some(conn) = open(&path)? else {
            return Ok(Vec::new());
        };
        let has_sessions: bool = conn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'sessions'",
                [],
                |r| r.get::<_, i64>(0),
            )
            .map_err(sql_err)?
            > 0;
        let sql = if has_sessions {
            "SELECT CAST(id AS TEXT) FROM sessions \
             UNION SELECT DISTINCT CAST(session_id AS TEXT) FROM messages"
        } else {
            "SELECT DISTINCT CAST(session_id AS TEXT) FROM messages"
        };
        let mut stmt = conn.prepare(sql).map_err(sql_err)?;
        let ids = stmt
            .query_map([], |r| r.get::<_, Option<String>>(0))
            .map_err(sql_err)?;
        let mut out = Vec::new();
        for id in ids {
            if let Some(id) = id.map_err(sql_err)? {
                out.push(session_ref(&path, id));
            }
        }
        Ok(out)
    }

    fn active(&self, _cwd: &Path) -> io::Result<Option<SessionRef>> {
        let path = db_path();
        let Some(conn) = open(&path)? else {
            return Ok(None);
        };
        let id: Option<String> = conn
            .query_row(
                "SELECT CAST(session_id AS TEXT) FROM messages ORDER BY id DESC LIMIT 1",
                [],
                |r| r.get(0),
            )
            .or_else(|e| match e {
                rusqlite::Error::QueryReturnedNoRows => Ok(None),
                e => Err(e),
            })
            .map_err(sql_err)?;
        Ok(id.map(|id| session_ref(&path, id)))
    }

    fn position(&self, session: &SessionRef) -> io::Result<Position> {
        let conn = open(&session.path)?.ok_or_else(|| {
            io::Error::new(io::ErrorKind::NotFound, "the hermes database is gone")
        })?;
        let end: i64 = conn
            .query_row(
                "SELECT COALESCE(MAX(id), 0) FROM messages WHERE CAST(session_id AS TEXT) = ?1",
                [&session.native_id],
                |r| r.get(0),
            )
            .map_err(sql_err)?;
        let file = std::fs::metadata(&session.path)?;
        Ok(Position {
            end: end.max(0) as u64,
            identity: super::identity(&file),
        })
    }

    fn read(&self, session: &SessionRef, cursor: u64, limit: usize) -> io::Result<(Vec<u8>, u64)> {
        let conn = open(&session.path)?.ok_or_else(|| {
            io::Error::new(io::ErrorKind::NotFound, "the hermes database is gone")
        })?;
        let mut stmt = conn
            .prepare(
                "SELECT * FROM messages WHERE CAST(session_id AS TEXT) = ?1 AND id > ?2 \
                 ORDER BY id",
            )
            .map_err(sql_err)?;
        let names: Vec<String> = stmt.column_names().iter().map(|s| s.to_string()).collect();
        let id_col = names.iter().position(|n| n == "id");
        let mut rows = stmt
            .query(rusqlite::params![session.native_id, cursor as i64])
            .map_err(sql_err)?;
        let mut out = Vec::new();
        let mut end = cursor;
        while let Some(row) = rows.next().map_err(sql_err)? {
            let mut obj = Map::new();
            for (i, name) in names.iter().enumerate() {
                obj.insert(name.clone(), value(row.get_ref(i).map_err(sql_err)?));
            }
            if let Some(i) = id_col
                && let ValueRef::Integer(id) = row.get_ref(i).map_err(sql_err)?
            {
                end = end.max(id.max(0) as u64);
            }
            serde_json::to_writer(&mut out, &obj).map_err(io::Error::other)?;
            out.push(b'\n');
            if out.len() >= limit {
                break;
            }
        }
        Ok((out, end))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_marked_values_are_decoded() {
        assert_eq!(decode(b"\x00json:{\"a\":1}"), serde_json::json!({"a": 1}));
        assert_eq!(decode(b"plain"), Value::String("plain".into()));
        assert_eq!(
            decode(b"\x00json:{bad"),
            Value::String("\u{0}json:{bad".into())
        );
    }
}
