//! `plan add|apply|rm|show` (contract section 10): change the plan and show it. Checking,
//! writing and reading the plan is `plan.rs`'s; this file reads the input and decides what
//! to say.

use std::io::Read;

use anyhow::Context;
use serde_json::json;

use crate::app::App;
use crate::cli::{PlanAddArgs, PlanArgs, PlanCommand, PlanFormat, PlanShowArgs};
use crate::events::{self, Event};
use crate::ids;
use crate::outcome::{Outcome, UsageError};
use crate::plan::{self, AddFields, Applied, Removed, spec};

pub async fn run(app: &App, args: PlanArgs) -> anyhow::Result<Outcome> {
    match args.command {
        None => show(app, args.show).await,
        Some(PlanCommand::Show(show_args)) => show(app, show_args).await,
        Some(PlanCommand::Add(add_args)) => add(app, add_args).await,
        Some(PlanCommand::Apply { file }) => apply(app, &file).await,
        Some(PlanCommand::Rm { step }) => rm(app, &step).await,
    }
}

fn check_label_flag(label: Option<&str>) -> Result<(), UsageError> {
    match label {
        Some(l) => spec::check_label(l)
            .map_err(|why| UsageError::new(format!("invalid label '{l}': {why}"))),
        None => Ok(()),
    }
}

async fn show(app: &App, args: PlanShowArgs) -> anyhow::Result<Outcome> {
    check_label_flag(args.label.as_deref())?;
    let label = args.label.as_deref();
    let view = plan::load(app).await?;
    let steps: Vec<plan::PlanStep> = view.scoped(label).into_iter().cloned().collect();
    let counts = plan::Counts::of(&steps);
    let human = match args.format {
        PlanFormat::Text => plan::render::text(&steps, &counts),
        PlanFormat::Mermaid => plan::render::mermaid(&steps, &view.facts),
        PlanFormat::Dot => plan::render::dot(&steps, &view.facts),
    };
    app.printer.result(human, &view.to_json(label));
    Ok(Outcome::Success)
}

fn applied_line(a: &Applied) -> String {
    format!(
        "Plan applied: {} added, {} updated, {} unchanged",
        a.added.len(),
        a.updated.len(),
        a.unchanged.len()
    )
}

fn applied_json(a: &Applied) -> serde_json::Value {
    json!({"added": a.added, "updated": a.updated, "unchanged": a.unchanged})
}

async fn add(app: &App, args: PlanAddArgs) -> anyhow::Result<Outcome> {
    ids::normalize_step(&args.step)?;
    let fields = AddFields {
        title: args.title,
        after: (!args.after.is_empty()).then_some(args.after),
        labels: (!args.labels.is_empty()).then_some(args.labels),
        priority: args.priority,
        description: args.description,
    };
    let (applied, spec) = plan::add(app, &args.step, fields).await?;
    if applied.unchanged.is_empty() {
        let event = Event::new(if applied.added.is_empty() {
            "plan.update"
        } else {
            "plan.add"
        })
        .step(Some(&args.step))
        .key(crate::keys::step_spec(&spec.id))
        .with("after", &spec.after)
        .with("priority", spec.priority);
        tokio::join!(app.refresh_presence(None, None), events::record(app, event));
    } else {
        app.refresh_presence(None, None).await;
    }
    let verb = if !applied.added.is_empty() {
        "Added"
    } else if !applied.updated.is_empty() {
        "Updated"
    } else {
        "Unchanged:"
    };
    let mut line = format!("{verb} step {} (p{})", spec.display_name(), spec.priority);
    if !spec.after.is_empty() {
        line.push_str(&format!(" after {}", spec.after.join(", ")));
    }
    if !spec.title.is_empty() {
        line.push_str(&format!(": {}", spec.title));
    }
    let mut out = applied_json(&applied);
    out["spec"] = serde_json::to_value(&spec)?;
    app.printer.result(line, &out);
    Ok(Outcome::Success)
}

async fn apply(app: &App, file: &str) -> anyhow::Result<Outcome> {
    let text = if file == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .context("cannot read the plan from standard input")?;
        text
    } else {
        std::fs::read_to_string(file)
            .map_err(|e| UsageError::new(format!("cannot read the plan file '{file}': {e}")))?
    };
    let is_toml = file.to_ascii_lowercase().ends_with(".toml");
    let inputs = spec::parse_file(&text, is_toml)?;
    if inputs.is_empty() {
        return Err(UsageError::new(format!("the plan file '{file}' has no steps")).into());
    }
    let applied = plan::apply(app, &inputs).await?;
    if !(applied.added.is_empty() && applied.updated.is_empty()) {
        let event = Event::new("plan.apply")
            .with("added", &applied.added)
            .with("updated", &applied.updated)
            .with("unchanged", applied.unchanged.len());
        tokio::join!(app.refresh_presence(None, None), events::record(app, event));
    }
    app.printer
        .result(applied_line(&applied), &applied_json(&applied));
    Ok(Outcome::Success)
}

async fn rm(app: &App, step: &str) -> anyhow::Result<Outcome> {
    let sid = ids::normalize_step(step)?;
    match plan::remove(app, &sid).await? {
        Removed::Removed(spec) => {
            let event = Event::new("plan.rm")
                .step(Some(step))
                .key(crate::keys::step_spec(&sid));
            events::record(app, event).await;
            app.printer.result(
                format!("Removed step {} from the plan", spec.display_name()),
                &json!({"removed": true, "step": step, "id": sid}),
            );
            Ok(Outcome::Success)
        }
        Removed::Needed(by) => {
            app.printer.refusal(
                format!(
                    "Step {step} is still needed: {} come{} after it",
                    by.join(", "),
                    if by.len() == 1 { "s" } else { "" }
                ),
                Some(
                    "remove or change those steps first (plan add STEP --after ..., or plan apply)",
                ),
                &json!({"removed": false, "step": step, "id": sid, "needed_by": by}),
            );
            Ok(Outcome::Conflict)
        }
        Removed::NotInPlan => Err(anyhow::anyhow!("step '{step}' is not in the plan")),
    }
}
