//! The read cursor of `inbox --new` (contract section 3): `messages/<me>/_cursor.json`,
//! one part per stream: a `watermark` (a project-relative key prefix; every key at or
//! below it counts as read, and listings start after it) and `seen` (the message keys
//! above the watermark already shown). Message keys carry the sender's clock, so a message
//! can land after a newer one was read; the watermark therefore trails the newest key read
//! by [`HORIZON_NS`] and the seen-set catches everything above it, so a late message is
//! still shown exactly once. The cursor is updated with a compare-and-swap, merging with
//! whatever another reader with the same agent id saved meanwhile.

use std::collections::BTreeSet;

use anyhow::Context;

use crate::app::{self, App};
use crate::docs::{Cursor, CursorPart};
use crate::keys;
use crate::store::{PutMode, StoreError, Version};
use crate::time;

/// How far the watermark trails the newest key read: a message whose key is up to this
/// much older than the newest one read is still shown when it lands late.
const HORIZON_NS: i64 = 3_600 * 1_000_000_000;
/// The most keys one stream's seen-set keeps; past it the watermark moves up to the
/// newest key dropped, so the cursor stays small.
const SEEN_CAP: usize = 2_000;
/// Compare-and-swap rounds before giving up on saving the cursor: each round lets at
/// least one concurrent reader through.
const CURSOR_ATTEMPTS: usize = 16;

/// The stored cursor and the version it was read at (`None`: there is none).
#[derive(Clone, Debug)]
pub struct Stored {
    pub cursor: Cursor,
    pub version: Option<Version>,
}

/// The watermark of a cursor part, when it lies in this stream (a foreign one could hide
/// every message, so it is ignored: messages are shown again rather than lost).
pub fn watermark<'a>(part: &'a CursorPart, prefix: &str) -> Option<&'a str> {
    part.watermark.as_deref().filter(|w| w.starts_with(prefix))
}

/// Reads the cursor. A corrupt one is replaced (with a warning): messages are shown again
/// rather than `inbox --new` failing until someone repairs it.
pub async fn load_cursor(app: &App, key: &str, warn: bool) -> anyhow::Result<Stored> {
    match app.store.get(key).await {
        Ok(obj) => {
            let cursor = app::decode::<Cursor>(key, &obj.body).unwrap_or_else(|e| {
                if warn {
                    app.printer.warn(format!(
                        "{e}; starting a new read cursor, older messages may be shown again"
                    ));
                }
                Cursor::default()
            });
            Ok(Stored {
                cursor,
                version: Some(obj.meta.version),
            })
        }
        Err(StoreError::NotFound { .. }) => Ok(Stored {
            cursor: Cursor::default(),
            version: None,
        }),
        Err(e) => Err(e).with_context(|| format!("could not read the read cursor '{key}'")),
    }
}

/// Advances the cursor over everything listed, with a compare-and-swap: on a conflict
/// the cursor is read again and this read's progress merged into it (union of seen, the
/// higher watermark), so concurrent readers with one agent id never lose each other's
/// progress. Backends without compare-and-swap get a fresh read and an overwrite.
/// Returns the cursor saved, to continue from.
pub async fn save_cursor(
    app: &App,
    key: &str,
    start: Stored,
    streams: &[(&str, Vec<String>); 2],
) -> anyhow::Result<Stored> {
    save(app, key, start, streams, true).await
}

/// [`save_cursor`] for a reader that showed only some of the new messages (the newest few,
/// as `prime` and the hooks do): the keys given are marked seen, and the watermark does not
/// trail behind the newest key, so the messages not shown stay new.
pub async fn save_seen_only(
    app: &App,
    key: &str,
    start: Stored,
    streams: &[(&str, Vec<String>); 2],
) -> anyhow::Result<Stored> {
    save(app, key, start, streams, false).await
}

async fn save(
    app: &App,
    key: &str,
    start: Stored,
    streams: &[(&str, Vec<String>); 2],
    trail: bool,
) -> anyhow::Result<Stored> {
    let caps = app.store.capabilities();
    let ours = [start.cursor.direct.clone(), start.cursor.broadcast.clone()];
    let mut current = if caps.compare_and_swap {
        start
    } else {
        load_cursor(app, key, false).await?
    };
    let mut attempt = 1;
    loop {
        // A clock of 0 never moves the watermark to trail the newest key.
        let now_ns = if trail {
            time::now().timestamp_nanos_opt().unwrap_or(i64::MAX)
        } else {
            0
        };
        let mut next = current.cursor.clone();
        next.direct = advance(&next.direct, &ours[0], &streams[0].1, streams[0].0, now_ns);
        next.broadcast = advance(
            &next.broadcast,
            &ours[1],
            &streams[1].1,
            streams[1].0,
            now_ns,
        );
        next.updated_at = Some(time::now_iso());
        let mode = match current.version {
            Some(v) if caps.compare_and_swap => PutMode::UpdateIfVersion(v),
            None if caps.atomic_create => PutMode::Create,
            _ => PutMode::Overwrite,
        };
        match app.write(key, &next, mode).await {
            Ok(version) => {
                return Ok(Stored {
                    cursor: next,
                    version: Some(version),
                });
            }
            Err(e) if e.is_conflict() && attempt < CURSOR_ATTEMPTS => {
                app.printer
                    .debug(format!("read cursor changed meanwhile ({e}); merging"));
                attempt += 1;
                current = load_cursor(app, key, false).await?;
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// One stream's next cursor: `stored` (what is saved now) merged with `ours` (what this
/// read started from) and advanced over the keys `listed`. The watermark never goes back;
/// it trails the newest key listed (taken no later than the reader's clock, so one sender
/// with a fast clock cannot push it past messages still to come) by [`HORIZON_NS`].
/// `seen` keeps the known keys above it, at most [`SEEN_CAP`].
fn advance(
    stored: &CursorPart,
    ours: &CursorPart,
    listed: &[String],
    prefix: &str,
    now_ns: i64,
) -> CursorPart {
    let mut mark: Option<String> = [watermark(stored, prefix), watermark(ours, prefix)]
        .into_iter()
        .flatten()
        .max()
        .map(str::to_string);
    let newest = listed
        .iter()
        .filter_map(|k| keys::parse_message(k)?.ts_ns.parse::<i64>().ok())
        .max();
    if let Some(newest) = newest {
        let horizon = newest.min(now_ns).saturating_sub(HORIZON_NS);
        if horizon > 0 {
            let trailing = format!("{prefix}{horizon:019}");
            if mark.as_ref().is_none_or(|m| trailing > *m) {
                mark = Some(trailing);
            }
        }
    }
    let known: BTreeSet<&str> = stored
        .seen
        .iter()
        .chain(&ours.seen)
        .chain(listed)
        .map(String::as_str)
        .filter(|k| k.starts_with(prefix))
        .filter(|k| mark.as_deref().is_none_or(|m| *k > m))
        .collect();
    let mut seen: Vec<String> = known.into_iter().map(str::to_string).collect();
    if seen.len() > SEEN_CAP {
        let cut = seen.len() - SEEN_CAP;
        mark = Some(seen[cut - 1].clone());
        seen.drain(..cut);
    }
    CursorPart {
        watermark: mark,
        seen,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: &str = "messages/bob/";
    const MINUTE: i64 = 60 * 1_000_000_000;
    const NOW: i64 = 1_795_256_922_017_355_000;

    fn key(ts: i64, n: u32) -> String {
        keys::message("bob", &format!("{ts:019}"), "alice", &format!("{n:08x}"))
    }

    #[test]
    fn watermark_trails_the_newest_key_and_seen_holds_what_is_above_it() {
        let old = key(NOW - 90 * MINUTE, 1);
        let recent = key(NOW - 10 * MINUTE, 2);
        let newest = key(NOW, 3);
        let listed = vec![old.clone(), recent.clone(), newest.clone()];
        let part = advance(
            &CursorPart::default(),
            &CursorPart::default(),
            &listed,
            P,
            NOW,
        );
        assert_eq!(part.watermark, Some(format!("{P}{:019}", NOW - HORIZON_NS)));
        assert_eq!(part.seen, [recent, newest]);
    }

    #[test]
    fn the_watermark_never_goes_back_and_merges_keep_both_sides() {
        let a = key(NOW - MINUTE, 1);
        let b = key(NOW - 2 * MINUTE, 2);
        let high = format!("{P}{:019}", NOW - 30 * MINUTE);
        let stored = CursorPart {
            watermark: Some(high.clone()),
            seen: vec![a.clone()],
        };
        let ours = CursorPart {
            watermark: None,
            seen: vec![],
        };
        let part = advance(&stored, &ours, std::slice::from_ref(&b), P, NOW);
        assert_eq!(part.watermark, Some(high));
        assert_eq!(part.seen, [b, a]);
    }

    #[test]
    fn a_fast_sender_clock_cannot_push_the_watermark_past_now() {
        let future = key(NOW + 10 * HORIZON_NS, 1);
        let part = advance(
            &CursorPart::default(),
            &CursorPart::default(),
            std::slice::from_ref(&future),
            P,
            NOW,
        );
        assert_eq!(part.watermark, Some(format!("{P}{:019}", NOW - HORIZON_NS)));
        assert_eq!(part.seen, [future]);
    }

    #[test]
    fn seen_is_capped_by_moving_the_watermark() {
        let listed: Vec<String> = (0..SEEN_CAP as u32 + 5)
            .map(|n| key(NOW - 1_000 + n as i64, n))
            .collect();
        let part = advance(
            &CursorPart::default(),
            &CursorPart::default(),
            &listed,
            P,
            NOW,
        );
        assert_eq!(part.seen.len(), SEEN_CAP);
        assert_eq!(part.watermark.as_deref(), Some(listed[4].as_str()));
        assert_eq!(part.seen[0], listed[5]);
    }

    /// An App on a fresh fs bucket, as agent `bob`.
    async fn fs_app(dir: &std::path::Path) -> App {
        let config: crate::config::Config = serde_json::from_value(serde_json::json!({
            "backend": "fs", "bucket": "b", "project": "demo", "agent_id": "bob",
            "root": dir.to_str().unwrap(),
        }))
        .unwrap();
        let store = config.open_store().await.unwrap();
        store.ensure_bucket().await.unwrap();
        App {
            config,
            store,
            printer: Default::default(),
        }
    }

    async fn seen(app: &App, key: &str) -> Vec<String> {
        load_cursor(app, key, false)
            .await
            .unwrap()
            .cursor
            .direct
            .seen
    }

    #[tokio::test]
    async fn a_reader_saving_from_a_stale_cursor_merges_instead_of_overwriting() {
        let dir = tempfile::tempdir().unwrap();
        let app = fs_app(dir.path()).await;
        let ck = keys::cursor("bob");
        let b = keys::mailbox(keys::BROADCAST);
        let (m1, m2, m3, m4) = (
            key(NOW, 1),
            key(NOW + 1, 2),
            key(NOW + 2, 3),
            key(NOW + 3, 4),
        );
        let streams = |listed: &[&String]| {
            [
                (P, listed.iter().map(|k| k.to_string()).collect()),
                (b.as_str(), vec![]),
            ]
        };

        // Both readers start with no cursor; the second one's create loses and merges.
        let none = || Stored {
            cursor: Cursor::default(),
            version: None,
        };
        save_cursor(&app, &ck, none(), &streams(&[&m1, &m2]))
            .await
            .unwrap();
        let saved = save_cursor(&app, &ck, none(), &streams(&[&m1]))
            .await
            .unwrap();
        assert_eq!(saved.cursor.direct.seen, [m1.clone(), m2.clone()]);
        assert_eq!(seen(&app, &ck).await, [m1.clone(), m2.clone()]);

        // Both read the same version; the second one's compare-and-swap fails and merges.
        let stale = load_cursor(&app, &ck, false).await.unwrap();
        let also_stale = load_cursor(&app, &ck, false).await.unwrap();
        save_cursor(&app, &ck, stale, &streams(&[&m3]))
            .await
            .unwrap();
        save_cursor(&app, &ck, also_stale, &streams(&[&m4]))
            .await
            .unwrap();
        assert_eq!(seen(&app, &ck).await, [m1, m2, m3, m4]);
    }

    #[test]
    fn foreign_watermarks_and_keys_are_ignored() {
        let stored = CursorPart {
            watermark: Some("messages/zed/9".into()),
            seen: vec!["messages/zed/1_a_b.json".into()],
        };
        assert_eq!(watermark(&stored, P), None);
        let part = advance(&stored, &CursorPart::default(), &[], P, NOW);
        assert_eq!(part, CursorPart::default());
    }
}
