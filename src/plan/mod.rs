//! The work graph of contract section 10: a plan of steps with dependencies, stored as one
//! spec document per step (`steps/<sid>/spec.json`) beside the claim and status documents
//! every step already has. This module is the one place the plan is read, changed and
//! worked from; `plan`, `ready`, `claim --next`, `wait-for --plan` and `status` call it,
//! and so can any other front end (an MCP server, `prime`, a cache of documents):
//!
//! - [`load`] reads the whole plan with bounded concurrency into a [`PlanView`]: each step
//!   classified (complete, in progress, ready, waiting, blocked, needs review), ready
//!   steps in the order they are taken, counts, and the [`Outlook`] for an agent looking
//!   for work. [`read_plan_specs`] and [`view_from`] build the same from step views a caller
//!   already read.
//! - [`apply`], [`add`] and [`remove`] change the plan; a change is checked whole (ids,
//!   unknown `after` steps, duplicates, cycles) before anything is written, and a spec is
//!   only rewritten, by compare-and-swap, when its definition differs.
//! - [`claim_next`] claims the first ready step it wins through the claims protocol
//!   (`claims.rs`), so the store decides every race; a lost race moves on to the next
//!   ready step, and with `wait` it waits for one.
//! - [`wait_complete`] waits until every step is complete.
//!
//! The pure rules (validation, ordering, readiness, rendering) live in `graph`, `spec` and
//! `render`.

mod change;
pub mod graph;
pub mod render;
pub mod spec;
mod work;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::hash::{Hash, Hasher};

use futures::{StreamExt, TryStreamExt};
use serde_json::{Value, json};

use crate::app::{App, FETCH_CONCURRENCY};
use crate::docs;
use crate::ids::InvalidId;
use crate::keys;
use crate::lease::Standing;
use crate::steps::{self, StepView};
use crate::store::ListEntry;

pub use change::{AddFields, Applied, Removed, add, apply, remove};
pub use graph::{Category, Counts, Facts, Outlook, PlanStep};
pub use spec::{Spec, StepDef, StepInput};
pub use work::{Next, NextOptions, PlanEnd, claim_next, wait_complete};

/// A plan change that is refused before anything is written (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error(transparent)]
    Id(#[from] InvalidId),
    #[error("{0}")]
    Invalid(String),
    #[error("cannot read the plan file: {0}")]
    Parse(String),
    #[error("step '{second}' is defined twice (also as '{first}')")]
    Duplicate { first: String, second: String },
    #[error("step '{step}' comes after '{after}', which is not a known step")]
    UnknownAfter { step: String, after: String },
    #[error("the plan would have a cycle: {}", path.join(" → "))]
    Cycle { path: Vec<String> },
}

/// The whole plan as read at one moment.
#[derive(Clone, Debug, Default)]
pub struct PlanView {
    /// Every step of the plan, in dependency order.
    pub steps: Vec<PlanStep>,
    /// What the documents say of every step with documents (plan steps and others).
    pub facts: HashMap<String, Facts>,
    pub counts: Counts,
    /// Changes whenever any document under `steps/` changes (where the store lists
    /// modification times): waiting callers re-read only then.
    pub fingerprint: u64,
}

impl PlanView {
    fn build(specs: Vec<Spec>, facts: HashMap<String, Facts>, fingerprint: u64) -> Self {
        let steps = graph::classify(specs, &facts);
        let counts = Counts::of(&steps);
        PlanView {
            steps,
            facts,
            counts,
            fingerprint,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    pub fn get(&self, sid: &str) -> Option<&PlanStep> {
        self.steps.iter().find(|s| s.id() == sid)
    }

    /// The steps with `label` (all without one), in dependency order.
    pub fn scoped(&self, label: Option<&str>) -> Vec<&PlanStep> {
        self.steps
            .iter()
            .filter(|s| label.is_none_or(|l| s.spec.has_label(l)))
            .collect()
    }

    /// Ready steps (with `label`, if given), in the order `claim --next` takes them.
    pub fn ready(&self, label: Option<&str>) -> Vec<&PlanStep> {
        graph::ready(&self.steps, label)
    }

    pub fn outlook(&self, label: Option<&str>) -> Outlook {
        graph::outlook(&self.steps, &self.facts, label)
    }

    /// Counts over the steps with `label` (all without one).
    pub fn counts(&self, label: Option<&str>) -> Counts {
        Counts::of(self.scoped(label))
    }

    /// `plan --json`: the steps with `label` and their counts.
    pub fn to_json(&self, label: Option<&str>) -> Value {
        let steps = self.scoped(label);
        json!({
            "steps": steps.iter().map(|s| step_json(s)).collect::<Vec<_>>(),
            "counts": Counts::of(steps.iter().copied()),
        })
    }
}

/// One plan step as `plan --json` prints it.
pub fn step_json(s: &PlanStep) -> Value {
    json!({
        "id": s.spec.id,
        "name": s.spec.display_name(),
        "title": s.spec.title,
        "status": s.category.name(),
        "state": s.status,
        "holder": s.holder,
        "after": s.spec.after,
        "labels": s.spec.labels,
        "priority": s.spec.priority,
        "description": s.spec.description,
        "ready": s.is_ready(),
        "waiting_on": s.waiting_on,
    })
}

/// What the documents under `steps/` are, by step: which files exist, and a fingerprint
/// of the whole listing.
#[derive(Default)]
pub(crate) struct Listing {
    files: BTreeMap<String, BTreeSet<String>>,
    fingerprint: u64,
}

impl Listing {
    fn of(entries: &[ListEntry]) -> Self {
        let mut listing = Listing::default();
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        for e in entries {
            (&e.key, e.size, e.last_modified).hash(&mut hasher);
            if let Some((sid, file)) = keys::step_file_of(&e.key) {
                listing
                    .files
                    .entry(sid.to_string())
                    .or_default()
                    .insert(file.to_string());
            }
        }
        listing.fingerprint = hasher.finish();
        listing
    }

    fn specs(&self) -> impl Iterator<Item = &str> {
        self.files
            .iter()
            .filter(|(_, f)| f.contains(SPEC_FILE))
            .map(|(sid, _)| sid.as_str())
    }

    /// Steps with a claim or status: steps the project knows outside the plan too.
    pub(crate) fn known(&self) -> HashSet<String> {
        self.files
            .iter()
            .filter(|(_, f)| f.contains(CLAIM_FILE) || f.contains(STATUS_FILE))
            .map(|(sid, _)| sid.clone())
            .collect()
    }
}

pub(crate) const SPEC_FILE: &str = "spec.json";
const CLAIM_FILE: &str = "claim.json";
const STATUS_FILE: &str = "status.json";

pub(crate) async fn list(app: &App) -> anyhow::Result<Listing> {
    let entries = app.store.list(keys::STEPS_DIR, None).await?;
    Ok(Listing::of(&entries))
}

/// The listing's fingerprint alone: one listing, no documents.
pub async fn fingerprint(app: &App) -> anyhow::Result<u64> {
    Ok(list(app).await?.fingerprint)
}

/// Every spec the listing names, read from the store (not the cache): `apply` and `rm`
/// change specs by compare-and-swap on the versions read here.
pub(crate) async fn read_specs(
    app: &App,
    listing: &Listing,
) -> anyhow::Result<Vec<crate::app::Doc<Spec>>> {
    let sids: Vec<String> = listing.specs().map(str::to_string).collect();
    futures::stream::iter(sids)
        .map(|sid| async move { app.read::<Spec>(&keys::step_spec(&sid)).await })
        .buffered(FETCH_CONCURRENCY)
        .try_filter_map(|doc| async move { Ok(doc) })
        .try_collect()
        .await
}

/// What a step view says, for the graph.
pub fn facts_of(view: &StepView) -> Facts {
    let state = view.state().to_string();
    let settled = matches!(
        state.as_str(),
        docs::COMPLETE | docs::BLOCKED | docs::NEEDS_REVIEW
    );
    let claimable = !settled
        && view
            .claim
            .as_ref()
            .is_none_or(|c| c.standing == Standing::Released || c.standing.is_takeable());
    Facts {
        holder: view.holder().map(str::to_string),
        state,
        claimable,
    }
}

/// Reads the whole plan: one fresh listing, then the specs and the documents of the
/// plan's steps and of the steps they wait for, through the document cache (`cache.rs`):
/// a repeated call fetches only what changed, at most [`FETCH_CONCURRENCY`] at a time.
/// Decisions that matter (a claim, a takeover) read the claim from the store again.
pub async fn load(app: &App) -> anyhow::Result<PlanView> {
    let entries = app.store.list(keys::STEPS_DIR, None).await?;
    let listing = Listing::of(&entries);
    let mut cache = app.doc_cache("steps");
    let specs = read_specs_cached(app, &entries, &mut cache).await?;
    let mut needed: BTreeSet<&str> = BTreeSet::new();
    for s in &specs {
        needed.insert(&s.id);
        needed.extend(s.after.iter().map(String::as_str));
    }
    let views = steps::read_listed(
        app,
        &entries,
        &mut cache,
        |sid| needed.contains(sid),
        steps::Settled::SkipClaim,
    )
    .await?;
    app.save_cache(&mut cache);
    let facts = views.iter().map(|v| (v.sid.clone(), facts_of(v))).collect();
    Ok(PlanView::build(specs, facts, listing.fingerprint))
}

/// Every spec a fresh listing shows, through the document cache.
async fn read_specs_cached(
    app: &App,
    entries: &[ListEntry],
    cache: &mut crate::cache::DocCache,
) -> anyhow::Result<Vec<Spec>> {
    let objs = cache
        .read_listed(app.store.as_ref(), entries, |k| {
            keys::step_file_of(k).is_some_and(|(_, file)| file == SPEC_FILE)
        })
        .await?;
    Ok(objs
        .iter()
        .map(|o| crate::app::decode::<Spec>(&o.meta.key, &o.body))
        .collect::<Result<_, _>>()?)
}

/// The plan's specs alone, from a listing of `steps/` the caller took: with step views
/// read from the same listing, [`view_from`] makes the plan view without listing or
/// reading any step twice.
pub async fn read_plan_specs(app: &App, entries: &[ListEntry]) -> anyhow::Result<Vec<Spec>> {
    // An area of its own: `status` reads the steps area at the same time.
    let mut cache = app.doc_cache("plan-specs");
    let specs = read_specs_cached(app, entries, &mut cache).await?;
    app.save_cache(&mut cache);
    Ok(specs)
}

/// The plan from its specs and step views the caller already read (`status` reads every
/// step anyway). No fingerprint: such a view is not waited on.
pub fn view_from(specs: Vec<Spec>, views: &[StepView]) -> PlanView {
    let facts = views.iter().map(|v| (v.sid.clone(), facts_of(v))).collect();
    PlanView::build(specs, facts, 0)
}
