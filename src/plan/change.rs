//! Changing the plan: `apply` (a whole set of step definitions), `add` (one step, merged
//! with its stored spec) and `remove`. A change is checked whole against the stored plan
//! before anything is written; a spec is created once, rewritten by compare-and-swap only
//! when its definition differs, and written after the steps it comes after.

use std::collections::{BTreeMap, HashMap};

use futures::StreamExt;

use super::spec::{Spec, StepDef, StepInput};
use super::{graph, list, read_specs};
use crate::app::{App, Doc, FETCH_CONCURRENCY};
use crate::keys;
use crate::store::{PutMode, StoreError};
use crate::time;

/// Rounds of read-and-write before a spec that keeps changing under us is reported.
const ATTEMPTS: usize = 5;

/// What `apply` did, by step name as typed.
#[derive(Clone, Debug, Default)]
pub struct Applied {
    pub added: Vec<String>,
    pub updated: Vec<String>,
    pub unchanged: Vec<String>,
}

/// Checks the definitions whole against the stored plan, then creates and updates specs.
/// Definitions identical to the stored ones are not written, so applying the same file
/// twice writes nothing the second time. Prerequisites are written before the steps that
/// wait for them, so a reader never sees a step waiting on a spec not written yet.
pub async fn apply(app: &App, inputs: &[StepInput]) -> anyhow::Result<Applied> {
    let defs: Vec<StepDef> = inputs
        .iter()
        .map(StepInput::check)
        .collect::<Result<_, _>>()?;
    let listing = list(app).await?;
    let stored: BTreeMap<String, Doc<Spec>> = read_specs(app, &listing)
        .await?
        .into_iter()
        .map(|d| (d.value.id.clone(), d))
        .collect();
    let existing: BTreeMap<String, Spec> = stored
        .iter()
        .map(|(id, d)| (id.clone(), d.value.clone()))
        .collect();
    graph::validate(&existing, &defs, &listing.known())?;

    let mut applied = Applied::default();
    let now = time::now_iso();
    for wave in waves(&defs) {
        let writes = wave.into_iter().map(|def| {
            let current = stored.get(&def.id).cloned();
            let now = now.as_str();
            async move { (def, write_spec(app, def, current, now).await) }
        });
        let results: Vec<_> = futures::stream::iter(writes)
            .buffer_unordered(FETCH_CONCURRENCY)
            .collect()
            .await;
        for (def, result) in results {
            let list = match result? {
                Written::Added => &mut applied.added,
                Written::Updated => &mut applied.updated,
                Written::Unchanged => &mut applied.unchanged,
            };
            list.push(def.name.clone());
        }
    }
    let order: HashMap<&str, usize> = defs
        .iter()
        .enumerate()
        .map(|(i, d)| (d.name.as_str(), i))
        .collect();
    for list in [
        &mut applied.added,
        &mut applied.updated,
        &mut applied.unchanged,
    ] {
        list.sort_by_key(|n| order.get(n.as_str()).copied().unwrap_or(usize::MAX));
    }
    Ok(applied)
}

/// The definitions grouped so each group depends only on earlier groups (and on steps
/// outside this change).
fn waves(defs: &[StepDef]) -> Vec<Vec<&StepDef>> {
    let by_id: HashMap<&str, &StepDef> = defs.iter().map(|d| (d.id.as_str(), d)).collect();
    let mut level: HashMap<&str, usize> = HashMap::new();
    // Validated acyclic: a bounded number of passes settles every level.
    for _ in 0..=defs.len() {
        let mut changed = false;
        for d in defs {
            let l = d
                .after
                .iter()
                .filter(|a| by_id.contains_key(a.as_str()))
                .map(|a| level.get(a.as_str()).copied().unwrap_or(0) + 1)
                .max()
                .unwrap_or(0);
            if level.get(d.id.as_str()) != Some(&l) {
                level.insert(&d.id, l);
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    let depth = level.values().copied().max().map_or(0, |m| m + 1);
    let mut waves: Vec<Vec<&StepDef>> = vec![Vec::new(); depth];
    for d in defs {
        waves[level[d.id.as_str()]].push(d);
    }
    waves
}

enum Written {
    Added,
    Updated,
    Unchanged,
}

/// Writes one definition: create-once when there is no spec, compare-and-swap against
/// the version read when it differs, nothing when it is the same.
async fn write_spec(
    app: &App,
    def: &StepDef,
    mut current: Option<Doc<Spec>>,
    now: &str,
) -> anyhow::Result<Written> {
    let key = keys::step_spec(&def.id);
    let caps = app.store.capabilities();
    for _ in 0..ATTEMPTS {
        let mode = match &current {
            Some(doc) if doc.value.same_definition(def) => return Ok(Written::Unchanged),
            Some(doc) if caps.compare_and_swap => PutMode::UpdateIfVersion(doc.version().clone()),
            None if caps.atomic_create => PutMode::Create,
            _ => PutMode::Overwrite,
        };
        let spec = def.to_spec(current.as_ref().map(|d| &d.value), app.agent(), now);
        match app.write(&key, &spec, mode).await {
            Ok(_) if current.is_some() => return Ok(Written::Updated),
            Ok(_) => return Ok(Written::Added),
            // Another writer got there first: judge what it wrote.
            Err(e) if e.is_conflict() => current = app.read::<Spec>(&key).await?,
            Err(e) => return Err(e.into()),
        }
    }
    anyhow::bail!("the spec at '{key}' kept changing while it was being written; try again")
}

/// `plan add`: the given fields replace the stored ones; a field not given keeps its
/// stored value (a new step gets the defaults).
#[derive(Clone, Debug, Default)]
pub struct AddFields {
    pub title: Option<String>,
    pub after: Option<Vec<String>>,
    pub labels: Option<Vec<String>>,
    pub priority: Option<i64>,
    pub description: Option<String>,
}

/// Adds the step `name`, or updates its spec with `fields`; returns what was written.
pub async fn add(app: &App, name: &str, fields: AddFields) -> anyhow::Result<(Applied, Spec)> {
    let sid = crate::ids::normalize_step(name)?;
    let stored = app.read::<Spec>(&keys::step_spec(&sid)).await?;
    let old = stored.as_ref().map(|d| &d.value);
    let input = StepInput {
        // The name as first typed stays (`plan add design` updates `Design`).
        id: old.map_or(name, |s| s.display_name()).to_string(),
        title: fields.title.or_else(|| old.map(|s| s.title.clone())),
        after: fields
            .after
            .or_else(|| old.map(|s| s.after.clone()))
            .unwrap_or_default(),
        labels: fields
            .labels
            .or_else(|| old.map(|s| s.labels.clone()))
            .unwrap_or_default(),
        priority: fields.priority.or_else(|| old.map(|s| s.priority as i64)),
        description: fields
            .description
            .or_else(|| old.map(|s| s.description.clone())),
    };
    let applied = apply(app, std::slice::from_ref(&input)).await?;
    let spec = app
        .read::<Spec>(&keys::step_spec(&sid))
        .await?
        .map(|d| d.value)
        .ok_or_else(|| {
            anyhow::anyhow!("the spec of step '{name}' vanished after it was written")
        })?;
    Ok((applied, spec))
}

/// What `remove` came to.
pub enum Removed {
    Removed(Box<Spec>),
    /// Other specs come after it: their names.
    Needed(Vec<String>),
    NotInPlan,
}

/// Removes the spec of `sid` when no other spec comes after it; the step's claim, status
/// and handoff are left alone.
pub async fn remove(app: &App, sid: &str) -> anyhow::Result<Removed> {
    let listing = list(app).await?;
    let specs = read_specs(app, &listing).await?;
    let Some(spec) = specs.iter().find(|d| d.value.id == sid) else {
        return Ok(Removed::NotInPlan);
    };
    let needed: Vec<String> = specs
        .iter()
        .filter(|d| d.value.after.iter().any(|a| a == sid))
        .map(|d| d.value.display_name().to_string())
        .collect();
    if !needed.is_empty() {
        return Ok(Removed::Needed(needed));
    }
    match app.store.delete(&keys::step_spec(sid)).await {
        Ok(()) | Err(StoreError::NotFound { .. }) => {
            Ok(Removed::Removed(Box::new(spec.value.clone())))
        }
        Err(e) => Err(e.into()),
    }
}
