//! tracecraft: coordinate AI coding agents through a bucket they already own. The library
//! holds everything; `main.rs` only parses, runs and maps the outcome to an exit code.

pub mod app;
pub mod claims;
pub mod cli;
pub mod commands;
pub mod config;
pub mod docs;
pub mod hooks;
pub mod ids;
pub mod keys;
pub mod lease;
pub mod mailbox;
pub mod mcp;
pub mod outcome;
pub mod output;
pub mod prime;
pub mod session;
pub mod setup;
pub mod steps;
pub mod store;
pub mod time;
