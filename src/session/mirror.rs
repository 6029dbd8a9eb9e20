//! The mirror engine: uploads the new complete lines of one transcript as create-once
//! parts of bounded size, then records each part in `meta.json` by compare-and-swap.
//!
//! The bucket is the authority on what was mirrored: the highest `cursor_range` end in
//! `meta.json` is where the next part starts, so a lost local state resumes after the last
//! mirrored byte, and of two concurrent mirrors of one session only the part that extends
//! the recorded range is kept (the other deletes its duplicate and carries on from there).

use anyhow::Context;
use serde_json::json;

use super::harness::{Harness, SessionRef};
use super::meta::{Meta, Part};
use super::redact::{self, Counts};
use super::state::{Scope, State, StateFile};
use crate::app::App;
use crate::events::{self, Event};
use crate::keys;
use crate::outcome::Failure;
use crate::store::{PutMode, PutOptions, StoreError, Version};
use crate::time;

/// Source bytes per uploaded part, unless `TRACECRAFT_SESSION_PART_BYTES` says otherwise.
const DEFAULT_PART_BYTES: usize = 4 * 1024 * 1024;

pub struct Options {
    pub redact: bool,
    pub min_bytes: u64,
    pub part_bytes: usize,
}

impl Options {
    pub fn new(redact: bool, min_bytes: u64) -> Options {
        let part_bytes = std::env::var("TRACECRAFT_SESSION_PART_BYTES")
            .ok()
            .and_then(|v| v.parse::<usize>().ok())
            .filter(|n| *n > 0)
            .unwrap_or(DEFAULT_PART_BYTES);
        Options {
            redact,
            min_bytes,
            part_bytes,
        }
    }
}

/// What was actually uploaded (duplicates deleted after a lost race are not counted).
#[derive(Debug, Default)]
pub struct Totals {
    pub parts: u64,
    pub source_bytes: u64,
    pub uploaded_bytes: u64,
    pub redactions: Counts,
}

pub fn state_file(app: &App, harness: &str, session: &str) -> StateFile {
    StateFile::new(&Scope {
        backend: app.store.backend(),
        location: &app.store.location(),
        bucket: &app.config.bucket,
        project: &app.config.project,
        harness,
        session,
    })
}

async fn read_meta(app: &App, key: &str) -> anyhow::Result<Option<(Meta, Version)>> {
    Ok(app
        .read::<Meta>(key)
        .await?
        .map(|doc| (doc.value.clone(), doc.version().clone())))
}

/// The next free part number: one past every part listed or recorded.
async fn next_seq(
    app: &App,
    harness: &str,
    session: &str,
    meta: Option<&Meta>,
) -> anyhow::Result<u64> {
    let listed = app
        .store
        .list(&keys::session_dir(harness, session), None)
        .await?;
    let max = listed
        .iter()
        .filter_map(|e| keys::part_of(&e.key).map(|(seq, _)| seq))
        .chain(meta.and_then(Meta::max_seq))
        .max();
    Ok(max.map_or(0, |m| m + 1))
}

fn uuid8() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..8].to_string()
}

/// Uploads `body` as a new part with the first free number from `*seq`; returns its uuid.
async fn create_part(
    app: &App,
    harness: &str,
    session: &str,
    seq: &mut u64,
    body: Vec<u8>,
) -> anyhow::Result<String> {
    let len = body.len() as u64;
    let body = bytes::Bytes::from(body);
    let opts = PutOptions {
        content_type: Some("application/x-ndjson".into()),
        metadata: Default::default(),
    };
    loop {
        let uuid = uuid8();
        let key = keys::session_part(harness, session, *seq, &uuid);
        let reader: crate::store::Reader = Box::pin(std::io::Cursor::new(body.clone()));
        match app
            .store
            .put_stream(&key, reader, len, PutMode::Create, &opts)
            .await
        {
            Ok(_) => return Ok(uuid),
            Err(StoreError::AlreadyExists { .. }) => *seq += 1,
            Err(e) => return Err(e).with_context(|| format!("uploading {key}")),
        }
    }
}

fn is_conflict(e: &StoreError) -> bool {
    matches!(
        e,
        StoreError::AlreadyExists { .. } | StoreError::PreconditionFailed { .. }
    )
}

fn source_problem(session: &str, message: String, replaced: bool) -> anyhow::Error {
    let hint = if replaced {
        format!(
            "nothing was uploaded and the mirrored parts are kept; to append the new file \
             after them anyway, run `tracecraft session stop {session}` first"
        )
    } else {
        "the source was truncated or rewritten: nothing was uploaded and the mirrored parts \
         are kept (`tracecraft session show ID` shows them)"
            .to_string()
    };
    Failure {
        message: format!("session {session}: {message}"),
        hint: Some(hint),
    }
    .into()
}

/// Mirrors what is new in one session. With `quick`, a source that did not grow past the
/// locally known cursor is skipped without asking the bucket (the `--follow` poll).
pub async fn mirror_once(
    app: &App,
    h: &dyn Harness,
    sess: &SessionRef,
    opts: &Options,
    quick: bool,
    totals: &mut Totals,
) -> anyhow::Result<()> {
    let printer = &app.printer;
    let harness = h.name();
    let id = sess.id.as_str();
    let position = h
        .position(sess)
        .with_context(|| format!("reading {}", sess.path.display()))?;
    let size = position.end;
    let ident = position.identity;
    let state_file = state_file(app, harness, id);
    let local = state_file.load();

    if quick
        && let Some(local) = &local
        && local.identity == ident
        && size >= local.cursor
        && size - local.cursor < opts.min_bytes.max(1)
    {
        return Ok(());
    }

    let meta_key = keys::session_meta(harness, id);
    let mut current = read_meta(app, &meta_key).await?;
    let mut cursor = current.as_ref().map_or(0, |(m, _)| m.cursor_end());

    if let Some(local) = &local
        && cursor > 0
        && local.identity.is_some()
        && local.identity != ident
    {
        return Err(source_problem(
            id,
            format!(
                "{} is a different file than the one mirrored (up to byte {cursor})",
                sess.path.display()
            ),
            true,
        ));
    }
    if size < cursor {
        return Err(source_problem(
            id,
            format!(
                "{} shrank to {size}, below the {cursor} already mirrored",
                sess.path.display()
            ),
            false,
        ));
    }

    let save_state = |cursor: u64| {
        let state = State {
            harness: harness.to_string(),
            session_id: id.to_string(),
            source_path: sess.path.display().to_string(),
            cursor,
            identity: ident,
            updated_at: Some(time::now_iso()),
        };
        if let Err(e) = state_file.save(&state) {
            printer.warn(format!(
                "could not save local state {}: {e}",
                state_file.path().display()
            ));
        }
    };

    if size - cursor < opts.min_bytes.max(1) {
        save_state(cursor);
        nothing_new(app, harness, id, cursor, size, "");
        return Ok(());
    }

    let mut seq = next_seq(app, harness, id, current.as_ref().map(|(m, _)| m)).await?;
    let mut uploaded_any = false;
    loop {
        let (chunk, next) = h
            .read(sess, cursor, opts.part_bytes)
            .with_context(|| format!("reading {}", sess.path.display()))?;
        if chunk.is_empty() {
            break;
        }
        let source_bytes = chunk.len() as u64;
        let mut counts = Counts::new();
        let body = if opts.redact {
            let mut out = Vec::with_capacity(chunk.len());
            redact::redact_into(&chunk, &mut out, &mut counts);
            out
        } else {
            chunk
        };
        let uploaded_bytes = body.len() as u64;
        let event = Event::new("session.mirror")
            .key(keys::session_dir(harness, id))
            .with("harness", harness)
            .with("session", id)
            .with("source_bytes", source_bytes)
            .with("uploaded_bytes", uploaded_bytes)
            .with("redactions", counts.values().sum::<u64>());
        let uuid =
            events::alongside(app, event, create_part(app, harness, id, &mut seq, body)).await?;
        let part_key = keys::session_part(harness, id, seq, &uuid);
        let range = [cursor, next];

        // Record the part; retried on conflict so concurrent writers never lose updates.
        let recorded = loop {
            let (mut meta, mode) = match &current {
                Some((m, v)) => (m.clone(), PutMode::UpdateIfVersion(v.clone())),
                None => (
                    Meta {
                        schema_version: 1,
                        started_at: Some(time::now_iso()),
                        ..Meta::default()
                    },
                    PutMode::Create,
                ),
            };
            if meta.cursor_end() != cursor {
                break false;
            }
            let now = time::now_iso();
            meta.harness = harness.to_string();
            meta.session_id = id.to_string();
            meta.source_path = sess.path.display().to_string();
            meta.cwd = sess.cwd.as_ref().map(|c| c.display().to_string());
            meta.agent_id = app.agent().to_string();
            meta.last_uploaded_at = Some(now.clone());
            meta.total_source_bytes += source_bytes;
            meta.total_uploaded_bytes += uploaded_bytes;
            redact::merge_counts(&mut meta.redaction_counts, &counts);
            meta.parts.push(Part {
                seq,
                uuid: uuid.clone(),
                cursor_range: Some(range),
                source_bytes,
                uploaded_bytes,
                redactions: counts.clone(),
                uploaded_at: Some(now),
                extra: Default::default(),
            });
            match app.write(&meta_key, &meta, mode).await {
                Ok(version) => {
                    current = Some((meta, version));
                    break true;
                }
                Err(e) if is_conflict(&e) => {
                    current = read_meta(app, &meta_key).await?;
                }
                Err(e) => {
                    let _ = app.store.delete(&part_key).await;
                    return Err(e).with_context(|| format!("updating {meta_key}"));
                }
            }
        };
        seq += 1;
        if !recorded {
            // Another mirror recorded these bytes first: ours is a duplicate.
            app.store
                .delete(&part_key)
                .await
                .with_context(|| format!("deleting duplicate {part_key}"))?;
            let end = current.as_ref().map_or(0, |(m, _)| m.cursor_end());
            printer.debug(format!(
                "session {id}: another mirror recorded up to byte {end}; dropped {part_key}"
            ));
            if end > h.position(sess).map_or(0, |p| p.end) {
                return Err(source_problem(
                    id,
                    format!("the source is shorter than the {end} already mirrored"),
                    false,
                ));
            }
            cursor = end;
            continue;
        }
        cursor = range[1];
        save_state(cursor);
        uploaded_any = true;
        totals.parts += 1;
        totals.source_bytes += source_bytes;
        totals.uploaded_bytes += uploaded_bytes;
        redact::merge_counts(&mut totals.redactions, &counts);
        let name = keys::part_name(seq - 1, &uuid);
        let name = name.trim_end_matches(".jsonl");
        printer.result(
            format!(
                "uploaded {name} source={source_bytes}B upload={uploaded_bytes}B redactions={}",
                redact::describe(&counts)
            ),
            &json!({
                "event": "uploaded",
                "harness": harness,
                "session_id": id,
                "key": part_key,
                "seq": seq - 1,
                "cursor_range": range,
                "source_bytes": source_bytes,
                "uploaded_bytes": uploaded_bytes,
                "redactions": counts,
            }),
        );
    }
    if !uploaded_any {
        save_state(cursor);
        let size = h.position(sess).map_or(size, |p| p.end);
        nothing_new(
            app,
            harness,
            id,
            cursor,
            size,
            " (waiting for a complete line)",
        );
    }
    Ok(())
}

fn nothing_new(app: &App, harness: &str, id: &str, cursor: u64, size: u64, why: &str) {
    app.printer.result(
        format!("nothing new: session={id} cursor={cursor} size={size}{why}"),
        &json!({
            "event": "nothing_new",
            "harness": harness,
            "session_id": id,
            "cursor": cursor,
            "size": size,
        }),
    );
}

/// Stamps `ended_at` in the session's meta (compare-and-swap); false when there is no
/// meta or it already ended.
pub async fn mark_ended(app: &App, harness: &str, session: &str) -> anyhow::Result<bool> {
    let key = keys::session_meta(harness, session);
    loop {
        let Some((mut meta, version)) = read_meta(app, &key).await? else {
            return Ok(false);
        };
        if meta.ended_at.is_some() {
            return Ok(false);
        }
        meta.ended_at = Some(time::now_iso());
        match app
            .write(&key, &meta, PutMode::UpdateIfVersion(version))
            .await
        {
            Ok(_) => return Ok(true),
            Err(e) if is_conflict(&e) => continue,
            Err(e) => return Err(e).with_context(|| format!("updating {key}")),
        }
    }
}
