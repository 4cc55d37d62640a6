//! Fixed-schedule replay: when each conversation of a timestamped trace starts, and which of
//! its turns fall in the window of `--fixed-schedule-start-offset` /
//! `--fixed-schedule-end-offset`.
//!
//! As the Python AIPerf replays a trace, rows outside the window are not sent, and the
//! replay's clock starts at the start offset when one is given (a row there goes out at
//! once, a later one that much later), else at the first row sent.

use std::ops::Range;

use crate::dataset::Dataset;
use crate::settings::ReplayWindow;

/// The turns of each conversation inside `window`: from its first turn in the window to its
/// last (turns without a timestamp go with the turn before them).
pub(super) fn windows(dataset: &Dataset, window: ReplayWindow) -> Vec<Range<usize>> {
    dataset
        .conversations
        .iter()
        .map(|c| {
            let inside =
                |t: &crate::dataset::Turn| t.timestamp_ms.is_some_and(|ms| window.contains(ms));
            let Some(first) = c.turns.iter().position(inside) else {
                return 0..0;
            };
            let mut end = first + 1;
            while let Some(t) = c.turns.get(end) {
                match t.timestamp_ms {
                    Some(ms) if !window.contains(ms) => break,
                    _ => end += 1,
                }
            }
            first..end
        })
        .collect()
}

/// The start of each conversation sent, in time order: nanoseconds from the start of the
/// replay, and the conversation.
pub(super) fn starts(dataset: &Dataset, window: ReplayWindow) -> Vec<(u64, usize)> {
    let ranges = (!window.is_default()).then(|| windows(dataset, window));
    let mut starts: Vec<(f64, usize)> = dataset
        .conversations
        .iter()
        .enumerate()
        .filter_map(|(i, c)| {
            let first = match &ranges {
                Some(r) if r[i].is_empty() => return None,
                Some(r) => r[i].start,
                None => 0,
            };
            c.turns.get(first)?.timestamp_ms.map(|t| (t, i))
        })
        .collect();
    starts.sort_by(|a, b| a.0.total_cmp(&b.0));
    let zero = match window.start_ms {
        Some(s) => s as f64,
        None => starts.first().map_or(0.0, |s| s.0),
    };
    starts
        .into_iter()
        .map(|(t, i)| ((((t - zero).max(0.0)) * 1e6).round() as u64, i))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::{Conversation, Turn};

    fn trace(sessions: &[&[f64]]) -> Dataset {
        let conversations = sessions
            .iter()
            .enumerate()
            .map(|(i, times)| Conversation {
                id: format!("c{i}"),
                turns: times
                    .iter()
                    .map(|t| Turn {
                        timestamp_ms: Some(*t),
                        ..Turn::default()
                    })
                    .collect(),
            })
            .collect();
        Dataset::new(conversations, crate::settings::Sampling::Sequential, 0)
    }

    #[test]
    fn without_a_window_every_row_goes_from_the_first() {
        let d = trace(&[&[1000.0], &[1500.0], &[3000.0]]);
        let s = starts(&d, ReplayWindow::default());
        assert_eq!(s, vec![(0, 0), (500_000_000, 1), (2_000_000_000, 2)]);
    }

    #[test]
    fn a_window_keeps_its_rows_and_starts_at_its_start() {
        let d = trace(&[
            &[1000.0],
            &[1500.0, 2600.0],
            &[2500.0],
            &[3000.0],
            &[3500.0],
        ]);
        let w = ReplayWindow {
            start_ms: Some(1200),
            end_ms: Some(3000),
        };
        assert_eq!(
            starts(&d, w),
            vec![(300_000_000, 1), (1_300_000_000, 2), (1_800_000_000, 3)]
        );
        let r = windows(&d, w);
        assert_eq!(r, vec![0..0, 0..2, 0..1, 0..1, 0..0]);
        let only_end = ReplayWindow {
            start_ms: None,
            end_ms: Some(1500),
        };
        assert_eq!(starts(&d, only_end), vec![(0, 0), (500_000_000, 1)]);
        assert_eq!(windows(&d, only_end)[1], 0..1);
    }
}
