//! The cache's robustness: whatever happens to its files, reads through it return what the
//! store holds now.

use super::*;
use crate::store::fs::FsStore;
use crate::store::{PutMode, PutOptions};

struct Fixture {
    _dir: tempfile::TempDir,
    store: FsStore,
    cache_file: PathBuf,
}

/// A bucket with `n` documents `docs/dNN.json`, and a cache directory of its own.
async fn fixture(n: usize) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let store = FsStore::new(dir.path().join("root"), "b", "p");
    store.ensure_bucket().await.unwrap();
    for i in 0..n {
        put(
            &store,
            &format!("docs/d{i:02}.json"),
            &format!("{{\"n\":{i}}}"),
        )
        .await;
    }
    let cache_file = dir.path().join("cache").join("docs.json");
    Fixture {
        _dir: dir,
        store,
        cache_file,
    }
}

async fn put(store: &FsStore, key: &str, body: &str) {
    store
        .put(
            key,
            Bytes::from(body.to_string()),
            PutMode::Overwrite,
            &PutOptions::json(),
        )
        .await
        .unwrap();
}

impl Fixture {
    fn cache(&self) -> DocCache {
        DocCache {
            file: Some(self.cache_file.clone()),
            entries: load(&self.cache_file).unwrap_or_default(),
            dirty: false,
            hits: 0,
            fetched: 0,
        }
    }

    /// Lists `docs/`, reads every document through a freshly loaded cache, saves it, and
    /// returns the bodies with the cache's hit and fetch counts.
    async fn read(&self) -> (Vec<String>, usize, usize) {
        let mut cache = self.cache();
        let listing = self.store.list("docs/", None).await.unwrap();
        let objs = cache
            .read_listed(&self.store, &listing, |_| true)
            .await
            .unwrap();
        cache.save().unwrap();
        let bodies = objs
            .iter()
            .map(|o| String::from_utf8(o.body.to_vec()).unwrap())
            .collect();
        (bodies, cache.hits, cache.fetched)
    }
}

fn expected(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{{\"n\":{i}}}")).collect()
}

#[tokio::test]
async fn a_second_read_takes_unchanged_documents_from_the_cache() {
    let f = fixture(5).await;
    assert_eq!(f.read().await, (expected(5), 0, 5));
    assert_eq!(f.read().await, (expected(5), 5, 0));
    put(&f.store, "docs/d03.json", "{\"n\":33}").await;
    let (bodies, hits, fetched) = f.read().await;
    assert_eq!(bodies[3], "{\"n\":33}");
    assert_eq!((hits, fetched), (4, 1));
}

#[tokio::test]
async fn deleted_documents_are_neither_returned_nor_kept() {
    let f = fixture(3).await;
    f.read().await;
    f.store.delete("docs/d01.json").await.unwrap();
    let (bodies, hits, _) = f.read().await;
    assert_eq!(bodies, vec!["{\"n\":0}", "{\"n\":2}"]);
    assert_eq!(hits, 2);
    assert!(!f.cache().entries.contains_key("docs/d01.json"));
}

#[tokio::test]
async fn a_missing_cache_file_means_reading_from_the_store() {
    let f = fixture(3).await;
    f.read().await;
    std::fs::remove_file(&f.cache_file).unwrap();
    assert_eq!(f.read().await, (expected(3), 0, 3));
    std::fs::remove_dir_all(f.cache_file.parent().unwrap()).unwrap();
    assert_eq!(f.read().await, (expected(3), 0, 3));
}

#[tokio::test]
async fn a_corrupt_cache_file_is_ignored_and_replaced() {
    let f = fixture(3).await;
    f.read().await;
    let good = std::fs::read(&f.cache_file).unwrap();
    // A changed body (the checksum no longer matches), a truncated file, garbage, an
    // empty file: each reads as no cache at all.
    let tampered = String::from_utf8(good.clone())
        .unwrap()
        .replace("{\\\"n\\\":1}", "{\\\"n\\\":9}");
    assert_ne!(tampered.as_bytes(), good.as_slice());
    for bad in [
        tampered.into_bytes(),
        good[..good.len() / 2].to_vec(),
        b"\x00\xffnot a cache".to_vec(),
        Vec::new(),
    ] {
        std::fs::write(&f.cache_file, &bad).unwrap();
        assert_eq!(f.read().await, (expected(3), 0, 3));
        // The read rewrote a good cache.
        assert_eq!(f.read().await, (expected(3), 3, 0));
    }
}

#[tokio::test]
async fn a_checksummed_file_with_a_wrong_body_for_its_version_is_not_trusted_blindly() {
    // A cache that passes its checksum but holds a non-JSON body was not written by us.
    let f = fixture(2).await;
    f.read().await;
    let mut entries = load(&f.cache_file).unwrap();
    entries.get_mut("docs/d00.json").unwrap().body = Bytes::from_static(b"not json");
    store_file(&f.cache_file, &entries).unwrap();
    assert_eq!(f.read().await, (expected(2), 0, 2));
}

#[tokio::test]
async fn concurrent_writers_leave_a_whole_file_that_reads_true() {
    let f = fixture(20).await;
    // Many caches loaded from nothing, each filled and saved at once from threads: every
    // save is a whole file, so whichever lands last is a valid cache.
    let listing = f.store.list("docs/", None).await.unwrap();
    let mut filled = Vec::new();
    for _ in 0..8 {
        let mut c = f.cache();
        c.read_listed(&f.store, &listing, |_| true).await.unwrap();
        filled.push(c);
    }
    std::thread::scope(|s| {
        for mut c in filled {
            s.spawn(move || {
                for _ in 0..20 {
                    c.dirty = true;
                    c.save().unwrap();
                }
            });
        }
    });
    assert!(load(&f.cache_file).is_some(), "the file is whole");
    assert_eq!(f.read().await, (expected(20), 20, 0));
    let leftovers: Vec<_> = std::fs::read_dir(f.cache_file.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers.len(), 1, "no temp files left: {leftovers:?}");
}

#[tokio::test]
async fn a_body_is_cached_under_the_version_its_own_read_reported() {
    // The listing is taken, then the document changes before it is read: the body read
    // is the new one, and it must not be cached under the old listing version.
    let f = fixture(1).await;
    let stale_listing = f.store.list("docs/", None).await.unwrap();
    put(&f.store, "docs/d00.json", "{\"n\":7}").await;
    let mut c = f.cache();
    let objs = c
        .read_listed(&f.store, &stale_listing, |_| true)
        .await
        .unwrap();
    assert_eq!(&objs[0].body[..], b"{\"n\":7}");
    // Were it cached under the stale version, this lookup would hit.
    assert!(c.lookup(&stale_listing[0]).is_none());
    let fresh = f.store.list("docs/", None).await.unwrap();
    assert_eq!(&c.lookup(&fresh[0]).unwrap().body[..], b"{\"n\":7}");
}
