//! The metric catalogue (tags, headers and units as the reference tool's) and the summary of
//! a run: distributions of per-request metrics and the run-level figures derived from them.
//!
//! The collector measures each request into [`Values`] (indexed by [`Rec`]) and keeps them in
//! [`Columns`]; [`summarize`] turns those into the [`MetricResult`]s the exports and the
//! console show.

mod catalogue;
mod columns;
mod console;
mod distribution;
mod goodput;
mod network;
mod replay;
mod result;
mod slices;
mod summary;
mod sweepline;
mod token_checks;

pub use self::catalogue::{
    GOODPUT_METRICS, HTTP_TRACE_METRICS, MetricDef, N_REC, RECORD_METRICS, Rec, Values,
    record_index,
};
pub use self::columns::{Columns, Span};
pub use self::console::{ACTIVE_ORDER, CONSOLE_ORDER, EFFECTIVE_ORDER, SPEC_DECODE_ORDER};
pub use self::distribution::Dist;
pub use self::goodput::is_good;
pub use self::network::network_adjusted;
pub use self::replay::{REPLAY_DEGRADED_MS, replay_lag};
pub use self::result::{MetricResult, STATS, Value};
pub use self::slices::{Slice, timeslices};
pub use self::summary::summarize;
pub use self::token_checks::{
    OSL_MISMATCH_MAX_TOKENS, OSL_MISMATCH_PCT, OslCheck, USAGE_DIFF_THRESHOLD_PCT, osl_check,
    osl_mismatches, usage_discrepancies,
};
