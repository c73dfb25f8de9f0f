pub mod error;
pub mod git;
pub mod path;
mod yaml;
pub use error::{Diagnostic, Error, Result};
pub mod card;
pub mod metrics;
pub mod policy;
