//! The MCP server of contract section 11 (`tracecraft mcp`), on the official Rust SDK
//! (`rmcp`) over stdio. A tool is a thin mapping to a command: its arguments become the
//! command's own command-line words, which clap parses exactly as on the command line,
//! and the command runs through [`commands::dispatch`] with its output captured
//! ([`output::capture`]). The result is the command's `--json` object; a refusal or an
//! error is a tool error carrying its `Error:` text. Adding a tool is one [`Tool`] entry
//! in [`TOOLS`]: a name, a short description (agents pay for every token of it), its
//! arguments, and the function that turns them into words.
//!
//! One process serves many calls: the config and the store client are opened once.
//! Nothing but the protocol goes to stdout.

use std::rc::Rc;

use anyhow::Context;
use tokio::sync::{mpsc, oneshot};

use clap::Parser;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation,
    InitializeResult, JsonObject, ListToolsResult, PaginatedRequestParams, ServerCapabilities,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData as McpError, RoleServer, ServerHandler, ServiceExt};
use serde_json::{Value, json};

use crate::app::App;
use crate::cli::Cli;
use crate::commands;
use crate::outcome;
use crate::output;

mod tools;
use tools::{Arg, LINES_TOOL};
pub use tools::{TOOLS, Tool, Words, command_line};

fn schema(args: &[Arg]) -> JsonObject {
    let properties: serde_json::Map<String, Value> = args
        .iter()
        .map(|(name, kind, _, description)| {
            let mut p = json!({"type": kind, "description": description});
            if *kind == "array" {
                p["items"] = json!({"type": "string"});
            }
            (name.to_string(), p)
        })
        .collect();
    let required: Vec<&str> = args.iter().filter(|a| a.2).map(|a| a.0).collect();
    let mut schema = json!({"type": "object", "properties": properties});
    if !required.is_empty() {
        schema["required"] = json!(required);
    }
    match schema {
        Value::Object(map) => map,
        _ => unreachable!("built as an object"),
    }
}

/// A tool call handed to the worker, and where its answer goes.
type Job = (
    String,
    JsonObject,
    oneshot::Sender<Result<CallToolResult, McpError>>,
);

/// The protocol side: every call is handed to the worker thread that owns the App, so the
/// futures rmcp asks for stay `Send` while the commands' own futures need not be.
#[derive(Clone)]
struct Server {
    jobs: mpsc::UnboundedSender<Job>,
    /// Said once at initialisation: who the tools act as.
    instructions: String,
}

/// Runs the commands on a thread of their own (a current-thread runtime with a `LocalSet`,
/// as the command line runs them), several calls at once, with the App opened once.
fn worker(app: App) -> std::io::Result<mpsc::UnboundedSender<Job>> {
    let (tx, mut rx) = mpsc::unbounded_channel::<Job>();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    std::thread::Builder::new()
        .name("tracecraft-mcp".into())
        .spawn(move || {
            let app = Rc::new(app);
            let local = tokio::task::LocalSet::new();
            local.block_on(&runtime, async move {
                while let Some((name, args, reply)) = rx.recv().await {
                    let app = Rc::clone(&app);
                    tokio::task::spawn_local(async move {
                        let _ = reply.send(call(&app, &name, &args).await);
                    });
                }
            });
        })?;
    Ok(tx)
}

async fn call(app: &App, name: &str, args: &JsonObject) -> Result<CallToolResult, McpError> {
    {
        let tool = TOOLS
            .iter()
            .find(|t| t.name == name)
            .ok_or_else(|| McpError::invalid_params(format!("unknown tool '{name}'"), None))?;
        let argv = match command_line(tool, args) {
            Ok(argv) => argv,
            Err(message) => return Ok(tool_error(&message, None)),
        };
        let cli = match Cli::try_parse_from(&argv) {
            Ok(cli) => cli,
            Err(e) => return Ok(tool_error(e.render().to_string().trim(), None)),
        };
        let (code, captured) = output::capture(async {
            match commands::dispatch(app, cli.command).await {
                Ok(outcome) => outcome.code(),
                Err(err) => outcome::report(&app.printer, &err),
            }
        })
        .await;
        // `log` prints JSON Lines: its result gathers them.
        let json = if name == LINES_TOOL {
            Some(json!({"events": captured.json_lines()}))
        } else {
            captured.json()
        };
        if code == 0 {
            let json = json.unwrap_or_else(|| json!({}));
            let mut result = CallToolResult::success(vec![ContentBlock::text(json.to_string())]);
            result.structured_content = Some(json);
            Ok(result)
        } else {
            let text = captured.error_text();
            let text = if text.is_empty() {
                format!("{name} failed (exit {code})")
            } else {
                text
            };
            Ok(tool_error(&text, json))
        }
    }
}

fn tool_error(text: &str, json: Option<Value>) -> CallToolResult {
    let mut result = CallToolResult::error(vec![ContentBlock::text(format!("Error: {text}"))]);
    result.structured_content = json;
    result
}

impl ServerHandler for Server {
    fn get_info(&self) -> InitializeResult {
        InitializeResult::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("tracecraft", env!("CARGO_PKG_VERSION")))
            .with_instructions(self.instructions.clone())
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, McpError> {
        let tools = TOOLS
            .iter()
            .map(|t| rmcp::model::Tool::new(t.name, t.description, schema(t.args)))
            .collect();
        Ok(ListToolsResult::with_all_items(tools))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        let args = request.arguments.unwrap_or_default();
        let (reply, answer) = oneshot::channel();
        self.jobs
            .send((request.name.to_string(), args, reply))
            .map_err(|_| McpError::internal_error("the command worker has stopped", None))?;
        answer
            .await
            .map_err(|_| McpError::internal_error("the command worker dropped the call", None))?
            .map(Into::into)
    }
}

/// Serves until the client closes stdin. Every command's printer speaks JSON and keeps
/// quiet; its lines are captured, never written.
pub async fn serve(mut app: App) -> anyhow::Result<()> {
    app.printer.json = true;
    app.printer.quiet = true;
    let instructions = format!(
        "Coordination tools of tracecraft, acting as agent {} in project {}.",
        app.agent(),
        app.config.project
    );
    let server = Server {
        jobs: worker(app).context("cannot start the MCP command worker")?,
        instructions,
    };
    let running = server
        .serve(rmcp::transport::stdio())
        .await
        .map_err(|e| anyhow::anyhow!("MCP initialisation failed: {e}"))?;
    running.waiting().await?;
    Ok(())
}

#[cfg(test)]
#[path = "mcp/tests.rs"]
mod tests;
