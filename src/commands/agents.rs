//! `agents`: who is on the team, whether each is live (heartbeat within 300 s), what step
//! each works on, and the claims each holds with their generation and time left.

use serde_json::json;

use crate::app::{App, STALE_AFTER, decode};
use crate::docs::Agent;
use crate::keys;
use crate::lease::Standing;
use crate::outcome::Outcome;
use crate::steps::{self, StepView};
use crate::time;

/// One agent as `agents` and `status` show it.
#[derive(Clone, Debug)]
pub struct AgentRow {
    pub agent: Agent,
    pub live: &'static str,
    pub age_s: Option<i64>,
    /// The claims it holds: step id, generation, lease standing.
    pub claims: Vec<(String, u64, Standing)>,
}

impl AgentRow {
    pub fn to_json(&self) -> serde_json::Value {
        json!({
            "id": self.agent.id,
            "status": self.live,
            "step": self.agent.step,
            "heartbeat": self.agent.heartbeat,
            "heartbeat_age_s": self.age_s,
            "summary": self.agent.summary,
            "claims": self.claims.iter().map(|(sid, generation, standing)| json!({
                "id": sid,
                "generation": generation,
                "state": standing.name(),
                "lease_left_s": standing.left_s(),
            })).collect::<Vec<_>>(),
        })
    }

    /// `build (gen 2, 3m left), test (gen 1, no lease)`, or `-`.
    pub fn claims_text(&self) -> String {
        if self.claims.is_empty() {
            return "-".into();
        }
        self.claims
            .iter()
            .map(|(sid, generation, standing)| {
                format!("{sid} (gen {generation}, {})", standing.describe())
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    pub fn age(&self) -> String {
        match self.age_s {
            Some(s) => format!("{} ago", time::age_secs(s)),
            None => "unknown".into(),
        }
    }
}

/// Every presence record with the claims each agent holds, sorted by id.
pub async fn rows(app: &App) -> anyhow::Result<Vec<AgentRow>> {
    let (rows, steps) = tokio::join!(presence_rows(app), steps::read_all(app));
    let mut rows = rows?;
    attach_claims(&mut rows, &steps?);
    Ok(rows)
}

/// Fills each row's claims from the steps its agent holds.
pub fn attach_claims(rows: &mut [AgentRow], steps: &[StepView]) {
    for row in rows {
        row.claims = steps
            .iter()
            .filter(|v| v.holder() == Some(row.agent.id.as_str()))
            .filter_map(|v| v.claim.as_ref().map(|c| (v, c)))
            .map(|(v, c)| (v.sid.clone(), c.claim.generation(), c.standing))
            .collect();
    }
}

/// Every presence record, sorted by id, without claims; corrupt ones are reported and
/// skipped. Read through the document cache: a repeated call fetches only changed records.
pub async fn presence_rows(app: &App) -> anyhow::Result<Vec<AgentRow>> {
    let listing = app.store.list(keys::AGENTS_DIR, None).await?;
    let now = time::now();
    let mut cache = app.doc_cache("agents");
    let fetched = cache
        .read_listed(app.store.as_ref(), &listing, |k| {
            keys::agent_of(k).is_some()
        })
        .await?;
    app.save_cache(&mut cache);
    let mut rows = Vec::new();
    for obj in fetched {
        let agent: Agent = match decode(&obj.meta.key, &obj.body) {
            Ok(a) => a,
            Err(e) => {
                app.printer.warn(format!("skipping {e}"));
                continue;
            }
        };
        let age_s = agent
            .heartbeat
            .as_deref()
            .and_then(time::parse)
            .map(|t| (now - t).num_seconds().max(0));
        let live = match age_s {
            Some(s) if s <= STALE_AFTER.as_secs() as i64 => "active",
            _ => "stale",
        };
        rows.push(AgentRow {
            agent,
            live,
            age_s,
            claims: vec![],
        });
    }
    rows.sort_by(|a, b| a.agent.id.cmp(&b.agent.id));
    Ok(rows)
}

pub async fn run(app: &App) -> anyhow::Result<Outcome> {
    let rows = rows(app).await?;
    let human = if rows.is_empty() {
        "No agents found.".to_string()
    } else {
        let mut lines = vec![format!(
            "{:<25} {:<8} {:<20} {:<14} {}",
            "ID", "STATUS", "STEP", "HEARTBEAT", "CLAIMS"
        )];
        for r in &rows {
            lines.push(format!(
                "{:<25} {:<8} {:<20} {:<14} {}",
                r.agent.id,
                r.live,
                r.agent.step.as_deref().unwrap_or("-"),
                r.age(),
                r.claims_text()
            ));
        }
        lines.join("\n")
    };
    app.printer.result(
        human,
        &json!({"agents": rows.iter().map(AgentRow::to_json).collect::<Vec<_>>()}),
    );
    Ok(Outcome::Success)
}
