//! The local document cache of whole-project reads (`status`, `agents`, the claim scan of
//! `heartbeat`; `ready`, `plan` and `claim --next` adopt it the same way): a listing is
//! always taken fresh from the store, and every listed document whose listing version
//! ([`ListEntry::version`]) matches the one cached is taken from disk instead of fetched.
//! A repeated call therefore fetches only what changed since the last one.
//!
//! The cache is an optimisation only, never a source of truth:
//! - a body is cached under the listing version its own read reported
//!   ([`ObjectMeta::list_version`]), never under the version an earlier listing showed, so
//!   a document that changed between listing and read cannot be cached as the old one;
//! - each file is written whole to a temp file and renamed into place, so concurrent
//!   writers (two processes) leave one complete file or the other, never a mix;
//! - each file carries a checksum of its content and every cached body must be JSON; a
//!   file that fails either check, is missing or unreadable counts as empty, and the store
//!   answers instead;
//! - backends whose reads cannot vouch for the bytes read (`list_version: None`) are simply
//!   not cached.
//!
//! Layout: `$XDG_CACHE_HOME/tracecraft/docs/<store id>/<area>.json` (`~/.cache` without
//! `XDG_CACHE_HOME`), where the store id hashes backend, location and project, and an area
//! is one listing prefix (`steps`, `agents`). Deleting the directory at any time is safe.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::app::FETCH_CONCURRENCY;
use crate::store::{ListEntry, Object, ObjectMeta, Store, StoreError, StoreResult, Version};

const MAGIC: &str = "tracecraft-doc-cache 1";

/// One cached document. The body is kept as `Bytes` (shared, never copied, with the
/// objects handed out) and stored as a JSON string.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Entry {
    /// The listing version the body was read at.
    listed: String,
    /// The store's own version of the body (for compare-and-swap).
    version: String,
    last_modified: Option<DateTime<Utc>>,
    #[serde(with = "body_text")]
    body: Bytes,
}

/// A body as a JSON string on disk (bodies are JSON documents, so UTF-8).
mod body_text {
    use bytes::Bytes;
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub fn serialize<S: Serializer>(body: &Bytes, s: S) -> Result<S::Ok, S::Error> {
        match std::str::from_utf8(body) {
            Ok(text) => s.serialize_str(text),
            Err(_) => Err(serde::ser::Error::custom("cached bodies are UTF-8")),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Bytes, D::Error> {
        let text = String::deserialize(d).map_err(D::Error::custom)?;
        Ok(Bytes::from(text))
    }
}

fn is_json(body: &[u8]) -> bool {
    serde_json::from_slice::<serde::de::IgnoredAny>(body).is_ok()
}

/// The cached documents of one area of one project, loaded for one command.
pub struct DocCache {
    file: Option<PathBuf>,
    entries: HashMap<String, Entry>,
    dirty: bool,
    /// Documents this command took from the cache and fetched: for `-v` and tests.
    pub hits: usize,
    pub fetched: usize,
}

/// The directory all caches live under.
pub fn root() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| Some(crate::config::home_dir().join(".cache")))?;
    Some(base.join("tracecraft").join("docs"))
}

/// The cache file of `area` for one store and project.
fn file_for(store: &dyn Store, project: &str, area: &str) -> Option<PathBuf> {
    let id = Sha256::digest(format!(
        "{}\n{}\n{project}",
        store.backend(),
        store.location()
    ));
    Some(
        root()?
            .join(hex::encode(&id[..12]))
            .join(format!("{area}.json")),
    )
}

impl DocCache {
    /// Loads the cache of `area`; anything wrong with it yields an empty cache.
    pub fn open(store: &dyn Store, project: &str, area: &str) -> DocCache {
        let file = file_for(store, project, area);
        let entries = file.as_deref().and_then(load).unwrap_or_default();
        DocCache {
            file,
            entries,
            dirty: false,
            hits: 0,
            fetched: 0,
        }
    }

    /// A cache that keeps nothing (for callers that must not touch the disk).
    pub fn disabled() -> DocCache {
        DocCache {
            file: None,
            entries: HashMap::new(),
            dirty: false,
            hits: 0,
            fetched: 0,
        }
    }

    /// Reads the documents of a fresh `listing` that `wanted` selects: from the cache where
    /// the listing version matches, else from the store, [`FETCH_CONCURRENCY`] at a time.
    /// Documents deleted since the listing are left out. Cached documents of keys no longer
    /// listed are forgotten. Returns the objects in listing order; those from the cache
    /// have no `server_time` (the store was not asked).
    pub async fn read_listed(
        &mut self,
        store: &dyn Store,
        listing: &[ListEntry],
        wanted: impl Fn(&str) -> bool,
    ) -> StoreResult<Vec<Object>> {
        let before = self.entries.len();
        let listed: std::collections::HashSet<&str> =
            listing.iter().map(|e| e.key.as_str()).collect();
        self.entries.retain(|k, _| listed.contains(k.as_str()));
        self.dirty |= self.entries.len() != before;

        let mut slots: Vec<Option<Object>> = Vec::new();
        let mut misses = Vec::new();
        for e in listing.iter().filter(|e| wanted(&e.key)) {
            match self.lookup(e) {
                Some(obj) => slots.push(Some(obj)),
                None => {
                    misses.push((slots.len(), e.key.clone()));
                    slots.push(None);
                }
            }
        }
        self.hits += slots.len() - misses.len();
        let fetched: Vec<(usize, StoreResult<Object>)> = futures::stream::iter(misses)
            .map(|(slot, key)| async move { (slot, store.get_timed(&key).await) })
            .buffered(FETCH_CONCURRENCY)
            .collect()
            .await;
        for (slot, obj) in fetched {
            match obj {
                Ok(obj) => {
                    self.fetched += 1;
                    self.remember(&obj);
                    slots[slot] = Some(obj);
                }
                Err(StoreError::NotFound { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(slots.into_iter().flatten().collect())
    }

    fn lookup(&self, listed: &ListEntry) -> Option<Object> {
        let version = listed.version.as_ref()?;
        let entry = self.entries.get(&listed.key)?;
        if entry.listed != version.as_str() {
            return None;
        }
        Some(Object {
            meta: ObjectMeta {
                key: listed.key.clone(),
                size: entry.body.len() as u64,
                last_modified: listed.last_modified.or(entry.last_modified),
                version: Version::new(entry.version.clone()),
                metadata: Default::default(),
                server_time: None,
                list_version: Some(version.clone()),
            },
            body: entry.body.clone(),
        })
    }

    fn remember(&mut self, obj: &Object) {
        let Some(listed) = &obj.meta.list_version else {
            return;
        };
        if std::str::from_utf8(&obj.body).is_err() || !is_json(&obj.body) {
            return;
        }
        self.entries.insert(
            obj.meta.key.clone(),
            Entry {
                listed: listed.as_str().to_string(),
                version: obj.meta.version.as_str().to_string(),
                last_modified: obj.meta.last_modified,
                body: obj.body.clone(),
            },
        );
        self.dirty = true;
    }

    /// Writes the cache back if this command changed it. Failures only cost the next call
    /// some reads; they are returned for `-v` to show.
    pub fn save(&mut self) -> std::io::Result<()> {
        let Some(file) = &self.file else {
            return Ok(());
        };
        if !self.dirty {
            return Ok(());
        }
        store_file(file, &self.entries)?;
        self.dirty = false;
        Ok(())
    }
}

fn load(file: &Path) -> Option<HashMap<String, Entry>> {
    let raw = std::fs::read(file).ok()?;
    let newline = raw.iter().position(|b| *b == b'\n')?;
    let header = std::str::from_utf8(&raw[..newline]).ok()?;
    let content = &raw[newline + 1..];
    let sum = header.strip_prefix(MAGIC)?.strip_prefix(' ')?;
    if hex::encode(Sha256::digest(content)) != sum {
        return None;
    }
    let entries: HashMap<String, Entry> = serde_json::from_slice(content).ok()?;
    // A body that is not JSON was not written by us: distrust the whole file.
    entries
        .values()
        .all(|e| is_json(&e.body))
        .then_some(entries)
}

fn store_file(file: &Path, entries: &HashMap<String, Entry>) -> std::io::Result<()> {
    let dir = file.parent().expect("cache files live in a directory");
    std::fs::create_dir_all(dir)?;
    let content = serde_json::to_vec(entries).map_err(std::io::Error::other)?;
    let header = format!("{MAGIC} {}\n", hex::encode(Sha256::digest(&content)));
    let tmp = dir.join(format!(".{}.tmp", uuid::Uuid::new_v4().simple()));
    let write = || -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(header.as_bytes())?;
        f.write_all(&content)?;
        std::fs::rename(&tmp, file)
    };
    let written = write();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

#[cfg(test)]
#[path = "cache/tests.rs"]
mod tests;
