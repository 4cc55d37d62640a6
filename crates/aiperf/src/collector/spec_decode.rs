//! A request's speculative-decoding acceptance, from the `metrics.speculative_decoding` object
//! vLLM adds to chat and completions responses (`--per-request-spec-decode-metrics`): at the
//! root of a whole answer's body, on the trailing usage chunk of a stream. A payload whose
//! counts contradict each other is ignored, as the Python AIPerf ignores it.

use bytes::Bytes;
use serde::Deserialize;

use crate::metrics::{Rec, Values};

const KEY: &[u8] = b"\"speculative_decoding\"";
/// The object sits at the end of the response: only its last frames are searched.
const TAIL_FRAMES: usize = 4;

#[derive(Debug, Deserialize)]
struct Payload {
    /// Steps by the number of draft tokens they accepted (index 0..=k).
    acceptance_histogram: Vec<u64>,
    num_spec_steps: u64,
    num_draft_tokens: u64,
    num_accepted_draft_tokens: u64,
    mean_acceptance_length: f64,
    draft_acceptance_rate: f64,
    #[serde(default)]
    num_spec_tokens: Option<u64>,
}

impl Payload {
    fn consistent(&self) -> bool {
        let k_matches = self
            .num_spec_tokens
            .is_none_or(|k| self.acceptance_histogram.len() as u64 == k + 1);
        k_matches
            && self.acceptance_histogram.iter().sum::<u64>() == self.num_spec_steps
            && self.num_accepted_draft_tokens <= self.num_draft_tokens
            && self.mean_acceptance_length.is_finite()
            && self.draft_acceptance_rate.is_finite()
    }
}

/// Sets the request's speculative-decoding metrics when its response reports them.
pub(super) fn spec_decode_metrics(frames: &[(u64, Bytes)], v: &mut Values) {
    let Some(p) = payload(frames).filter(Payload::consistent) else {
        return;
    };
    let mut set = |r: Rec, x: f64| v[r as usize] = x;
    let (steps, drafted, accepted) = (
        p.num_spec_steps as f64,
        p.num_draft_tokens as f64,
        p.num_accepted_draft_tokens as f64,
    );
    set(Rec::SpecDecodeAcceptanceLength, p.mean_acceptance_length);
    set(
        Rec::SpecDecodeDraftAcceptanceRate,
        p.draft_acceptance_rate * 100.0,
    );
    if drafted + steps > 0.0 {
        set(
            Rec::SpecDecodeAcceptedPerVerified,
            (accepted + steps) / (drafted + steps),
        );
    }
    set(Rec::SpecDecodeSteps, steps);
    set(Rec::SpecDecodeAcceptedDraftTokens, accepted);
    set(Rec::SpecDecodeDraftTokens, drafted);
}

fn payload(frames: &[(u64, Bytes)]) -> Option<Payload> {
    let from = frames.len().saturating_sub(TAIL_FRAMES);
    let tail: Vec<u8> = frames[from..]
        .iter()
        .flat_map(|(_, b)| b.iter().copied())
        .collect();
    let at = tail.windows(KEY.len()).rposition(|w| w == KEY)?;
    let rest = &tail[at + KEY.len()..];
    let open = rest.iter().position(|b| *b == b'{')?;
    serde_json::from_slice(object(&rest[open..])?).ok()
}

/// The JSON object `text` starts with (up to its matching brace).
fn object(text: &[u8]) -> Option<&[u8]> {
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for (i, b) in text.iter().enumerate() {
        if in_string {
            match (escaped, *b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'{' => depth += 1,
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(&text[..=i]);
                }
            }
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::N_REC;

    const STATS: &str = r#"{"num_spec_tokens":3,"num_spec_steps":4,"num_draft_tokens":12,"num_accepted_draft_tokens":6,"acceptance_histogram":[1,1,1,1],"mean_acceptance_length":2.5,"draft_acceptance_rate":0.5}"#;

    fn measured(frames: &[&str]) -> Values {
        let frames: Vec<(u64, Bytes)> = frames
            .iter()
            .map(|f| (0, Bytes::from(f.to_string())))
            .collect();
        let mut v = [f64::NAN; N_REC];
        spec_decode_metrics(&frames, &mut v);
        v
    }

    #[test]
    fn a_stream_reports_it_on_the_usage_chunk() {
        let usage = format!(
            "data: {{\"choices\":[],\"usage\":{{\"completion_tokens\":10}},\"metrics\":{{\"speculative_decoding\":{STATS}}}}}\n\n"
        );
        // The object split over two frames.
        let (a, b) = usage.split_at(usage.len() / 2);
        let v = measured(&[
            "data: {\"choices\":[{\"delta\":{}}]}\n\n",
            a,
            b,
            "data: [DONE]\n\n",
        ]);
        assert_eq!(v[Rec::SpecDecodeAcceptanceLength as usize], 2.5);
        assert_eq!(v[Rec::SpecDecodeDraftAcceptanceRate as usize], 50.0);
        assert_eq!(v[Rec::SpecDecodeAcceptedPerVerified as usize], 10.0 / 16.0);
        assert_eq!(v[Rec::SpecDecodeSteps as usize], 4.0);
        assert_eq!(v[Rec::SpecDecodeDraftTokens as usize], 12.0);
    }

    #[test]
    fn contradictory_or_absent_payloads_are_ignored() {
        let bad = STATS.replace("[1,1,1,1]", "[1,1,1]");
        let v = measured(&[&format!(
            "{{\"metrics\":{{\"speculative_decoding\":{bad}}}}}"
        )]);
        assert!(v[Rec::SpecDecodeSteps as usize].is_nan());
        let v = measured(&["{\"choices\":[{\"text\":\"speculative_decoding\"}]}"]);
        assert!(v[Rec::SpecDecodeSteps as usize].is_nan());
    }
}
