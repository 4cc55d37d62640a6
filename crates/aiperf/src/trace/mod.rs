//! Traces outside a benchmark: `aiperf analyze-trace` reads a mooncake trace and reports its
//! lengths and prefix sharing.

pub mod analyze;
pub mod numeric;
pub mod synth;
