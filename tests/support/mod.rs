//! Test support shared by the integration test crates.

pub mod cli;
pub mod fake_hub;
pub mod python_tool;
