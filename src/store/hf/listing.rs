//! Turning the Hub's bucket tree into the storage contract's listing: the directory to
//! ask for, the filter to the project's keys after `start_after`, and each entry's time
//! and version.

use chrono::{DateTime, Utc};

use super::TreeFile;
use crate::keys;
use crate::store::{ListEntry, Version};

/// The directory whose recursive listing holds every object starting with `full_prefix`.
/// hf-hub sends the listing prefix as path segments (dropping a trailing `/`) and the Hub
/// matches it as a raw string, so the result is a superset that the caller filters.
pub(super) fn listing_dir(full_prefix: &str) -> &str {
    full_prefix
        .rfind('/')
        .map_or("", |slash| &full_prefix[..slash])
}

/// The listing contract: project-relative keys that start with `prefix`, strictly after
/// `start_after`, sorted, each once.
pub(super) fn filter_listing(
    project: &str,
    prefix: &str,
    start_after: Option<&str>,
    files: Vec<TreeFile>,
) -> Vec<ListEntry> {
    let mut entries: Vec<ListEntry> = files
        .into_iter()
        .filter_map(|(path, size, last_modified, version)| {
            let key = keys::unscoped(project, &path)?;
            let wanted = key.starts_with(prefix) && start_after.is_none_or(|after| key > after);
            wanted.then(|| ListEntry {
                key: key.to_string(),
                size,
                last_modified,
                version,
            })
        })
        .collect();
    entries.sort_by(|a, b| a.key.cmp(&b.key));
    entries.dedup_by(|a, b| a.key == b.key);
    entries
}

pub(super) fn entry_time(uploaded_at: Option<&str>, mtime: Option<&str>) -> Option<DateTime<Utc>> {
    let parse = |s: &str| {
        DateTime::parse_from_rfc3339(s)
            .ok()
            .map(|t| t.with_timezone(&Utc))
    };
    uploaded_at
        .and_then(parse)
        .or_else(|| mtime.and_then(parse))
}

/// The Xet hash names the content. Files written without Xet (none should be, in a
/// bucket) get size and time instead, which still change on a rewrite.
pub(super) fn entry_version(xet_hash: &str, size: u64, mtime: Option<&str>) -> Version {
    if xet_hash.is_empty() {
        Version::new(format!("size-{size}-mtime-{}", mtime.unwrap_or("")))
    } else {
        Version::new(xet_hash)
    }
}
