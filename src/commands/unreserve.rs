//! `unreserve ID...|PATTERN...|--all [--force]`: release the caller's reservations. An id
//! releases the whole reservation, a pattern only that pattern. Another agent's is exit 3
//! unless `--force`; an item matching no live reservation is exit 3 too. All or nothing.

use serde_json::json;

use crate::app::App;
use crate::cli::UnreserveArgs;
use crate::events::{self, Event};
use crate::keys;
use crate::outcome::Outcome;
use crate::reservations::{Release, Reservations, Selector};

pub async fn run(app: &App, args: UnreserveArgs) -> anyhow::Result<Outcome> {
    let res = Reservations::new(app.store.as_ref(), app.agent());
    let sel = if args.all {
        Selector::All
    } else {
        Selector::Items(args.items.clone())
    };
    let event = Event::new("unreserve")
        .key(keys::reservations_index())
        .with("items", &args.items)
        .with("all", args.all)
        .with("force", args.force);
    let released = |r: &anyhow::Result<Release>| matches!(r, Ok(rep) if !rep.released.is_empty() && rep.refused.is_empty() && rep.unknown.is_empty());
    let report = events::alongside_if(
        app,
        event,
        async {
            res.release(&sel, args.force)
                .await
                .map_err(anyhow::Error::from)
        },
        released,
    )
    .await?;
    let json = json!({
        "released": report.released.iter().map(|r| json!({
            "id": r.id, "agent": r.agent, "patterns": r.patterns,
        })).collect::<Vec<_>>(),
        "refused": report.refused.iter().map(|(item, holder)| json!({"item": item, "holder": holder})).collect::<Vec<_>>(),
        "unknown": report.unknown,
    });
    if !report.refused.is_empty() || !report.unknown.is_empty() {
        let mut lines = vec!["nothing was released:".to_string()];
        lines.extend(
            report
                .refused
                .iter()
                .map(|(item, holder)| format!("  {item}: reserved by {holder}, not you")),
        );
        lines.extend(
            report
                .unknown
                .iter()
                .map(|item| format!("  {item}: no live reservation matches")),
        );
        let hint = (!report.refused.is_empty())
            .then_some("pass --force to release another agent's reservation anyway");
        app.printer.refusal(lines.join("\n"), hint, &json);
        return Ok(Outcome::Conflict);
    }
    let human = if report.released.is_empty() {
        "No reservations to release.".to_string()
    } else {
        let lines: Vec<String> = report
            .released
            .iter()
            .map(|r| {
                let whose = if r.agent == app.agent() {
                    String::new()
                } else {
                    format!(" (forced, held by {})", r.agent)
                };
                format!("Released {} ({}){whose}", r.id, r.patterns.join(", "))
            })
            .collect();
        lines.join("\n")
    };
    app.printer.result(human, &json);
    Ok(Outcome::Success)
}
