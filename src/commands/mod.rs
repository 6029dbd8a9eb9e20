//! One file per command; this file only dispatches. Every command but `init` and
//! `completions` runs with an [`App`]: the loaded config and its store.

use crate::app::App;
use crate::cli::{Cli, Command};
use crate::outcome::Outcome;
use crate::output::Printer;

pub mod ack;
pub mod agents;
pub mod artifact;
pub mod claim;
pub mod complete;
pub mod completions;
pub mod doctor;
pub mod gc;
pub mod guard;
pub mod handoff;
pub mod heartbeat;
pub mod hook;
pub mod inbox;
pub mod init;
pub mod log;
pub mod mcp;
pub mod memory;
pub mod plan;
pub mod prime;
pub mod ready;
pub mod release;
pub mod renew;
pub mod reply;
pub mod reservations;
pub mod reserve;
pub mod send;
pub mod session;
pub mod setup;
pub mod status;
pub mod step_status;
pub mod thread;
pub mod unreserve;
pub mod wait_for;

pub async fn run(cli: Cli, printer: &Printer) -> anyhow::Result<Outcome> {
    let command = match cli.command {
        Command::Init(args) => return init::run(args, printer).await,
        Command::Completions(args) => return completions::run(args),
        // The hook must decide for itself when the config or store cannot be opened.
        Command::Guard(cmd) => return guard::dispatch(cmd, printer).await,
        // The hook loads the config itself: a throttled call must not even open the store.
        Command::Hook(args) => return Ok(hook::run(args, printer).await),
        Command::Setup(args) => return setup::run(args, printer),
        other => other,
    };
    let app = App::open(printer).await?;
    if let Command::Mcp = command {
        return mcp::run(app).await;
    }
    dispatch(&app, command).await
}

/// Runs a command with an opened [`App`]: what `main` does after loading the config, and
/// what the MCP server does for each tool call with the App it keeps open.
pub async fn dispatch(app: &App, command: Command) -> anyhow::Result<Outcome> {
    match command {
        Command::Agents => agents::run(app).await,
        Command::Status(args) => status::run(app, args).await,
        Command::Memory(cmd) => memory::run(app, cmd).await,
        Command::Send(args) => send::run(app, args).await,
        Command::Inbox(args) => inbox::run(app, args).await,
        Command::Claim(args) => claim::run(app, args).await,
        Command::Complete(args) => complete::run(app, args).await,
        Command::Renew(args) => renew::run(app, args).await,
        Command::Release(args) => release::run(app, args).await,
        Command::Heartbeat(args) => heartbeat::run(app, args).await,
        Command::StepStatus(args) => step_status::run(app, args).await,
        Command::Handoff(args) => handoff::run(app, args).await,
        Command::WaitFor(args) => wait_for::run(app, args).await,
        Command::Artifact(cmd) => artifact::run(app, cmd).await,
        Command::Doctor => doctor::run(app).await,
        Command::Session(cmd) => session::run(app, cmd).await,
        Command::Plan(args) => plan::run(app, args).await,
        Command::Ready(args) => ready::run(app, args).await,
        Command::Reserve(args) => reserve::run(app, args).await,
        Command::Reservations(args) => reservations::run(app, args).await,
        Command::Unreserve(args) => unreserve::run(app, args).await,
        Command::Reply(args) => reply::run(app, args).await,
        Command::Thread(args) => thread::run(app, args).await,
        Command::Ack(args) => ack::ack(app, args).await,
        Command::Acks(args) => ack::acks(app, args).await,
        Command::Log(args) => log::run(app, args).await,
        Command::Gc(args) => gc::run(app, args).await,
        Command::Prime(args) => prime::run(app, args).await,
        Command::Init(_)
        | Command::Completions(_)
        | Command::Guard(_)
        | Command::Hook(_)
        | Command::Setup(_) => Err(crate::outcome::UsageError::new(
            "this command does not run with an open config",
        )
        .into()),
        Command::Mcp => Err(crate::outcome::UsageError::new("the MCP server does not nest").into()),
    }
}

/// Refuses (exit 3, nothing written) a write about `step` by an agent whose claim on it was
/// taken over; `None` lets the write go ahead.
async fn fence(app: &App, step: &str, sid: &str, what: &str) -> anyhow::Result<Option<Outcome>> {
    let claims = crate::claims::Claims::new(app.store.as_ref(), app.agent());
    let Some(holder) = claims.fenced(sid).await? else {
        return Ok(None);
    };
    app.printer.refusal(
        format!("your claim on step {step} was taken over by {holder}; refusing to {what} for it"),
        Some("nothing was written: stop working on this step, or claim another"),
        &serde_json::json!({"step": step, "id": sid, "holder": holder, "fenced": true}),
    );
    Ok(Some(Outcome::Conflict))
}
