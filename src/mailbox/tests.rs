//! Unit tests of [`crate::mailbox`].
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
            (
                P.to_string(),
                listed.iter().map(|k| k.to_string()).collect(),
            ),
            (b.clone(), vec![]),
        ]
    };

    // Both readers start with no cursor; the second one's create loses and merges.
    let none = || Stored {
        cursor: Cursor::default(),
        version: None,
    };
    save_cursor(&app, &ck, none(), &streams(&[&m1, &m2]), true)
        .await
        .unwrap();
    save_cursor(&app, &ck, none(), &streams(&[&m1]), true)
        .await
        .unwrap();
    assert_eq!(seen(&app, &ck).await, [m1.clone(), m2.clone()]);

    // Both read the same version; the second one's compare-and-swap fails and merges.
    let stale = load_cursor(&app, &ck, false).await.unwrap();
    let also_stale = load_cursor(&app, &ck, false).await.unwrap();
    save_cursor(&app, &ck, stale, &streams(&[&m3]), true)
        .await
        .unwrap();
    save_cursor(&app, &ck, also_stale, &streams(&[&m4]), true)
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

#[test]
fn marking_a_few_shown_adds_them_to_seen_without_moving_the_watermark() {
    let old = key(NOW - 2 * HORIZON_NS, 1);
    let part = advance(
        &CursorPart::default(),
        &CursorPart::default(),
        std::slice::from_ref(&old),
        P,
        0,
    );
    assert_eq!(part.watermark, None);
    assert_eq!(part.seen, [old]);
}
