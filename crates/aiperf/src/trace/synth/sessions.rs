//! The session state machine: a session opens with the shared prefix and its own files, then
//! each turn waits (a fast agentic follow-up or a slow human), adds new tokens to everything
//! said so far, and ends the session when it passes the context limit or a reset is drawn
//! (or, with explicit turn counts, when the drawn count is reached). Every draw is made in the
//! Python AIPerf's order from NumPy's generator, so a seed gives its sessions.

use super::config::{Lognormal, SessionConfig};
use super::prefix::PrefixAllocator;
use super::rng::NumpyRng;
use crate::trace::numeric;

/// The shortest answer drawn (unless the config's longest is shorter).
const OUTPUT_MIN: u64 = 30;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndReason {
    /// The next turn would pass the context limit.
    ForcedRetire,
    /// A reset was drawn.
    ProbabilisticReset,
    /// Split in two at a restart: the session continues under a new id.
    RestartSplit,
    /// The drawn number of turns was reached.
    TargetTurnCount,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Turn {
    pub index: u64,
    /// Tokens of the whole prompt: everything said before plus the new tokens.
    pub input_length: u64,
    pub output_length: u64,
    /// Tokens added by this turn (all of them on the first turn).
    pub new_tokens: u64,
    pub delay_ms: f64,
    pub timestamp_ms: f64,
    /// Block ids of the whole prompt.
    pub hash_ids: Vec<u64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    pub id: String,
    pub group: u64,
    pub turns: Vec<Turn>,
    pub end: EndReason,
    /// The second half of a restart split.
    pub restart_continuation: bool,
}

/// Draws sessions from a config and a seed.
#[derive(Debug)]
pub struct Synthesizer<'a> {
    config: &'a SessionConfig,
    rng: NumpyRng,
    prefix: PrefixAllocator,
    sessions_started: u64,
    group_cdf: Vec<f64>,
    output_min: u64,
    new_tokens: Lognormal,
}

impl<'a> Synthesizer<'a> {
    pub fn new(config: &'a SessionConfig, seed: u64) -> Result<Self, String> {
        let prefix = PrefixAllocator::new(&config.cache, config.block_size)?;
        let groups = &config.cache.layer1_5_groups;
        let weights: Vec<f64> = (1..=groups.num_groups)
            .map(|k| 1.0 / (k as f64).powf(groups.zipf_alpha))
            .collect();
        let total = numeric::sum(&weights);
        let mut cdf = Vec::with_capacity(weights.len());
        let mut acc = 0.0;
        for w in &weights {
            acc += w / total;
            cdf.push(acc);
        }
        let last = *cdf.last().unwrap_or(&1.0);
        for c in &mut cdf {
            *c /= last;
        }
        let output_min = config
            .generation_length
            .max
            .map_or(OUTPUT_MIN, |m| OUTPUT_MIN.min(m as u64));
        let ntp = &config.new_tokens_per_turn;
        let mut new_tokens = ntp.dist.clone();
        if ntp.bias != 1.0 {
            let (mu, _) = ntp.dist.params();
            new_tokens.mu = Some(mu + ntp.bias.ln());
            new_tokens.mean = ntp.dist.mean * ntp.bias;
            new_tokens.median = ntp.dist.median * ntp.bias;
        }
        Ok(Self {
            config,
            rng: NumpyRng::new(seed),
            prefix,
            sessions_started: 0,
            group_cdf: cdf,
            output_min,
            new_tokens,
        })
    }

    pub fn prefix(&self) -> &PrefixAllocator {
        &self.prefix
    }

    /// `count` sessions (more with restart splits: the continuations are scattered into the
    /// later part of the list, away from their first halves).
    pub fn sessions(&mut self, count: u64) -> Result<Vec<Session>, String> {
        if self.config.turns.is_some() {
            return (0..count).map(|_| self.explicit_turn_session()).collect();
        }
        let restart = self.config.restart_initial_probability;
        let cutoff = 0.75;
        let mut primary = Vec::new();
        let mut deferred = Vec::new();
        for i in 0..count {
            let progress = i as f64 / (count.saturating_sub(1).max(1)) as f64;
            let p_restart = if progress >= cutoff {
                0.0
            } else {
                restart * (1.0 - progress / cutoff)
            };
            let inject = self.rng.random() < p_restart;
            let (first, second) = self.session(inject)?;
            let origin = primary.len();
            primary.push(first);
            if let Some(b) = second {
                deferred.push((b, origin));
            }
        }
        let min_offset = ((count as f64 * 0.25) as usize).max(1);
        for (session, origin) in deferred {
            let low = (origin + min_offset).min(primary.len());
            let at = if low >= primary.len() {
                primary.len()
            } else {
                self.rng.integers(low as i64, primary.len() as i64 + 1) as usize
            };
            primary.insert(at, session);
        }
        Ok(primary)
    }

    fn next_session_index(&mut self) -> u64 {
        self.sessions_started += 1;
        self.sessions_started - 1
    }

    fn session_id(&mut self) -> String {
        let bytes = self.rng.bytes16();
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        format!("sess-{}", &hex[..12])
    }

    fn lognormal(&mut self, d: &Lognormal, clip_min: Option<f64>) -> f64 {
        let (mu, sigma) = d.params();
        let mut s = self.rng.lognormal(mu, sigma);
        if d.min.is_some() || d.max.is_some() {
            for _ in 0..100 {
                let outside = d.min.is_some_and(|lo| s < lo) || d.max.is_some_and(|hi| s > hi);
                if !outside {
                    break;
                }
                s = self.rng.lognormal(mu, sigma);
            }
            if let Some(lo) = d.min {
                s = s.max(lo);
            }
            if let Some(hi) = d.max {
                s = s.min(hi);
            }
        }
        if let Some(lo) = clip_min {
            s = s.max(lo);
        }
        s
    }

    fn should_reset(&mut self, input_length: u64) -> bool {
        let Some(reset) = &self.config.reset else {
            return false;
        };
        let ratio = input_length as f64 / self.config.max_prompt_tokens as f64;
        let p = reset.base_probability * (1.0 + (reset.context_scaling - 1.0) * ratio);
        self.rng.random() < p
    }

    fn group(&mut self) -> u64 {
        self.rng.choice(&self.group_cdf) as u64
    }

    fn initial_context(&mut self) -> u64 {
        let layer2 = self.config.cache.layer2.clone();
        let l2 = (self.lognormal(&layer2, None) as u64).max(1);
        (self.prefix.prefix_tokens() + l2).min(self.config.max_prompt_tokens - 1)
    }

    fn output_length(&mut self) -> u64 {
        let d = self.config.generation_length.clone();
        self.lognormal(&d, Some(self.output_min as f64)) as u64
    }

    fn delay_ms(&mut self, previous_input: u64) -> f64 {
        let mix = self.config.inter_turn_delay.clone();
        let agentic = self.rng.random() < mix.agentic_fraction;
        let fast = self.lognormal(&mix.agentic_delay, None);
        let slow = self.lognormal(&mix.human_delay, None);
        let mut delay = if agentic { fast } else { slow };
        if let Some(max) = mix.max {
            delay = delay.min(max);
        }
        let ratio = previous_input as f64 / self.config.max_prompt_tokens as f64;
        delay *= f64::max(0.2, 1.0 - 0.8 * ratio);
        if let Some(max) = mix.max {
            delay = delay.min(max);
        }
        delay
    }

    fn new_tokens(&mut self) -> u64 {
        let d = self.new_tokens.clone();
        (self.lognormal(&d, None) as u64).max(1)
    }

    fn turn_target(&mut self) -> u64 {
        let turns = self.config.turns.clone().expect("explicit turn mode");
        let drawn = self.lognormal(&turns.lognormal(), None).round_ties_even() as u64;
        drawn.clamp(turns.min, turns.max)
    }

    /// The first turn of a session and its ids.
    fn first_turn(&mut self, session: u64, group: u64, input: u64) -> Result<Turn, String> {
        let output_length = self.output_length();
        Ok(Turn {
            index: 0,
            input_length: input,
            output_length,
            new_tokens: input,
            delay_ms: 0.0,
            timestamp_ms: 0.0,
            hash_ids: self.prefix.turn_hash_ids(session, group, input, None)?,
        })
    }

    /// The next turn after `turns`, or why the session ends instead.
    fn next_turn(
        &mut self,
        session: u64,
        group: u64,
        turns: &[Turn],
        resets: bool,
    ) -> Result<Result<Turn, EndReason>, String> {
        let last = turns.last().expect("a session has a first turn");
        let delay_ms = self.delay_ms(last.input_length);
        let timestamp_ms = last.timestamp_ms + delay_ms;
        let new_tokens = self.new_tokens();
        let input_length = last.input_length + last.output_length + new_tokens;
        if input_length >= self.config.max_prompt_tokens {
            return Ok(Err(EndReason::ForcedRetire));
        }
        if resets && self.should_reset(input_length) {
            return Ok(Err(EndReason::ProbabilisticReset));
        }
        let output_length = self.output_length();
        let previous = self.prefix.session_ids(&last.hash_ids).to_vec();
        let hash_ids = self
            .prefix
            .turn_hash_ids(session, group, input_length, Some(&previous))?;
        Ok(Ok(Turn {
            index: turns.len() as u64,
            input_length,
            output_length,
            new_tokens,
            delay_ms,
            timestamp_ms,
            hash_ids,
        }))
    }

    /// One session; with `restart`, split in two at a drawn turn.
    fn session(&mut self, restart: bool) -> Result<(Session, Option<Session>), String> {
        let index = self.next_session_index();
        let id = self.session_id();
        let [lo, hi] = self.config.restart_turn_range[..] else {
            unreachable!("checked when the config was read")
        };
        let restart_at = restart.then(|| self.rng.integers(lo as i64, hi as i64) as u64);
        let group = self.group();
        let initial = self.initial_context();
        let mut turns = vec![self.first_turn(index, group, initial)?];
        loop {
            if restart_at == Some(turns.len() as u64) {
                let last = turns.last().expect("a first turn").clone();
                let first = Session {
                    id,
                    group,
                    turns,
                    end: EndReason::RestartSplit,
                    restart_continuation: false,
                };
                let second = self.continuation(index, group, &last)?;
                return Ok((first, Some(second)));
            }
            match self.next_turn(index, group, &turns, true)? {
                Ok(turn) => turns.push(turn),
                Err(end) => {
                    let session = Session {
                        id,
                        group,
                        turns,
                        end,
                        restart_continuation: false,
                    };
                    return Ok((session, None));
                }
            }
        }
    }

    /// The second half of a restart split: its first turn carries everything said so far.
    fn continuation(&mut self, index: u64, group: u64, last: &Turn) -> Result<Session, String> {
        let id = self.session_id();
        let input = (last.input_length + last.output_length).min(self.config.max_prompt_tokens - 1);
        let output_length = self.output_length();
        let previous = self.prefix.session_ids(&last.hash_ids).to_vec();
        let mut turns = vec![Turn {
            index: 0,
            input_length: input,
            output_length,
            new_tokens: input,
            delay_ms: 0.0,
            timestamp_ms: 0.0,
            hash_ids: self
                .prefix
                .turn_hash_ids(index, group, input, Some(&previous))?,
        }];
        loop {
            match self.next_turn(index, group, &turns, true)? {
                Ok(turn) => turns.push(turn),
                Err(end) => {
                    return Ok(Session {
                        id,
                        group,
                        turns,
                        end,
                        restart_continuation: true,
                    });
                }
            }
        }
    }

    /// A session of a drawn number of turns, drawn again (up to the config's attempts) when
    /// it cannot fit under the context limit.
    fn explicit_turn_session(&mut self) -> Result<Session, String> {
        let turns_cfg = self.config.turns.clone().expect("explicit turn mode");
        let target = self.turn_target();
        let attempts = turns_cfg.max_session_attempts.unwrap_or(1);
        for _ in 0..attempts {
            let index = self.next_session_index();
            let id = self.session_id();
            let group = self.group();
            let initial = self.initial_context();
            if initial >= self.config.max_prompt_tokens {
                continue;
            }
            let mut turns = vec![self.first_turn(index, group, initial)?];
            let mut fits = true;
            while (turns.len() as u64) < target {
                match self.next_turn(index, group, &turns, false)? {
                    Ok(turn) => turns.push(turn),
                    Err(_) if turns_cfg.allow_truncation => {
                        return Ok(Session {
                            id,
                            group,
                            turns,
                            end: EndReason::ForcedRetire,
                            restart_continuation: false,
                        });
                    }
                    Err(_) => {
                        fits = false;
                        break;
                    }
                }
            }
            if fits {
                return Ok(Session {
                    id,
                    group,
                    turns,
                    end: EndReason::TargetTurnCount,
                    restart_continuation: false,
                });
            }
        }
        Err(format!(
            "could not fit a session of {target} turns under max_prompt_tokens={} in \
             {attempts} attempts; raise max_prompt_tokens or lower the turn counts",
            self.config.max_prompt_tokens
        ))
    }
}
