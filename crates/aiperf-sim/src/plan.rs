//! What the server will do with one request: how many tokens, which finish reason, which
//! injected fault. Pure and seeded, so the same request against the same seed gets the same
//! answer.

use aiperf_openai::FinishReason;
use rand::{RngExt, SeedableRng};
use rand_distr::{Distribution, Normal};
use rand_pcg::Pcg64Mcg;

use crate::config::{FaultConfig, OutputConfig};

/// The output a request gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct OutputPlan {
    pub(crate) tokens: u32,
    /// Leading tokens sent as reasoning content (chat only).
    pub(crate) reasoning_tokens: u32,
    pub(crate) finish_reason: FinishReason,
}

/// The output-length controls of a request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct LengthRequest {
    pub(crate) prompt_tokens: u32,
    /// `max_completion_tokens` or `max_tokens`, and which of the two it was.
    pub(crate) cap: Option<(u64, &'static str)>,
    pub(crate) min_tokens: Option<u64>,
    pub(crate) ignore_eos: bool,
}

/// A request the server refuses, with the parameter at fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Rejection {
    pub(crate) message: String,
    pub(crate) param: Option<&'static str>,
}

impl Rejection {
    fn new(message: String, param: Option<&'static str>) -> Self {
        Self { message, param }
    }
}

/// Decides the output length the way an engine with a context limit does: `ignore_eos` fills
/// the cap exactly; otherwise a seeded "natural" length is cut by the cap and raised to
/// `min_tokens`.
pub(crate) fn plan_output(
    req: LengthRequest,
    max_model_len: u32,
    output: &OutputConfig,
    reasoning: bool,
    rng: &mut Pcg64Mcg,
) -> Result<OutputPlan, Rejection> {
    let prompt = u64::from(req.prompt_tokens);
    let max_len = u64::from(max_model_len);
    if prompt >= max_len {
        return Err(Rejection::new(
            format!(
                "This model's maximum context length is {max_len} tokens. However, your \
                 request has {prompt} input tokens. Please reduce the length of the input."
            ),
            Some("messages"),
        ));
    }
    let room = max_len - prompt;
    if let Some((cap, param)) = req.cap {
        if cap == 0 {
            return Err(Rejection::new(
                format!("{param} must be at least 1, got 0."),
                Some(param),
            ));
        }
        if cap > room {
            return Err(Rejection::new(
                format!(
                    "This model's maximum context length is {max_len} tokens. However, you \
                     requested {} tokens ({prompt} in the input, {cap} in the completion). \
                     Please reduce the length of the input or completion.",
                    prompt + cap
                ),
                Some(param),
            ));
        }
    }
    let limit = req.cap.map_or(room, |(cap, _)| cap);
    if let Some(min) = req.min_tokens
        && min > limit
    {
        return Err(Rejection::new(
            format!("min_tokens must be less than or equal to max_tokens={limit}, got {min}."),
            Some("min_tokens"),
        ));
    }
    let tokens = if req.ignore_eos {
        limit
    } else {
        let natural = sample_length(output, rng);
        natural.max(req.min_tokens.unwrap_or(1)).min(limit)
    };
    let finish_reason = if tokens == limit {
        FinishReason::Length
    } else {
        FinishReason::Stop
    };
    let tokens = u32::try_from(tokens).expect("bounded by max_model_len");
    let reasoning_tokens = if reasoning {
        // At least one answer token stays outside the reasoning.
        ((f64::from(tokens) * output.reasoning_ratio).floor() as u32).min(tokens - 1)
    } else {
        0
    };
    Ok(OutputPlan {
        tokens,
        reasoning_tokens,
        finish_reason,
    })
}

fn sample_length(output: &OutputConfig, rng: &mut Pcg64Mcg) -> u64 {
    let mean = f64::from(output.mean_tokens);
    let sd = f64::from(output.stddev_tokens);
    let value = match Normal::new(mean, sd) {
        Ok(normal) if sd > 0.0 => normal.sample(rng),
        _ => mean,
    };
    value.round().max(1.0) as u64
}

/// An injected failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fault {
    None,
    /// Answer with this HTTP status instead of a completion.
    HttpError {
        status: u16,
    },
    /// Drop the connection before output token `at` (0 = right after the headers).
    Disconnect {
        at: u32,
    },
    /// Send output token `at` as a chunk of invalid JSON.
    Malformed {
        at: u32,
    },
    /// Pause before output token `at`.
    Stall {
        at: u32,
    },
}

impl Fault {
    pub(crate) fn name(self) -> Option<&'static str> {
        match self {
            Self::None => None,
            Self::HttpError { .. } => Some("http_error"),
            Self::Disconnect { .. } => Some("disconnect"),
            Self::Malformed { .. } => Some("malformed"),
            Self::Stall { .. } => Some("stall"),
        }
    }
}

/// Picks at most one fault for the `index`-th request of the server.
pub(crate) fn plan_fault(config: &FaultConfig, seed: u64, index: u64, tokens: u32) -> Fault {
    if !config.is_active() {
        return Fault::None;
    }
    let mut rng = Pcg64Mcg::seed_from_u64(mix(seed ^ 0x6661_756c_7473, index));
    let u: f64 = rng.random();
    let at = rng.random_range(0..tokens.max(1));
    let mut edge = config.error_rate;
    if u < edge {
        let status = config.error_statuses[rng.random_range(0..config.error_statuses.len())];
        return Fault::HttpError { status };
    }
    edge += config.disconnect_rate;
    if u < edge {
        return Fault::Disconnect { at };
    }
    edge += config.malformed_rate;
    if u < edge {
        return Fault::Malformed { at };
    }
    edge += config.stall_rate;
    if u < edge {
        return Fault::Stall { at };
    }
    Fault::None
}

/// FNV-1a, used to derive a request's seed from its content. Hand-written because it is five
/// lines and must never change between releases (`std`'s hasher may).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Fnv(u64);

impl Fnv {
    pub(crate) fn new(seed: u64) -> Self {
        let mut h = Self(0xcbf2_9ce4_8422_2325);
        h.write(&seed.to_le_bytes());
        h
    }

    pub(crate) fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }

    pub(crate) fn finish(self) -> u64 {
        self.0
    }
}

pub(crate) use aiperf_stats::derive_seed as mix;

#[cfg(test)]
mod tests {
    use super::*;

    fn rng() -> Pcg64Mcg {
        Pcg64Mcg::seed_from_u64(1)
    }

    fn req(prompt: u32, cap: Option<u64>, ignore_eos: bool) -> LengthRequest {
        LengthRequest {
            prompt_tokens: prompt,
            cap: cap.map(|c| (c, "max_tokens")),
            min_tokens: None,
            ignore_eos,
        }
    }

    #[test]
    fn ignore_eos_gives_exactly_the_cap() {
        let out = OutputConfig::default();
        for cap in [1, 7, 300, 5000] {
            let plan =
                plan_output(req(100, Some(cap), true), 8192, &out, false, &mut rng()).unwrap();
            assert_eq!(u64::from(plan.tokens), cap);
            assert_eq!(plan.finish_reason, FinishReason::Length);
        }
        // Without a cap, ignore_eos runs to the end of the context.
        let plan = plan_output(req(100, None, true), 8192, &out, false, &mut rng()).unwrap();
        assert_eq!(plan.tokens, 8092);
    }

    #[test]
    fn natural_length_is_capped_and_raised_to_min_tokens() {
        let out = OutputConfig {
            mean_tokens: 50,
            stddev_tokens: 0,
            reasoning_ratio: 0.0,
        };
        let plan = plan_output(req(10, Some(500), false), 8192, &out, false, &mut rng()).unwrap();
        assert_eq!((plan.tokens, plan.finish_reason), (50, FinishReason::Stop));
        let plan = plan_output(req(10, Some(20), false), 8192, &out, false, &mut rng()).unwrap();
        assert_eq!(
            (plan.tokens, plan.finish_reason),
            (20, FinishReason::Length)
        );
        let mut r = req(10, Some(500), false);
        r.min_tokens = Some(80);
        let plan = plan_output(r, 8192, &out, false, &mut rng()).unwrap();
        assert_eq!(plan.tokens, 80);
    }

    #[test]
    fn same_seed_same_length() {
        let out = OutputConfig::default();
        let a = plan_output(req(10, None, false), 8192, &out, false, &mut rng()).unwrap();
        let b = plan_output(req(10, None, false), 8192, &out, false, &mut rng()).unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn context_and_cap_errors_name_the_parameter() {
        let out = OutputConfig::default();
        let err = plan_output(req(8192, None, false), 8192, &out, false, &mut rng()).unwrap_err();
        assert!(
            err.message.contains("maximum context length is 8192"),
            "{err:?}"
        );
        let err =
            plan_output(req(100, Some(8100), false), 8192, &out, false, &mut rng()).unwrap_err();
        assert_eq!(err.param, Some("max_tokens"));
        assert!(err.message.contains("8200 tokens"), "{err:?}");
        let err = plan_output(req(100, Some(0), false), 8192, &out, false, &mut rng()).unwrap_err();
        assert!(err.message.contains("at least 1"));
        let mut r = req(100, Some(10), false);
        r.min_tokens = Some(11);
        let err = plan_output(r, 8192, &out, false, &mut rng()).unwrap_err();
        assert_eq!(err.param, Some("min_tokens"));
    }

    #[test]
    fn reasoning_takes_the_configured_share_but_leaves_an_answer() {
        let out = OutputConfig {
            reasoning_ratio: 0.25,
            ..OutputConfig::default()
        };
        let plan = plan_output(req(10, Some(100), true), 8192, &out, true, &mut rng()).unwrap();
        assert_eq!(plan.reasoning_tokens, 25);
        let all = OutputConfig {
            reasoning_ratio: 1.0,
            ..OutputConfig::default()
        };
        let plan = plan_output(req(10, Some(4), true), 8192, &all, true, &mut rng()).unwrap();
        assert_eq!(plan.reasoning_tokens, 3);
        let plan = plan_output(req(10, Some(4), true), 8192, &all, false, &mut rng()).unwrap();
        assert_eq!(plan.reasoning_tokens, 0);
    }

    #[test]
    fn fault_rates_are_honoured_and_seeded() {
        let config = FaultConfig {
            error_rate: 0.1,
            error_statuses: vec![500, 429],
            disconnect_rate: 0.2,
            malformed_rate: 0.05,
            stall_rate: 0.15,
            ..FaultConfig::default()
        };
        let n = 20_000;
        let faults: Vec<Fault> = (0..n).map(|i| plan_fault(&config, 5, i, 64)).collect();
        let share =
            |f: fn(&Fault) -> bool| faults.iter().filter(|x| f(x)).count() as f64 / n as f64;
        assert!((share(|f| matches!(f, Fault::HttpError { .. })) - 0.1).abs() < 0.01);
        assert!((share(|f| matches!(f, Fault::Disconnect { .. })) - 0.2).abs() < 0.015);
        assert!((share(|f| matches!(f, Fault::Malformed { .. })) - 0.05).abs() < 0.01);
        assert!((share(|f| matches!(f, Fault::Stall { .. })) - 0.15).abs() < 0.015);
        assert!(faults.contains(&Fault::HttpError { status: 429 }));
        assert!(faults.iter().all(|f| match f {
            Fault::Disconnect { at } | Fault::Malformed { at } | Fault::Stall { at } => *at < 64,
            _ => true,
        }));
        let again: Vec<Fault> = (0..n).map(|i| plan_fault(&config, 5, i, 64)).collect();
        assert_eq!(faults, again);
        assert_eq!(plan_fault(&FaultConfig::default(), 5, 0, 64), Fault::None);
    }
}
