//! Token counts checked against what they should be: the client's against the server's
//! `usage`, and output lengths against the requested ones.

use super::catalogue::Rec;
use super::columns::Columns;

/// A server token count more than this far (percent) from the client's is a discrepancy.
pub const USAGE_DIFF_THRESHOLD_PCT: f64 = 10.0;

/// An output length off the requested one by more than this share (percent), or by more than
/// [`OSL_MISMATCH_MAX_TOKENS`], whichever is tighter, is a mismatch.
pub const OSL_MISMATCH_PCT: f64 = 5.0;
pub const OSL_MISMATCH_MAX_TOKENS: f64 = 50.0;

/// (requests whose token counts could be compared with the server's, how many disagreed).
pub fn usage_discrepancies(cols: &Columns) -> (usize, usize) {
    let diffs = [
        Rec::UsagePromptTokensDiffPct,
        Rec::UsageCompletionTokensDiffPct,
        Rec::UsageReasoningTokensDiffPct,
    ];
    let compared = cols
        .ok
        .iter()
        .filter(|v| diffs.iter().any(|r| !v[*r as usize].is_nan()))
        .count();
    let off = cols
        .ok
        .iter()
        .filter(|v| {
            diffs
                .iter()
                .any(|r| v[*r as usize] > USAGE_DIFF_THRESHOLD_PCT)
        })
        .count();
    (compared, off)
}

/// (requests that asked for an output length, how many got a different one).
pub fn osl_mismatches(cols: &Columns) -> (usize, usize) {
    let check = osl_check(cols);
    (check.compared, check.off)
}

/// Output lengths against the requested ones.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OslCheck {
    /// Requests that asked for an output length.
    pub compared: usize,
    /// Of those, how many got a different one (as the run counts tokens).
    pub off: usize,
    /// Of those off, how many the server itself says it generated at the requested length
    /// (`usage.completion_tokens`): only the client's tokenizer disagrees.
    pub server_exact: usize,
}

/// Checks every successful request that asked for an output length.
pub fn osl_check(cols: &Columns) -> OslCheck {
    let mut check = OslCheck::default();
    let beyond = |requested: f64, actual: f64| {
        let allowed = (requested * OSL_MISMATCH_PCT / 100.0).min(OSL_MISMATCH_MAX_TOKENS);
        (actual - requested).abs() > allowed
    };
    for v in &cols.ok {
        let (requested, actual) = (
            v[Rec::RequestedOsl as usize],
            v[Rec::OutputSequenceLength as usize],
        );
        if requested.is_nan() || actual.is_nan() {
            continue;
        }
        check.compared += 1;
        if beyond(requested, actual) {
            check.off += 1;
            let server = v[Rec::UsageCompletionTokens as usize];
            if !server.is_nan() && !beyond(requested, server) {
                check.server_exact += 1;
            }
        }
    }
    check
}

/// `usage_discrepancy_count` as the summary reports it: left out where no request's counts
/// could be compared.
pub(super) fn usage_discrepancy_count(cols: &Columns) -> Option<f64> {
    let (compared, off) = usage_discrepancies(cols);
    (compared > 0).then_some(off as f64)
}

/// `osl_mismatch_count` as the summary reports it: left out where no request asked for an
/// output length.
pub(super) fn osl_mismatch_count(cols: &Columns) -> Option<f64> {
    let (compared, off) = osl_mismatches(cols);
    (compared > 0).then_some(off as f64)
}
