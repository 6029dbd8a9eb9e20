//! The plan as a graph, in pure functions: checking a set of definitions (unknown `after`
//! steps, duplicates, cycles named step by step), the dependency order, what each step's
//! documents make of it (complete, in progress, ready, waiting, blocked, needs review),
//! the order ready steps are taken in, and whether anything can still become ready. No
//! store access here, so every rule is unit-tested on tables.

use std::collections::{BTreeMap, BTreeSet, BinaryHeap, HashMap, HashSet};

use serde::Serialize;

use super::PlanError;
use super::spec::{Spec, StepDef};
use crate::docs;

/// What a step's claim and status documents say, for the graph.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Facts {
    /// `pending`, `in_progress`, `complete`, `blocked` or `needs_review`.
    pub state: String,
    /// Who holds the live claim, if anyone.
    pub holder: Option<String>,
    /// A claim now would win: no claim, a released one, or an expired lease past the skew
    /// allowance (the claim takes it over).
    pub claimable: bool,
}

impl Facts {
    pub fn pending() -> Self {
        Facts {
            state: docs::PENDING.into(),
            holder: None,
            claimable: true,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    Complete,
    InProgress,
    Ready,
    Waiting,
    Blocked,
    NeedsReview,
}

impl Category {
    pub fn name(self) -> &'static str {
        match self {
            Category::Complete => "complete",
            Category::InProgress => "in_progress",
            Category::Ready => "ready",
            Category::Waiting => "waiting",
            Category::Blocked => "blocked",
            Category::NeedsReview => "needs_review",
        }
    }
}

/// A step of the plan with what its documents say.
#[derive(Clone, Debug)]
pub struct PlanStep {
    pub spec: Spec,
    /// The step's state as `step-status` reads it.
    pub status: String,
    pub holder: Option<String>,
    pub category: Category,
    /// The `after` steps not complete yet.
    pub waiting_on: Vec<String>,
}

impl PlanStep {
    pub fn id(&self) -> &str {
        &self.spec.id
    }

    pub fn is_ready(&self) -> bool {
        self.category == Category::Ready
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub complete: usize,
    pub in_progress: usize,
    pub ready: usize,
    pub waiting: usize,
    pub blocked: usize,
    pub needs_review: usize,
}

impl Counts {
    pub fn of<'a>(steps: impl IntoIterator<Item = &'a PlanStep>) -> Counts {
        let mut c = Counts::default();
        for s in steps {
            *match s.category {
                Category::Complete => &mut c.complete,
                Category::InProgress => &mut c.in_progress,
                Category::Ready => &mut c.ready,
                Category::Waiting => &mut c.waiting,
                Category::Blocked => &mut c.blocked,
                Category::NeedsReview => &mut c.needs_review,
            } += 1;
        }
        c
    }

    pub fn total(&self) -> usize {
        self.complete
            + self.in_progress
            + self.ready
            + self.waiting
            + self.blocked
            + self.needs_review
    }

    /// `12 steps: 3 complete · 2 in progress · 4 ready · 2 waiting · 1 blocked`; zero
    /// counts after the first are left out.
    pub fn line(&self) -> String {
        let total = self.total();
        format!(
            "{total} step{}: {}",
            if total == 1 { "" } else { "s" },
            self.tally()
        )
    }

    /// `3 complete · 2 in progress · 4 ready`: [`Counts::line`] without the total.
    pub fn tally(&self) -> String {
        let parts = [
            (self.complete, "complete"),
            (self.in_progress, "in progress"),
            (self.ready, "ready"),
            (self.waiting, "waiting"),
            (self.blocked, "blocked"),
            (self.needs_review, "needs review"),
        ];
        let shown: Vec<String> = parts
            .iter()
            .enumerate()
            .filter(|(i, (n, _))| *i == 0 || *n > 0)
            .map(|(_, (n, what))| format!("{n} {what}"))
            .collect();
        shown.join(" · ")
    }
}

/// Checks `incoming` against the plan as stored (`existing` specs by id) and the other
/// steps the project knows (`known`: any step with a claim or status): ids unique, every
/// `after` step known, no cycle once `incoming` replaces the stored definitions.
pub fn validate(
    existing: &BTreeMap<String, Spec>,
    incoming: &[StepDef],
    known: &HashSet<String>,
) -> Result<(), PlanError> {
    let mut seen: HashMap<&str, &str> = HashMap::new();
    for def in incoming {
        if let Some(first) = seen.insert(&def.id, &def.name) {
            return Err(PlanError::Duplicate {
                first: first.to_string(),
                second: def.name.clone(),
            });
        }
    }
    for def in incoming {
        for after in &def.after {
            if !(seen.contains_key(after.as_str())
                || existing.contains_key(after)
                || known.contains(after))
            {
                return Err(PlanError::UnknownAfter {
                    step: def.name.clone(),
                    after: after.clone(),
                });
            }
        }
    }
    let mut edges: BTreeMap<String, Vec<String>> = existing
        .iter()
        .map(|(id, s)| (id.clone(), s.after.clone()))
        .collect();
    let mut names: HashMap<String, String> = existing
        .iter()
        .map(|(id, s)| (id.clone(), s.display_name().to_string()))
        .collect();
    for def in incoming {
        edges.insert(def.id.clone(), def.after.clone());
        names.insert(def.id.clone(), def.name.clone());
    }
    if let Some(mut cycle) = find_cycle(&edges) {
        // Start the cycle at a step of this change: the one the user just touched.
        cycle.pop();
        if let Some(at) = cycle.iter().position(|id| seen.contains_key(id.as_str())) {
            cycle.rotate_left(at);
        }
        cycle.push(cycle[0].clone());
        let path = cycle
            .iter()
            .map(|id| names.get(id).cloned().unwrap_or_else(|| id.clone()))
            .collect();
        return Err(PlanError::Cycle { path });
    }
    Ok(())
}

/// A cycle in `edges` (step -> the steps it comes after), as the path `a, b, ..., a`.
pub fn find_cycle(edges: &BTreeMap<String, Vec<String>>) -> Option<Vec<String>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        Open,
        Done,
    }
    let mut marks: HashMap<&str, Mark> = HashMap::new();
    for start in edges.keys() {
        if marks.contains_key(start.as_str()) {
            continue;
        }
        // An explicit stack (no recursion: plans may be thousands of steps deep).
        let mut path: Vec<&str> = vec![start];
        let mut next: Vec<usize> = vec![0];
        marks.insert(start, Mark::Open);
        while let Some(&node) = path.last() {
            let i = next.last_mut().expect("parallel stacks");
            let deps = edges.get(node).map(Vec::as_slice).unwrap_or_default();
            if let Some(dep) = deps.get(*i) {
                *i += 1;
                match marks.get(dep.as_str()) {
                    Some(Mark::Open) => {
                        let from = path.iter().position(|n| *n == dep).expect("open on path");
                        // `a after b` is drawn b -> a: report the cycle in work order.
                        let mut cycle: Vec<String> =
                            path[from..].iter().rev().map(|s| s.to_string()).collect();
                        cycle.insert(0, dep.clone());
                        return Some(cycle);
                    }
                    Some(Mark::Done) => {}
                    None => {
                        marks.insert(dep, Mark::Open);
                        path.push(dep);
                        next.push(0);
                    }
                }
            } else {
                marks.insert(node, Mark::Done);
                path.pop();
                next.pop();
            }
        }
    }
    None
}

/// Priority, creation time, id: smaller goes first.
type Rank<'a> = (u8, &'a str, &'a str);

/// The order ready steps are taken in: priority, then creation time, then id.
fn rank(spec: &Spec) -> Rank<'_> {
    (
        spec.priority,
        spec.created_at.as_deref().unwrap_or(""),
        &spec.id,
    )
}

/// Orders the specs so every step comes after the plan steps it depends on; among steps
/// free to go next, the most urgent first. Steps on a cycle (only possible when writers
/// raced) come last, in rank order.
pub fn dependency_order(specs: Vec<Spec>) -> Vec<Spec> {
    let ids: HashSet<&str> = specs.iter().map(|s| s.id.as_str()).collect();
    let mut indegree: HashMap<&str, usize> = HashMap::new();
    let mut dependents: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, s) in specs.iter().enumerate() {
        let deps: BTreeSet<&str> = s
            .after
            .iter()
            .map(String::as_str)
            .filter(|d| ids.contains(d))
            .collect();
        indegree.insert(&s.id, deps.len());
        for d in deps {
            dependents.entry(d).or_default().push(i);
        }
    }
    // A max-heap of reversed ranks pops the best-ranked free step.
    let mut free: BinaryHeap<std::cmp::Reverse<(Rank, usize)>> = specs
        .iter()
        .enumerate()
        .filter(|(_, s)| indegree[s.id.as_str()] == 0)
        .map(|(i, s)| std::cmp::Reverse((rank(s), i)))
        .collect();
    let mut order = Vec::with_capacity(specs.len());
    let mut placed = vec![false; specs.len()];
    while let Some(std::cmp::Reverse((_, i))) = free.pop() {
        order.push(i);
        placed[i] = true;
        for &j in dependents.get(specs[i].id.as_str()).into_iter().flatten() {
            let d = indegree
                .get_mut(specs[j].id.as_str())
                .expect("every spec counted");
            *d -= 1;
            if *d == 0 {
                free.push(std::cmp::Reverse((rank(&specs[j]), j)));
            }
        }
    }
    let mut rest: Vec<usize> = (0..specs.len()).filter(|i| !placed[*i]).collect();
    rest.sort_by(|a, b| rank(&specs[*a]).cmp(&rank(&specs[*b])));
    order.extend(rest);
    let mut slots: Vec<Option<Spec>> = specs.into_iter().map(Some).collect();
    order
        .into_iter()
        .map(|i| slots[i].take().expect("each index once"))
        .collect()
}

/// What each spec's documents (and those of the steps it waits for) make of it, in
/// dependency order. `facts` holds every step with documents; a step absent from it is
/// pending.
pub fn classify(specs: Vec<Spec>, facts: &HashMap<String, Facts>) -> Vec<PlanStep> {
    let pending = Facts::pending();
    let complete = |sid: &str| facts.get(sid).is_some_and(|f| f.state == docs::COMPLETE);
    dependency_order(specs)
        .into_iter()
        .map(|spec| {
            let f = facts.get(&spec.id).unwrap_or(&pending);
            let waiting_on: Vec<String> = spec
                .after
                .iter()
                .filter(|a| !complete(a))
                .cloned()
                .collect();
            let category = match f.state.as_str() {
                docs::COMPLETE => Category::Complete,
                docs::BLOCKED => Category::Blocked,
                docs::NEEDS_REVIEW => Category::NeedsReview,
                _ if !f.claimable => Category::InProgress,
                _ if waiting_on.is_empty() => Category::Ready,
                _ => Category::Waiting,
            };
            PlanStep {
                status: f.state.clone(),
                holder: f.holder.clone(),
                category,
                waiting_on,
                spec,
            }
        })
        .collect()
}

/// The ready steps (with `label`, if given), in the order they are taken.
pub fn ready<'a>(steps: &'a [PlanStep], label: Option<&str>) -> Vec<&'a PlanStep> {
    let mut ready: Vec<&PlanStep> = steps
        .iter()
        .filter(|s| s.is_ready() && label.is_none_or(|l| s.spec.has_label(l)))
        .collect();
    ready.sort_by(|a, b| rank(&a.spec).cmp(&rank(&b.spec)));
    ready
}

/// Where the plan (the steps with `label`, if given) stands for an agent looking for work.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outlook {
    /// At least one step is ready.
    Ready,
    /// Nothing ready now, but held or reviewable steps may still unblock work.
    Later,
    /// Nothing can become ready: what is left is blocked or waits on a blocked step (or on
    /// a step nobody can claim); `stuck_on` names those steps.
    Stuck { stuck_on: Vec<String> },
    /// Every step is complete.
    Complete,
}

pub fn outlook(steps: &[PlanStep], facts: &HashMap<String, Facts>, label: Option<&str>) -> Outlook {
    let scoped: Vec<&PlanStep> = steps
        .iter()
        .filter(|s| label.is_none_or(|l| s.spec.has_label(l)))
        .collect();
    if scoped.iter().any(|s| s.is_ready()) {
        return Outlook::Ready;
    }
    if scoped.iter().all(|s| s.category == Category::Complete) {
        return Outlook::Complete;
    }
    let by_id: HashMap<&str, &PlanStep> = steps.iter().map(|s| (s.id(), s)).collect();
    let mut memo: HashMap<String, bool> = HashMap::new();
    let open = scoped.iter().filter(|s| s.category != Category::Complete);
    if open
        .clone()
        .any(|s| can_progress(s.id(), &by_id, facts, &mut memo, &mut HashSet::new()))
    {
        return Outlook::Later;
    }
    let mut stuck_on: BTreeSet<String> = BTreeSet::new();
    for s in open {
        roots_of_stuck(s.id(), &by_id, facts, &mut stuck_on, &mut HashSet::new());
    }
    Outlook::Stuck {
        stuck_on: stuck_on.into_iter().collect(),
    }
}

/// Whether `sid` can still become complete without someone resolving a blocked step.
fn can_progress(
    sid: &str,
    by_id: &HashMap<&str, &PlanStep>,
    facts: &HashMap<String, Facts>,
    memo: &mut HashMap<String, bool>,
    visiting: &mut HashSet<String>,
) -> bool {
    if let Some(&known) = memo.get(sid) {
        return known;
    }
    if !visiting.insert(sid.to_string()) {
        return false; // a cycle written by racing writers never completes
    }
    let result = match by_id.get(sid) {
        Some(step) => match step.category {
            Category::Complete | Category::Ready | Category::InProgress | Category::NeedsReview => {
                true
            }
            Category::Blocked => false,
            Category::Waiting => step
                .waiting_on
                .iter()
                .all(|d| can_progress(d, by_id, facts, memo, visiting)),
        },
        // A step outside the plan: someone may still claim and complete it by name, unless
        // it is blocked or has no documents at all (nobody knows it).
        None => match facts.get(sid) {
            Some(f) => f.state != docs::BLOCKED,
            None => false,
        },
    };
    visiting.remove(sid);
    memo.insert(sid.to_string(), result);
    result
}

/// The steps at the bottom of what keeps `sid` from progressing: blocked steps, and steps
/// outside the plan that nobody knows.
fn roots_of_stuck(
    sid: &str,
    by_id: &HashMap<&str, &PlanStep>,
    facts: &HashMap<String, Facts>,
    out: &mut BTreeSet<String>,
    visiting: &mut HashSet<String>,
) {
    if !visiting.insert(sid.to_string()) {
        return;
    }
    match by_id.get(sid) {
        Some(step) if step.category == Category::Waiting => {
            for d in &step.waiting_on {
                roots_of_stuck(d, by_id, facts, out, visiting);
            }
        }
        Some(step) if step.category == Category::Blocked => {
            out.insert(step.spec.display_name().to_string());
        }
        Some(_) => {}
        None => {
            if facts.get(sid).is_none_or(|f| f.state == docs::BLOCKED) {
                out.insert(sid.to_string());
            }
        }
    }
}

#[cfg(test)]
#[path = "graph_tests.rs"]
mod tests;
