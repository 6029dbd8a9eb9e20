//! Listing on S3: one key range paged through with continuation tokens, and a listing cut
//! into ranges at hinted keys so its pages are fetched concurrently. S3 pages one prefix
//! strictly in sequence (each page names the next), so a prefix of 20,000 keys is 20
//! round trips one after another; with split points from the previous listing (the
//! document cache keeps its page boundaries) every range starts with its own
//! `start-after` and the pages overlap in time.
//!
//! The hints never decide what is listed: the ranges `(lower, upper]` cover every key
//! whatever the bounds are (keys added since, bounds that no longer exist), because each
//! range pages on until it passes its upper bound or the prefix ends.

use futures::{StreamExt, TryStreamExt};

use super::errors::{Op, map_error};
use super::{S3Store, to_chrono};
use crate::keys;
use crate::store::{ListEntry, Listed, StoreResult, Version};

/// Ranges listed at once: enough to overlap the round trips, few enough that one listing
/// does not flood a small server.
const RANGES_IN_FLIGHT: usize = 8;

/// The keys under `prefix` strictly after `after` and up to `upto` (inclusive), in order,
/// with the number of pages it took.
pub(super) async fn range(
    store: &S3Store,
    prefix: &str,
    after: Option<&str>,
    upto: Option<&str>,
) -> StoreResult<(Vec<ListEntry>, u64)> {
    let full_prefix = keys::scoped(&store.project, prefix);
    let mut pages = store
        .client
        .list_objects_v2()
        .bucket(&store.bucket)
        .prefix(&full_prefix)
        .set_start_after(after.map(|s| keys::scoped(&store.project, s)))
        .into_paginator()
        .send();
    let (mut out, mut count) = (Vec::new(), 0);
    'pages: while let Some(page) = pages.next().await {
        let page = page.map_err(|e| map_error(e, &store.ctx(prefix, Op::List)))?;
        count += 1;
        for obj in page.contents() {
            let Some(rel) = obj.key().and_then(|k| keys::unscoped(&store.project, k)) else {
                continue;
            };
            if upto.is_some_and(|u| rel > u) {
                break 'pages;
            }
            out.push(ListEntry {
                key: rel.to_string(),
                size: obj.size().unwrap_or(0).max(0) as u64,
                last_modified: obj.last_modified().and_then(to_chrono),
                version: obj.e_tag().filter(|t| !t.is_empty()).map(Version::new),
            });
        }
    }
    Ok((out, count))
}

/// Every key under `prefix`, its ranges cut at the `splits` that lie under it.
pub(super) async fn split(store: &S3Store, prefix: &str, splits: &[String]) -> StoreResult<Listed> {
    let bounds = bounds(prefix, splits);
    let mut ranges: Vec<(Option<String>, Option<String>)> = Vec::with_capacity(bounds.len() + 1);
    let mut lower: Option<String> = None;
    for b in bounds {
        ranges.push((lower.take(), Some(b.to_string())));
        lower = Some(b.to_string());
    }
    ranges.push((lower, None));
    let parts: Vec<(Vec<ListEntry>, u64)> = futures::stream::iter(ranges)
        .map(|(after, upto)| async move {
            range(store, prefix, after.as_deref(), upto.as_deref()).await
        })
        .buffered(RANGES_IN_FLIGHT)
        .try_collect()
        .await?;
    let pages = parts.iter().map(|(_, n)| n).sum();
    let mut entries: Vec<ListEntry> = parts.into_iter().flat_map(|(e, _)| e).collect();
    // Ranges are disjoint and in order already; sorting protects against gateways that
    // do not sort.
    entries.sort_by(|a, b| a.key.cmp(&b.key));
    Ok(Listed {
        entries,
        pages: Some(pages),
    })
}

/// The usable split points: under the prefix, sorted, each once.
fn bounds<'a>(prefix: &str, splits: &'a [String]) -> Vec<&'a str> {
    let mut b: Vec<&str> = splits
        .iter()
        .map(String::as_str)
        .filter(|s| s.starts_with(prefix) && s.len() > prefix.len())
        .collect();
    b.sort_unstable();
    b.dedup();
    b
}

#[cfg(test)]
mod tests {
    use super::bounds;

    #[test]
    fn split_points_outside_the_prefix_or_repeated_are_dropped_and_the_rest_sorted() {
        let splits: Vec<String> = [
            "steps/b", "memory/x", "steps/a", "steps/b", "steps/", "steps",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        assert_eq!(bounds("steps/", &splits), ["steps/a", "steps/b"]);
        assert!(bounds("steps/", &[]).is_empty());
    }
}
