//! `gc --older-than D [--dry-run] [--include messages,sessions]`: deletes old broadcasts,
//! events, acknowledgements and memory history snapshots (and with `--include` direct
//! messages, thread entries and session transcripts), never live state (contract
//! section 13). The decisions are in [`crate::retention`]; `--dry-run` prints the same
//! plan a real run deletes.

use serde_json::{Map, Value, json};

use crate::app::App;
use crate::cli::{GcArgs, GcInclude};
use crate::events::{self, Event};
use crate::lease;
use crate::outcome::Outcome;
use crate::retention::{self, Include};
use crate::time;

pub async fn run(app: &App, args: GcArgs) -> anyhow::Result<Outcome> {
    let age = lease::parse_ttl(&args.older_than)?;
    let now = time::now();
    let cutoff = now - chrono::Duration::from_std(age).unwrap_or(chrono::Duration::MAX);
    let include = Include {
        messages: args.include.contains(&GcInclude::Messages),
        sessions: args.include.contains(&GcInclude::Sessions),
    };
    let plan = retention::plan(app, cutoff, include).await?;

    if !args.dry_run && plan.total() > 0 {
        let mut event = Event::new("gc").with("older_than", &args.older_than);
        for (kind, keys) in &plan.kinds {
            event = event.with(kind.name(), keys.len());
        }
        events::alongside(app, event, retention::execute(app, &plan)).await?;
    }

    let verb = if args.dry_run {
        "Would delete"
    } else {
        "Deleted"
    };
    let mut human = vec![format!(
        "{verb} {} object(s) older than {} (before {}):",
        plan.total(),
        args.older_than,
        time::format(plan.cutoff)
    )];
    let mut kinds = Map::new();
    for (kind, keys) in &plan.kinds {
        human.push(format!("  {:<16} {}", kind.name(), keys.len()));
        if args.dry_run {
            human.extend(keys.iter().map(|k| format!("    {k}")));
        } else {
            for k in keys {
                app.printer.debug(format!("deleted {k}"));
            }
        }
        kinds.insert(
            kind.name().to_string(),
            json!({"count": keys.len(), "keys": keys}),
        );
    }
    app.printer.result(
        human.join("\n"),
        &json!({
            "dry_run": args.dry_run,
            "older_than": args.older_than,
            "cutoff": time::format(plan.cutoff),
            "total": plan.total(),
            "kinds": Value::Object(kinds),
        }),
    );
    Ok(Outcome::Success)
}
