//! Runs workloads against the timing model in virtual time: no sockets, no sleeps, exact
//! and deterministic for a seed. This is what the simulated server would measure with a
//! perfect client, so it is the ground truth for tests of the client and of searches.

use crate::engine::{Engine, EngineParams, SeqId};

/// `concurrency` clients that each send their next request the moment the previous one ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClosedLoop {
    pub concurrency: u32,
    /// Requests in total.
    pub requests: u32,
    pub prompt_tokens: u32,
    pub output_tokens: u32,
}

/// One request as the engine served it, in virtual milliseconds since the workload started.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VirtualRequest {
    pub sent_ms: f64,
    pub first_token_ms: f64,
    pub last_token_ms: f64,
    pub output_tokens: u32,
}

impl VirtualRequest {
    pub fn ttft_ms(&self) -> f64 {
        self.first_token_ms - self.sent_ms
    }

    pub fn latency_ms(&self) -> f64 {
        self.last_token_ms - self.sent_ms
    }

    /// Mean time between output tokens after the first (0 for single-token outputs).
    pub fn itl_ms(&self) -> f64 {
        if self.output_tokens > 1 {
            (self.last_token_ms - self.first_token_ms) / f64::from(self.output_tokens - 1)
        } else {
            0.0
        }
    }
}

/// Runs a closed-loop workload to completion; results are in completion order.
pub fn run_closed_loop(params: &EngineParams, seed: u64, load: ClosedLoop) -> Vec<VirtualRequest> {
    let mut engine = Engine::new(params.clone(), seed);
    let mut open: std::collections::HashMap<SeqId, (f64, Option<f64>)> = Default::default();
    let mut done = Vec::with_capacity(load.requests as usize);
    let mut next_id: SeqId = 0;
    let mut now = 0.0;
    let mut send = |engine: &mut Engine, open: &mut std::collections::HashMap<_, _>, now: f64| {
        if next_id < SeqId::from(load.requests) {
            engine
                .add(next_id, load.prompt_tokens, load.output_tokens.max(1))
                .expect("workload fits the KV cache");
            open.insert(next_id, (now, None));
            next_id += 1;
        }
    };
    for _ in 0..load.concurrency.max(1) {
        send(&mut engine, &mut open, now);
    }
    while let Some(step) = engine.step() {
        now += step.duration_ms;
        for id in &step.emitted {
            if let Some((_, first)) = open.get_mut(id) {
                first.get_or_insert(now);
            }
        }
        for id in &step.finished {
            let (sent, first) = open.remove(id).expect("finished requests were open");
            done.push(VirtualRequest {
                sent_ms: sent,
                first_token_ms: first.unwrap_or(now),
                last_token_ms: now,
                output_tokens: load.output_tokens.max(1),
            });
            send(&mut engine, &mut open, now);
        }
    }
    done
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Timing;
    use crate::presets::preset;

    fn small() -> EngineParams {
        match preset("small").unwrap().timing {
            Timing::Engine(p) => p,
            _ => unreachable!(),
        }
    }

    struct Point {
        tokens_per_s: f64,
        ttft_ms: f64,
        itl_ms: f64,
    }

    fn measure(concurrency: u32) -> Point {
        let load = ClosedLoop {
            concurrency,
            requests: concurrency * 6,
            prompt_tokens: 512,
            output_tokens: 128,
        };
        let done = run_closed_loop(&small(), 1, load);
        assert_eq!(done.len(), load.requests as usize);
        let end = done.iter().map(|r| r.last_token_ms).fold(0.0, f64::max);
        let tokens: u64 = done.iter().map(|r| u64::from(r.output_tokens)).sum();
        let mean =
            |f: fn(&VirtualRequest) -> f64| done.iter().map(f).sum::<f64>() / done.len() as f64;
        Point {
            tokens_per_s: tokens as f64 / (end / 1e3),
            ttft_ms: mean(VirtualRequest::ttft_ms),
            itl_ms: mean(VirtualRequest::itl_ms),
        }
    }

    #[test]
    fn throughput_rises_then_saturates_while_latency_rises() {
        let levels = [1, 4, 16, 64, 256, 1024];
        let points: Vec<Point> = levels.iter().map(|&c| measure(c)).collect();
        // Latency only grows with load.
        for w in points.windows(2) {
            assert!(w[1].ttft_ms > w[0].ttft_ms);
            assert!(w[1].itl_ms >= w[0].itl_ms);
        }
        // Throughput grows strongly at first ...
        assert!(points[2].tokens_per_s > 8.0 * points[0].tokens_per_s);
        // ... and then saturates: past max_num_seqs (256) more clients only queue.
        let (at_256, at_1024) = (&points[4], &points[5]);
        assert!((at_1024.tokens_per_s / at_256.tokens_per_s - 1.0).abs() < 0.1);
        assert!(
            at_1024.ttft_ms > 2.0 * at_256.ttft_ms,
            "queueing shows up in TTFT"
        );
    }

    #[test]
    fn single_request_matches_the_step_formula() {
        let p = small();
        let c = p.cost;
        let done = run_closed_loop(
            &EngineParams {
                jitter_cv: 0.0,
                ..p
            },
            1,
            ClosedLoop {
                concurrency: 1,
                requests: 1,
                prompt_tokens: 1000,
                output_tokens: 2,
            },
        );
        let prefill = c.base_ms + 1000.0 * c.prefill_ms_per_token + 1e6 * c.prefill_ms_per_token_sq;
        assert!((done[0].ttft_ms() - prefill).abs() < 1e-9);
        let decode = c.base_ms + c.decode_ms_per_seq + 1000.0 * c.kv_ms_per_token;
        assert!((done[0].itl_ms() - decode).abs() < 1e-9);
    }
}
