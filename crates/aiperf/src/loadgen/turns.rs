//! What shapes a phase beyond its load pattern, and when each turn of a session goes out:
//! the gates and ramps, the rate schedule, the window of a replayed trace, the cap on
//! recorded turn delays, and the fixed gap between a user's turns in user-centric mode.

use std::ops::Range;
use std::time::Duration;

use super::gates::Gates;
use super::{ramp, replay, schedule};
use crate::dataset::{Conversation, Dataset};
use crate::settings::{Arrival, LoadMode, PhaseShape, ReplayWindow};

/// How a phase is shaped (decided before it starts).
#[derive(Debug, Clone, Default)]
pub struct Shaping {
    /// Ramps, the prefill gate and the rate series.
    pub shape: PhaseShape,
    /// The part of a replayed trace that is sent.
    pub window: ReplayWindow,
    /// Longest pause before a later turn, seconds (recorded delays of input files).
    pub turn_delay_cap_secs: Option<f64>,
}

/// The shaping of a running phase.
#[derive(Debug, Default)]
pub struct Shaped {
    pub gates: Gates,
    /// User-centric: each later turn of a user one gap after the previous one was due.
    gap: Option<Duration>,
    delay_cap_ms: Option<f64>,
    /// Fixed-schedule replay in a window: the turns of each conversation that are sent.
    windows: Option<Vec<Range<usize>>>,
}

impl Shaping {
    /// Starts the phase's gates and ramps (now) for `mode`, whose sessions are capped at
    /// `sessions`.
    pub fn start(&self, mode: LoadMode, sessions: Option<u32>, dataset: &Dataset) -> Shaped {
        let windows = (matches!(mode, LoadMode::FixedSchedule { .. }) && !self.window.is_default())
            .then(|| replay::windows(dataset, self.window));
        Shaped {
            gates: Gates::start(&self.shape, sessions),
            gap: match mode {
                LoadMode::UserCentric { rate, users, .. } => {
                    Duration::try_from_secs_f64(f64::from(users) / rate).ok()
                }
                _ => None,
            },
            delay_cap_ms: self.turn_delay_cap_secs.map(|s| s * 1e3),
            windows,
        }
    }

    /// Nanosecond offsets of a rate phase's arrivals: the plain seeded schedule, or one whose
    /// rate follows the ramp and the series.
    pub fn arrivals(
        &self,
        rate: f64,
        arrival: Arrival,
        seed: u64,
    ) -> Box<dyn Iterator<Item = u64> + Send> {
        let s = &self.shape;
        if s.rate_ramp_secs.is_none() && s.rate_series.is_none() {
            return Box::new(schedule::arrivals(rate, arrival, seed));
        }
        let changes = ramp::rate_changes(rate, s.rate_ramp_secs, s.rate_series.as_deref());
        Box::new(ramp::shaped_arrivals(changes, arrival, seed))
    }
}

/// What one session sends beyond its conversation: at most this many turns (a user-centric
/// user that joined part way through its conversation).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SessionPlan {
    pub max_turns: Option<usize>,
}

impl Shaped {
    /// The turns of `conv` (conversation `index` of the dataset) that a session with `plan`
    /// sends.
    pub fn turns(&self, index: usize, conv: &Conversation, plan: SessionPlan) -> Range<usize> {
        let all = 0..conv.turns.len();
        let r = match &self.windows {
            Some(w) => w.get(index).cloned().unwrap_or(0..0),
            None => all,
        };
        match plan.max_turns {
            Some(m) => r.start..r.end.min(r.start + m),
            None => r,
        }
    }

    /// When turn `turn` of `conv` is due (clock nanoseconds), `now` being the time its
    /// predecessor ended: at its trace time in fixed-schedule replay (relative to the
    /// session's first turn `first`, sent at `session_start`), one gap after the previous
    /// turn was due (`prev_due`) and not before now in user-centric mode, else its recorded
    /// or synthetic delay after now (recorded delays capped).
    #[allow(clippy::too_many_arguments)]
    pub fn due(
        &self,
        fixed_schedule: bool,
        conv: &Conversation,
        first: usize,
        turn: usize,
        session_start: u64,
        prev_due: u64,
        now: u64,
    ) -> u64 {
        if let Some(gap) = self.gap {
            let gap = u64::try_from(gap.as_nanos()).unwrap_or(u64::MAX);
            return prev_due.saturating_add(gap).max(now);
        }
        let t = &conv.turns[turn];
        if fixed_schedule
            && let (Some(t), Some(t0)) = (t.timestamp_ms, conv.turns[first].timestamp_ms)
        {
            return session_start + ((t - t0).max(0.0) * 1e6) as u64;
        }
        let mut delay_ms = t.delay_ms.unwrap_or(0.0).max(0.0);
        if let Some(cap) = self.delay_cap_ms {
            delay_ms = delay_ms.min(cap);
        }
        now + (delay_ms * 1e6) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::Turn;

    fn conv(delays: &[Option<f64>]) -> Conversation {
        Conversation {
            id: "c".into(),
            turns: delays
                .iter()
                .map(|d| Turn {
                    delay_ms: *d,
                    ..Turn::default()
                })
                .collect(),
        }
    }

    #[test]
    fn recorded_delays_are_capped() {
        let shaped = Shaped {
            delay_cap_ms: Some(500.0),
            ..Shaped::default()
        };
        let c = conv(&[None, Some(2000.0), Some(100.0)]);
        assert_eq!(shaped.due(false, &c, 0, 1, 0, 0, 1000), 1000 + 500_000_000);
        assert_eq!(shaped.due(false, &c, 0, 2, 0, 0, 1000), 1000 + 100_000_000);
    }

    #[test]
    fn user_turns_keep_their_gap_unless_the_answer_is_late() {
        let shaped = Shaped {
            gap: Some(Duration::from_secs(2)),
            ..Shaped::default()
        };
        let c = conv(&[None, Some(9000.0)]);
        let s = 1_000_000_000;
        assert_eq!(shaped.due(false, &c, 0, 1, 0, s, s + 10), 3 * s);
        assert_eq!(shaped.due(false, &c, 0, 1, 0, s, 5 * s), 5 * s);
    }

    #[test]
    fn a_session_sends_at_most_its_plan() {
        let shaped = Shaped::default();
        let c = conv(&[None, None, None, None]);
        assert_eq!(shaped.turns(0, &c, SessionPlan::default()), 0..4);
        assert_eq!(
            shaped.turns(0, &c, SessionPlan { max_turns: Some(2) }),
            0..2
        );
    }
}
