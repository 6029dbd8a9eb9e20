//! The bootstrap block of contract section 11: what an agent starting or resuming work
//! needs to know, built from a handful of requests (its presence record, its claims, its
//! unread messages, and the sections other capabilities add). `prime` prints it; the
//! `session-start` hook injects it into the agent's context.
//!
//! Every section is one field of [`Prime`] filled by one function: [`ready_steps`] (the
//! work graph, section 10, `None` without a plan) and [`own_reservations`] (path
//! reservations, section 12). A `None` section is left out of the text and is `null` in
//! the JSON.

use serde_json::{Value, json};

use crate::app::App;
use crate::claims::Claims;
use crate::docs::Agent;
use crate::lease::Standing;
use crate::mailbox::{self, Query, Read};
use crate::reservations::Reservations;

/// The default size limit of the text, in characters.
pub const MAX_CHARS: usize = 2_000;
/// Unread messages shown (newest first); the total is always given.
pub const MESSAGES_SHOWN: usize = 5;
/// Ready steps shown (contract section 11: the top five).
pub const READY_SHOWN: usize = 5;
/// Longest message text shown before it is cut with `…`.
const MESSAGE_CHARS: usize = 240;
/// The commands an agent uses most, shown at the end of the block.
pub const COMMANDS: [&str; 5] = [
    "tracecraft claim STEP --ttl 10m",
    "tracecraft complete STEP --note TEXT",
    "tracecraft heartbeat --summary TEXT",
    "tracecraft inbox --new",
    "tracecraft send AGENT MESSAGE",
];

/// One line of a section, with its JSON form.
#[derive(Clone, Debug)]
pub struct Item {
    pub text: String,
    pub json: Value,
}

/// A claim the agent holds.
#[derive(Clone, Debug)]
pub struct HeldClaim {
    pub step: String,
    pub generation: u64,
    pub standing: Standing,
}

pub struct Prime {
    pub agent: String,
    pub project: String,
    pub backend: &'static str,
    pub location: String,
    pub presence: Option<Agent>,
    pub claims: Vec<HeldClaim>,
    /// Unread messages: the newest few, and how many there are in all. Kept as the
    /// mailbox read so a caller that shows them can mark them read.
    pub unread: Read,
    /// Ready steps, top five (section 10); `None` until the work graph exists.
    pub ready: Option<Vec<Item>>,
    /// The agent's path reservations (section 12).
    pub reservations: Option<Vec<Item>>,
    /// Messages that asked the agent to acknowledge them and await it (section 13).
    pub acks: Option<Vec<Item>>,
}

/// Reads everything the block needs, concurrently: presence, own claims, unread messages
/// (the newest [`MESSAGES_SHOWN`] bodies), and the optional sections. Marks nothing read.
pub async fn gather(app: &App) -> anyhow::Result<Prime> {
    let claims = Claims::new(app.store.as_ref(), app.agent());
    // The caller's claims through its own-claims index (section 14): a few requests,
    // whatever the project's size.
    let held = async {
        let mut cache = app.doc_cache("steps");
        let every = crate::claims::index::scan_every(app.config.claim_ttl()?);
        let found = claims.own(&mut cache, every).await?;
        app.save_cache(&mut cache);
        anyhow::Ok(found.held)
    };
    let (presence, held, unread, ready, reservations, acks) = tokio::join!(
        app.presence(),
        held,
        mailbox::read(
            app,
            Query {
                new: true,
                limit: Some(MESSAGES_SHOWN),
            },
        ),
        ready_steps(app),
        own_reservations(app),
        pending_acks(app),
    );
    let mut claims: Vec<HeldClaim> = held?
        .into_iter()
        .filter(|(_, cur)| !matches!(cur.standing, Standing::Finished | Standing::Released))
        .map(|(step, cur)| HeldClaim {
            step,
            generation: cur.claim.generation(),
            standing: cur.standing,
        })
        .collect();
    claims.sort_by(|a, b| a.step.cmp(&b.step));
    Ok(Prime {
        agent: app.agent().to_string(),
        project: app.config.project.clone(),
        backend: app.store.backend(),
        location: app.store.location(),
        presence: presence?,
        claims,
        unread: unread?,
        ready: ready?,
        reservations: reservations?,
        acks: acks?,
    })
}

/// The plan's ready steps, the top [`READY_SHOWN`]; `None` without a plan. Read through
/// the document cache, so a repeated prime fetches only what changed.
async fn ready_steps(app: &App) -> anyhow::Result<Option<Vec<Item>>> {
    let view = crate::plan::load(app).await?;
    if view.is_empty() {
        return Ok(None);
    }
    Ok(Some(
        view.ready(None)
            .into_iter()
            .take(READY_SHOWN)
            .map(|s| Item {
                text: format!(
                    "{}  p{}  {}",
                    s.spec.display_name(),
                    s.spec.priority,
                    s.spec.title
                ),
                json: json!({
                    "id": s.spec.id,
                    "name": s.spec.display_name(),
                    "title": s.spec.title,
                    "priority": s.spec.priority,
                }),
            })
            .collect(),
    ))
}

/// The messages awaiting the agent's acknowledgement: one listing of `acks/` and the
/// open requests (kept small by `gc`); `None` when there are none, so the block stays short.
async fn pending_acks(app: &App) -> anyhow::Result<Option<Vec<Item>>> {
    let pending = crate::messaging::acks::pending_for(app, app.agent()).await?;
    if pending.is_empty() {
        return Ok(None);
    }
    Ok(Some(
        pending
            .into_iter()
            .map(|a| Item {
                text: format!(
                    "{} from {}: {} (`tracecraft ack {}`)",
                    crate::messaging::short_id(&a.id),
                    a.request.from,
                    truncate(a.message.as_deref().unwrap_or("?"), MESSAGE_CHARS),
                    crate::messaging::short_id(&a.id)
                ),
                json: json!({"id": a.id, "from": a.request.from, "message": a.message}),
            })
            .collect(),
    ))
}

/// The agent's own live path reservations (one read of the index); `None` when it holds
/// none.
async fn own_reservations(app: &App) -> anyhow::Result<Option<Vec<Item>>> {
    let me = app.agent();
    let live = Reservations::new(app.store.as_ref(), me).live().await?;
    let mine: Vec<_> = live
        .into_iter()
        .filter(|l| l.reservation.agent == me)
        .collect();
    if mine.is_empty() {
        return Ok(None);
    }
    Ok(Some(
        mine.into_iter()
            .map(|l| Item {
                text: format!(
                    "{} ({}, id {}, {})",
                    l.reservation.patterns.join(", "),
                    l.reservation.mode(),
                    l.reservation.id,
                    l.standing.describe()
                ),
                json: json!({
                    "id": l.reservation.id,
                    "patterns": l.reservation.patterns,
                    "exclusive": l.reservation.exclusive,
                    "reason": l.reservation.reason,
                    "step": l.reservation.step,
                    "expires_at": l.reservation.expires_at,
                    "state": l.standing.name(),
                }),
            })
            .collect(),
    ))
}

impl Prime {
    /// The block as text, at most `max_chars` characters: sections are cut from the end
    /// of their lists (saying how many were left out) until it fits.
    pub fn text(&self, max_chars: usize) -> String {
        let mut shown = self.unread.messages.len();
        loop {
            let text = self.render(shown);
            if text.chars().count() <= max_chars || shown == 0 {
                return truncate(&text, max_chars);
            }
            shown -= 1;
        }
    }

    fn render(&self, messages_shown: usize) -> String {
        let mut out = vec![format!(
            "tracecraft: you are agent {} in project {} (backend {}: {}).",
            self.agent, self.project, self.backend, self.location
        )];
        if let Some(p) = &self.presence {
            let summary = p.summary.as_deref().filter(|s| !s.is_empty());
            match (summary, &p.step) {
                (Some(s), Some(step)) => out.push(format!("Last doing: {s} (step {step}).")),
                (Some(s), None) => out.push(format!("Last doing: {s}.")),
                (None, Some(step)) => out.push(format!("Last on step {step}.")),
                (None, None) => {}
            }
        }
        if self.claims.is_empty() {
            out.push("Claims: none.".into());
        } else {
            let list: Vec<String> = self
                .claims
                .iter()
                .map(|c| {
                    format!(
                        "{} (gen {}, {})",
                        c.step,
                        c.generation,
                        c.standing.describe()
                    )
                })
                .collect();
            out.push(format!(
                "Claims ({}): {}. Renew with `tracecraft heartbeat`.",
                self.claims.len(),
                list.join(", ")
            ));
        }
        let total = self.unread.total;
        if total == 0 {
            out.push("Unread messages: none.".into());
        } else {
            let newest: Vec<_> = self.newest_first().take(messages_shown).collect();
            let more = if newest.len() < total {
                format!(
                    " (newest {} shown; `tracecraft inbox --new` for all)",
                    newest.len()
                )
            } else {
                String::new()
            };
            out.push(format!("Unread messages: {total}{more}:"));
            for m in newest {
                let step = m
                    .message
                    .step
                    .as_deref()
                    .map(|s| format!(" [step {s}]"))
                    .unwrap_or_default();
                out.push(format!(
                    "- {} ({}){step} at {}: {}",
                    m.message.from,
                    m.kind.name(),
                    m.message.sent_at.as_deref().unwrap_or("?"),
                    truncate(&m.message.message, MESSAGE_CHARS)
                ));
            }
        }
        for (title, items) in [
            ("Ready steps", &self.ready),
            ("Your reservations", &self.reservations),
            ("Awaiting your acknowledgement", &self.acks),
        ] {
            let Some(items) = items else { continue };
            if items.is_empty() {
                out.push(format!("{title}: none."));
            } else {
                out.push(format!("{title}:"));
                out.extend(items.iter().map(|i| format!("- {}", i.text)));
            }
        }
        out.push(format!("Commands: {}.", COMMANDS.join(" | ")));
        out.join("\n")
    }

    fn newest_first(&self) -> impl Iterator<Item = &mailbox::Shown> {
        self.unread.messages.iter().rev()
    }

    /// The same as fields: `--json` of `prime`.
    pub fn to_json(&self) -> Value {
        let items = |s: &Option<Vec<Item>>| {
            s.as_ref()
                .map(|items| items.iter().map(|i| i.json.clone()).collect::<Vec<_>>())
        };
        json!({
            "agent": self.agent,
            "project": self.project,
            "backend": self.backend,
            "location": self.location,
            "presence": self.presence.as_ref().map(|p| json!({
                "step": p.step,
                "summary": p.summary,
                "heartbeat": p.heartbeat,
            })),
            "claims": self.claims.iter().map(|c| json!({
                "step": c.step,
                "generation": c.generation,
                "state": c.standing.name(),
                "lease_left_s": c.standing.left_s(),
            })).collect::<Vec<_>>(),
            "unread": self.unread.total,
            "messages": self.newest_first().map(|m| json!({
                "key": m.key,
                "kind": m.kind.name(),
                "from": m.message.from,
                "message": m.message.message,
                "sent_at": m.message.sent_at,
                "step": m.message.step,
            })).collect::<Vec<_>>(),
            "ready": items(&self.ready),
            "reservations": items(&self.reservations),
            "acks": items(&self.acks),
            "commands": COMMANDS,
        })
    }
}

/// `text` cut to at most `max` characters, ending in `…` when cut.
pub fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    if max == 0 {
        return String::new();
    }
    let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncate_counts_characters_and_marks_the_cut() {
        assert_eq!(truncate("héllo", 5), "héllo");
        assert_eq!(truncate("héllo wörld", 6), "héllo…");
        assert_eq!(truncate("abc", 1), "…");
        assert_eq!(truncate("abc", 0), "");
    }
}
