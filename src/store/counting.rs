//! Request counting for every backend at once: [`Counting`] wraps whatever store the
//! config opens and tallies each call by kind (GET, HEAD, PUT, DELETE, LIST) with the time
//! spent waiting for it, into one process-wide [`Tally`]. `-v` prints the tally as the
//! last line of every command (see [`Tally::line`]); the benchmarks and the cost tests
//! read that line, so what they count is what the store was asked, whatever the command.
//!
//! A listing counts as one LIST per page the backend had to fetch (S3 returns at most
//! 1,000 keys a page), which is what a provider bills.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use async_trait::async_trait;
use bytes::Bytes;

use super::{
    BucketSetup, Capabilities, ListEntry, Object, ObjectMeta, PutMode, PutOptions, Reader, Store,
    StoreResult, Version,
};

/// The kinds of request a store is billed for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Get,
    Head,
    Put,
    Delete,
    List,
}

impl Kind {
    pub const ALL: [Kind; 5] = [Kind::Get, Kind::Head, Kind::Put, Kind::Delete, Kind::List];

    pub fn name(self) -> &'static str {
        match self {
            Kind::Get => "GET",
            Kind::Head => "HEAD",
            Kind::Put => "PUT",
            Kind::Delete => "DELETE",
            Kind::List => "LIST",
        }
    }
}

/// Requests made so far, by kind, and the time spent in them (summed: concurrent requests
/// each count their own wait).
#[derive(Debug, Default)]
pub struct Tally {
    counts: [AtomicU64; 5],
    micros: AtomicU64,
}

/// A copy of the tally at one moment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub by_kind: [u64; 5],
    pub micros: u64,
}

impl Counts {
    pub fn get(&self, kind: Kind) -> u64 {
        self.by_kind[kind as usize]
    }

    pub fn total(&self) -> u64 {
        self.by_kind.iter().sum()
    }

    /// `requests: 3 GET · 0 HEAD · 2 PUT · 0 DELETE · 1 LIST (6 in 12.3 ms)`
    pub fn line(&self) -> String {
        let kinds: Vec<String> = Kind::ALL
            .iter()
            .map(|k| format!("{} {}", self.get(*k), k.name()))
            .collect();
        format!(
            "requests: {} ({} in {:.1} ms)",
            kinds.join(" · "),
            self.total(),
            self.micros as f64 / 1000.0
        )
    }
}

static PROCESS: Tally = Tally {
    counts: [const { AtomicU64::new(0) }; 5],
    micros: AtomicU64::new(0),
};

impl Tally {
    /// The tally every [`Counting`] store of this process adds to.
    pub fn process() -> &'static Tally {
        &PROCESS
    }

    pub fn add(&self, kind: Kind, n: u64, since: Instant) {
        self.counts[kind as usize].fetch_add(n, Ordering::Relaxed);
        let micros = since.elapsed().as_micros() as u64;
        self.micros.fetch_add(micros, Ordering::Relaxed);
    }

    pub fn snapshot(&self) -> Counts {
        let mut by_kind = [0; 5];
        for (i, c) in self.counts.iter().enumerate() {
            by_kind[i] = c.load(Ordering::Relaxed);
        }
        Counts {
            by_kind,
            micros: self.micros.load(Ordering::Relaxed),
        }
    }
}

/// A store that counts the requests made through it.
pub struct Counting {
    inner: Box<dyn Store>,
    tally: &'static Tally,
    /// Keys per listing page, where the backend pages (S3); `None`: one request per list.
    page: Option<usize>,
}

impl Counting {
    pub fn wrap(inner: Box<dyn Store>) -> Box<dyn Store> {
        let page = (inner.backend() == "s3").then_some(1000);
        Box::new(Counting {
            inner,
            tally: Tally::process(),
            page,
        })
    }

    fn count<T>(&self, kind: Kind, since: Instant, result: T) -> T {
        self.tally.add(kind, 1, since);
        result
    }
}

#[async_trait]
impl Store for Counting {
    fn backend(&self) -> &'static str {
        self.inner.backend()
    }

    fn location(&self) -> String {
        self.inner.location()
    }

    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }

    async fn ensure_bucket(&self) -> StoreResult<BucketSetup> {
        let t = Instant::now();
        let r = self.inner.ensure_bucket().await;
        self.count(Kind::Head, t, r)
    }

    async fn get(&self, key: &str) -> StoreResult<Object> {
        let t = Instant::now();
        let r = self.inner.get(key).await;
        self.count(Kind::Get, t, r)
    }

    async fn get_timed(&self, key: &str) -> StoreResult<Object> {
        let t = Instant::now();
        let r = self.inner.get_timed(key).await;
        self.count(Kind::Get, t, r)
    }

    async fn head(&self, key: &str) -> StoreResult<ObjectMeta> {
        let t = Instant::now();
        let r = self.inner.head(key).await;
        self.count(Kind::Head, t, r)
    }

    async fn get_if_changed(
        &self,
        key: &str,
        known: Option<&Version>,
    ) -> StoreResult<Option<Object>> {
        let t = Instant::now();
        let r = self.inner.get_if_changed(key, known).await;
        self.count(Kind::Get, t, r)
    }

    async fn list(&self, prefix: &str, start_after: Option<&str>) -> StoreResult<Vec<ListEntry>> {
        let t = Instant::now();
        let r = self.inner.list(prefix, start_after).await;
        let pages = match (&r, self.page) {
            (Ok(entries), Some(page)) => entries.len().div_ceil(page).max(1),
            _ => 1,
        };
        self.tally.add(Kind::List, pages as u64, t);
        r
    }

    async fn delete(&self, key: &str) -> StoreResult<()> {
        let t = Instant::now();
        let r = self.inner.delete(key).await;
        self.count(Kind::Delete, t, r)
    }

    async fn put(
        &self,
        key: &str,
        body: Bytes,
        mode: PutMode,
        opts: &PutOptions,
    ) -> StoreResult<Version> {
        let t = Instant::now();
        let r = self.inner.put(key, body, mode, opts).await;
        self.count(Kind::Put, t, r)
    }

    async fn put_stream(
        &self,
        key: &str,
        body: Reader,
        len: u64,
        mode: PutMode,
        opts: &PutOptions,
    ) -> StoreResult<Version> {
        let t = Instant::now();
        let r = self.inner.put_stream(key, body, len, mode, opts).await;
        self.count(Kind::Put, t, r)
    }

    async fn get_stream(&self, key: &str) -> StoreResult<(ObjectMeta, Reader)> {
        let t = Instant::now();
        let r = self.inner.get_stream(key).await;
        self.count(Kind::Get, t, r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_names_every_kind_and_the_total() {
        let c = Counts {
            by_kind: [3, 0, 2, 0, 1],
            micros: 12_340,
        };
        assert_eq!(
            c.line(),
            "requests: 3 GET · 0 HEAD · 2 PUT · 0 DELETE · 1 LIST (6 in 12.3 ms)"
        );
    }

    #[tokio::test]
    async fn every_call_is_counted_by_kind() {
        let dir = tempfile::tempdir().unwrap();
        let store = Counting {
            inner: Box::new(super::super::fs::FsStore::new(dir.path(), "b", "p")),
            tally: Box::leak(Box::default()),
            page: None,
        };
        store.ensure_bucket().await.unwrap();
        let opts = PutOptions::json();
        store
            .put("a", Bytes::from_static(b"{}"), PutMode::Create, &opts)
            .await
            .unwrap();
        store.get("a").await.unwrap();
        store.head("a").await.unwrap();
        store.list("", None).await.unwrap();
        store.delete("a").await.unwrap();
        assert!(store.get("a").await.is_err());
        let c = store.tally.snapshot();
        assert_eq!(c.by_kind, [2, 2, 1, 1, 1]);
    }
}
