//! `ready [--label L] [--limit N]`: the plan's steps ready to claim, in the order
//! `claim --next` takes them (contract section 10). Always exit 0.

use serde_json::json;

use crate::app::App;
use crate::cli::ReadyArgs;
use crate::outcome::{Outcome, UsageError};
use crate::plan::{self, spec};

pub async fn run(app: &App, args: ReadyArgs) -> anyhow::Result<Outcome> {
    if let Some(l) = &args.label {
        spec::check_label(l)
            .map_err(|why| UsageError::new(format!("invalid label '{l}': {why}")))?;
    }
    let label = args.label.as_deref();
    let view = plan::load(app).await?;
    let mut ready = view.ready(label);
    if let Some(limit) = args.limit {
        ready.truncate(limit);
    }
    let width = ready
        .iter()
        .map(|s| s.spec.display_name().chars().count())
        .max()
        .unwrap_or(0);
    let human = if ready.is_empty() {
        "No ready steps.".to_string()
    } else {
        ready
            .iter()
            .map(|s| {
                format!(
                    "{:<width$}  p{}  {}",
                    s.spec.display_name(),
                    s.spec.priority,
                    s.spec.title
                )
                .trim_end()
                .to_string()
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    app.printer.result(
        human,
        &json!({
            "ready": ready.iter().map(|s| json!({
                "id": s.spec.id,
                "name": s.spec.display_name(),
                "title": s.spec.title,
                "priority": s.spec.priority,
                "labels": s.spec.labels,
            })).collect::<Vec<_>>(),
            "counts": view.counts(label),
        }),
    );
    Ok(Outcome::Success)
}
