//! tracecraft: coordinate AI coding agents through a bucket they already own. The library
//! holds everything; `main.rs` only parses, runs and maps the outcome to an exit code.

pub mod app;
pub mod cache;
pub mod claims;
pub mod cli;
pub mod commands;
pub mod config;
pub mod docs;
pub mod events;
pub mod guard;
pub mod hooks;
pub mod ids;
pub mod keys;
pub mod lease;
pub mod mailbox;
pub mod mcp;
pub mod messaging;
pub mod outcome;
pub mod output;
pub mod plan;
pub mod prime;
pub mod reservations;
pub mod retention;
pub mod session;
pub mod setup;
pub mod steps;
pub mod store;
pub mod time;
