//! Flags become settings: `cli` parses, this resolves and validates, section by section, and
//! decides the plan. Clap types stop here; the environment is read only here.

mod recipe;
mod resolve;
mod search;

pub use resolve::{DEFAULT_ISL, parse_goodput, resolve, resolve_shard};
