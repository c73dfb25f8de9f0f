//! modelgate's GitHub side: the API client, the webhook server, the Action, comment and
//! check-run rendering. Evaluation itself lives in modelgate-core.

pub mod action;
pub mod comment;
pub mod config;
pub mod error;
pub mod events;
pub mod github;
#[cfg(test)]
mod hostile_tests;
pub mod job;
pub mod lfs;
pub mod metrics;
pub mod pull_request;
pub mod remote;
pub mod secret;
pub mod server;
pub mod signature;
pub mod store;

pub use config::Config;
pub use server::{Bot, serve};
