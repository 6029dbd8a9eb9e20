//! `session compact`: merge a session's older parts into one new part, streamed part by
//! part, then swap them for it in `meta.json` and only then delete the originals.

use anyhow::Context;
use serde_json::json;
use tokio::io::AsyncWriteExt;

use super::lookup::find_session;
use crate::app::App;
use crate::events::{self, Event};
use crate::keys;
use crate::outcome::{Failure, Outcome};
use crate::session::meta::{Meta, Part, order_key, sum_counts};
use crate::store::{PutMode, PutOptions, StoreError};
use crate::time;

pub(super) async fn compact(
    app: &App,
    id: &str,
    keep_tail: usize,
    harness: Option<String>,
) -> anyhow::Result<Outcome> {
    let (h, id, meta, _) = find_session(app, id, harness.as_deref()).await?;
    let ordered: Vec<Part> = meta.parts_in_order().into_iter().cloned().collect();
    let split = ordered.len().saturating_sub(keep_tail);
    let (targets, kept) = ordered.split_at(split);
    if targets.len() < 2 {
        app.printer.result(
            format!(
                "nothing to compact: {} mergeable part(s) (kept newest {})",
                targets.len(),
                kept.len()
            ),
            &json!({"harness": h, "session_id": id, "merged": 0, "kept_tail": kept.len()}),
        );
        return Ok(Outcome::Success);
    }

    // 1. The merged part: the targets' bytes in order, copied one part at a time through a
    //    bounded pipe into the upload (never the whole session in memory).
    let mut target_keys = Vec::new();
    let mut len = 0u64;
    for p in targets {
        let key = keys::session_part(&h, &id, p.seq, &p.uuid);
        let head = app
            .store
            .head(&key)
            .await
            .with_context(|| format!("reading {key}"))?;
        len += head.size;
        target_keys.push(key);
    }
    let mut seq = 1 + app
        .store
        .list(&keys::session_dir(&h, &id), None)
        .await?
        .iter()
        .filter_map(|e| keys::part_of(&e.key).map(|(s, _)| s))
        .chain(meta.max_seq())
        .max()
        .unwrap_or(0);
    let uuid = uuid::Uuid::new_v4().simple().to_string()[..8].to_string();
    let opts = PutOptions {
        content_type: Some("application/x-ndjson".into()),
        metadata: Default::default(),
    };
    let merged_key = loop {
        let key = keys::session_part(&h, &id, seq, &uuid);
        match app.store.head(&key).await {
            Ok(_) => seq += 1,
            Err(StoreError::NotFound { .. }) => break key,
            Err(e) => return Err(e.into()),
        }
    };
    let (mut tx, rx) = tokio::io::duplex(64 * 1024);
    let upload = app
        .store
        .put_stream(&merged_key, Box::pin(rx), len, PutMode::Create, &opts);
    let sources = &target_keys;
    let copy = async move {
        for key in sources {
            let (_, mut part) = app
                .store
                .get_stream(key)
                .await
                .with_context(|| format!("reading {key}"))?;
            tokio::io::copy(&mut part, &mut tx)
                .await
                .with_context(|| format!("copying {key}"))?;
        }
        tx.shutdown().await.context("closing the merged part")?;
        anyhow::Ok(())
    };
    let event = Event::new("session.compact")
        .key(merged_key.clone())
        .with("harness", &h)
        .with("session", &id)
        .with("merged", target_keys.len());
    let (uploaded, copied, _) = tokio::join!(upload, copy, events::record(app, event));
    if let Err(e) = uploaded {
        return Err(e).with_context(|| format!("uploading {merged_key}"));
    }
    if let Err(e) = copied {
        let _ = app.store.delete(&merged_key).await;
        return Err(e);
    }

    // 2. meta.json: the targets replaced by one entry that keeps their ranges and counts.
    let ranges: Vec<[u64; 2]> = targets.iter().filter_map(|p| p.cursor_range).collect();
    let mut extra = serde_json::Map::new();
    extra.insert("compacted_from".into(), json!(targets.len()));
    extra.insert("merged_parts".into(), serde_json::to_value(targets)?);
    let merged = Part {
        seq,
        uuid: uuid.clone(),
        cursor_range: (ranges.len() == targets.len()).then(|| {
            [
                ranges.iter().map(|r| r[0]).min().unwrap_or(0),
                ranges.iter().map(|r| r[1]).max().unwrap_or(0),
            ]
        }),
        source_bytes: targets.iter().map(|p| p.source_bytes).sum(),
        uploaded_bytes: len,
        redactions: sum_counts(targets),
        uploaded_at: Some(time::now_iso()),
        extra,
    };
    let meta_key = keys::session_meta(&h, &id);
    loop {
        let Some(doc) = app.read::<Meta>(&meta_key).await? else {
            let _ = app.store.delete(&merged_key).await;
            anyhow::bail!("{meta_key} vanished while compacting");
        };
        let mut meta = doc.value.clone();
        let is_target = |p: &Part| targets.iter().any(|t| t.seq == p.seq && t.uuid == p.uuid);
        if meta.parts.iter().filter(|p| is_target(p)).count() != targets.len() {
            let _ = app.store.delete(&merged_key).await;
            return Err(Failure {
                message: format!("session {id} changed while compacting (another compact?)"),
                hint: Some("run the compact again".into()),
            }
            .into());
        }
        meta.parts.retain(|p| !is_target(p));
        meta.parts.push(merged.clone());
        meta.parts.sort_by_key(order_key);
        meta.extra
            .insert("last_compacted_at".into(), json!(time::now_iso()));
        match app
            .write(
                &meta_key,
                &meta,
                PutMode::UpdateIfVersion(doc.version().clone()),
            )
            .await
        {
            Ok(_) => break,
            Err(StoreError::PreconditionFailed { .. }) => continue,
            Err(e) => {
                let _ = app.store.delete(&merged_key).await;
                return Err(e).with_context(|| format!("updating {meta_key}"));
            }
        }
    }

    // 3. Only now the originals go.
    for key in &target_keys {
        app.store
            .delete(key)
            .await
            .with_context(|| format!("deleting {key}"))?;
    }
    let name = keys::part_name(seq, &uuid);
    app.printer.result(
        format!(
            "compacted session={id}: merged {} parts -> {} ({len}B) deleted={} kept_tail={}",
            targets.len(),
            name.trim_end_matches(".jsonl"),
            target_keys.len(),
            kept.len()
        ),
        &json!({
            "harness": h,
            "session_id": id,
            "merged": targets.len(),
            "key": merged_key,
            "bytes": len,
            "kept_tail": kept.len(),
        }),
    );
    Ok(Outcome::Success)
}
