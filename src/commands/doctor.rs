//! `doctor`: checks the config, reaches the backend with the configured credentials, and
//! probes whether the store really honours conditional writes on scratch keys under
//! `_doctor/` (a second create must fail, a stale compare-and-swap must fail, and of a few
//! simultaneous creators exactly one may win). Claims are only safe where all three hold;
//! otherwise doctor says so plainly and exits 1. Scratch keys are always removed.

use std::time::Instant;

use bytes::Bytes;
use serde_json::json;

use crate::app::App;
use crate::keys;
use crate::outcome::Outcome;
use crate::store::{PutMode, PutOptions, Store, StoreError, Version};

/// Simultaneous creators in the race probe: enough to collide, few enough to stay cheap on
/// stores that serialise contended conditional writes.
const RACERS: usize = 4;

#[derive(Debug, Default)]
struct Probe {
    create_rejected: Option<bool>,
    stale_swap_rejected: Option<bool>,
    race_winners: Option<usize>,
}

impl Probe {
    fn safe(&self) -> bool {
        self.create_rejected == Some(true)
            && self.stale_swap_rejected == Some(true)
            && self.race_winners == Some(1)
    }
}

pub async fn run(app: &App) -> anyhow::Result<Outcome> {
    let store = app.store.as_ref();
    let caps = store.capabilities();
    let started = Instant::now();
    // Reaching the backend also proves the credentials: listing needs them.
    store.list(&keys::doctor_scratch(""), None).await?;
    let reach_ms = started.elapsed().as_millis();

    let run_id = uuid::Uuid::new_v4().simple().to_string();
    let mut scratch = Vec::new();
    let probe = if caps.atomic_create && caps.compare_and_swap {
        let probe = probe(store, &run_id, &mut scratch).await;
        for key in &scratch {
            let _ = store.delete(key).await;
        }
        probe?
    } else {
        Probe::default()
    };
    let safe = probe.safe();

    let verdict = if safe {
        "conditional writes: honoured (claims are atomic)".to_string()
    } else if !caps.atomic_create || !caps.compare_and_swap {
        format!(
            "conditional writes: not supported by the {} backend: claims are UNSAFE (best-effort only); \
             use an S3-compatible store or the Hugging Face S3 gateway",
            store.backend()
        )
    } else {
        "conditional writes: NOT honoured by this store: claims are UNSAFE here \
         (the store accepted writes its preconditions should have refused)"
            .to_string()
    };
    let mark = |v: Option<bool>| match v {
        Some(true) => "ok",
        Some(false) => "FAILED",
        None => "not run",
    };
    let human = [
        format!(
            "config: project '{}', agent '{}'",
            app.config.project,
            app.agent()
        ),
        format!(
            "backend: {} — {} (reached in {reach_ms} ms)",
            store.backend(),
            store.location()
        ),
        format!("second create rejected: {}", mark(probe.create_rejected)),
        format!(
            "stale compare-and-swap rejected: {}",
            mark(probe.stale_swap_rejected)
        ),
        format!(
            "race of {RACERS} creators: {}",
            match probe.race_winners {
                Some(1) => "exactly one winner".to_string(),
                Some(n) => format!("{n} winners (FAILED)"),
                None => "not run".into(),
            }
        ),
        verdict,
    ]
    .join("\n");
    app.printer.result(
        human,
        &json!({
            "project": app.config.project,
            "agent": app.agent(),
            "backend": store.backend(),
            "location": store.location(),
            "reach_ms": reach_ms,
            "capabilities": caps,
            "probe": {
                "second_create_rejected": probe.create_rejected,
                "stale_swap_rejected": probe.stale_swap_rejected,
                "race_winners": probe.race_winners,
            },
            "claims_safe": safe,
        }),
    );
    Ok(if safe {
        Outcome::Success
    } else {
        Outcome::Unsafe
    })
}

async fn probe(
    store: &dyn Store,
    run_id: &str,
    scratch: &mut Vec<String>,
) -> anyhow::Result<Probe> {
    let mut probe = Probe::default();
    let body = |s: &str| Bytes::from(format!("{{\"doctor\":\"{run_id}\",\"n\":\"{s}\"}}"));
    let opts = PutOptions::json();

    let key = keys::doctor_scratch(&format!("{run_id}-create.json"));
    scratch.push(key.clone());
    let v1 = store.put(&key, body("1"), PutMode::Create, &opts).await?;
    probe.create_rejected = Some(
        match store.put(&key, body("2"), PutMode::Create, &opts).await {
            Err(StoreError::AlreadyExists { .. }) => true,
            Ok(_) => false,
            Err(e) => return Err(e.into()),
        },
    );

    let v2 = store
        .put(&key, body("3"), PutMode::UpdateIfVersion(v1.clone()), &opts)
        .await;
    let current = match v2 {
        Ok(v) => v,
        // Only possible when the second create overwrote: the version moved.
        Err(StoreError::PreconditionFailed { .. }) => store.head(&key).await?.version,
        Err(e) => return Err(e.into()),
    };
    let stale = if current == v1 {
        Version::new("\"stale-doctor-version\"")
    } else {
        v1
    };
    probe.stale_swap_rejected = Some(
        match store
            .put(&key, body("4"), PutMode::UpdateIfVersion(stale), &opts)
            .await
        {
            Err(StoreError::PreconditionFailed { .. }) => true,
            Ok(_) => false,
            Err(e) => return Err(e.into()),
        },
    );

    let race_key = keys::doctor_scratch(&format!("{run_id}-race.json"));
    scratch.push(race_key.clone());
    let attempts = (0..RACERS).map(|i| {
        let (race_key, opts) = (&race_key, &opts);
        let b = body(&format!("racer-{i}"));
        async move { store.put(race_key, b, PutMode::Create, opts).await }
    });
    let mut winners = 0;
    for result in futures::future::join_all(attempts).await {
        match result {
            Ok(_) => winners += 1,
            Err(StoreError::AlreadyExists { .. }) => {}
            Err(e) => return Err(e.into()),
        }
    }
    probe.race_winners = Some(winners);
    Ok(probe)
}
