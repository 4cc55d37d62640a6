//! Runs the [`Engine`] in real time: one task steps the engine, sleeps for each step's
//! duration and then hands the step's tokens to the waiting responses.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use crate::engine::{Engine, SeqId};
use crate::metrics::Metrics;
use aiperf_shared::timer::PreciseTimer;

/// A request entering the engine.
#[derive(Debug)]
pub(crate) struct Admission {
    pub(crate) id: SeqId,
    pub(crate) prompt_tokens: u32,
    pub(crate) output_tokens: u32,
    pub(crate) arrival: Instant,
    /// Receives one message per output token; dropped when the sequence is done.
    pub(crate) tokens: mpsc::UnboundedSender<()>,
}

/// Cloneable handle that feeds requests to the driver task.
#[derive(Debug, Clone)]
pub(crate) struct EngineHandle {
    tx: mpsc::UnboundedSender<Admission>,
}

impl EngineHandle {
    /// Queues a request; `false` when the driver has stopped.
    pub(crate) fn submit(&self, admission: Admission) -> bool {
        self.tx.send(admission).is_ok()
    }
}

/// How far behind its schedule the driver may fall before it stops trying to catch up.
const MAX_CATCH_UP: Duration = Duration::from_millis(2);

struct Slot {
    tokens: mpsc::UnboundedSender<()>,
    arrival: Instant,
}

/// Starts the driver; it runs until every [`EngineHandle`] is dropped and the engine is idle.
pub(crate) fn spawn(
    engine: Engine,
    speedup: f64,
    timer: Arc<PreciseTimer>,
    metrics: Arc<Metrics>,
) -> (EngineHandle, tokio::task::JoinHandle<()>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let task = tokio::spawn(drive(engine, rx, speedup, timer, metrics));
    (EngineHandle { tx }, task)
}

async fn drive(
    mut engine: Engine,
    mut rx: mpsc::UnboundedReceiver<Admission>,
    speedup: f64,
    timer: Arc<PreciseTimer>,
    metrics: Arc<Metrics>,
) {
    let mut slots: HashMap<SeqId, Slot> = HashMap::new();
    let mut step_start = Instant::now();
    loop {
        if engine.is_idle() {
            metrics.gpus.idle(Instant::now());
            let Some(first) = rx.recv().await else { return };
            admit(&mut engine, &mut slots, first);
            step_start = Instant::now();
        }
        while let Ok(next) = rx.try_recv() {
            admit(&mut engine, &mut slots, next);
        }
        // Responses whose client went away leave the batch, as vLLM aborts them.
        slots.retain(|id, slot| {
            let gone = slot.tokens.is_closed();
            if gone {
                engine.abort(*id);
            }
            !gone
        });
        let Some(outcome) = engine.step() else {
            continue;
        };
        publish(&engine, &metrics);
        metrics.gpus.step(step_start, &outcome.work);
        for id in &outcome.admitted {
            if let Some(slot) = slots.get(id) {
                let queued = step_start.saturating_duration_since(slot.arrival);
                metrics.queue_time.observe(queued.as_secs_f64());
            }
        }
        metrics
            .preemptions
            .fetch_add(outcome.preempted.len() as u64, Relaxed);

        let step_end = step_start + Duration::from_secs_f64(outcome.duration_ms / 1e3 / speedup);
        timer.sleep_until(step_end).await;
        for id in &outcome.emitted {
            if let Some(slot) = slots.get(id) {
                let _ = slot.tokens.send(());
            }
        }
        for id in &outcome.finished {
            slots.remove(id);
        }
        publish(&engine, &metrics);
        // Keep to the simulated schedule across small wake-up delays, but do not burst to
        // catch up after a long stall (a real engine never runs faster than its steps).
        let now = Instant::now();
        step_start = if now.saturating_duration_since(step_end) > MAX_CATCH_UP {
            now
        } else {
            step_end
        };
    }
}

fn admit(engine: &mut Engine, slots: &mut HashMap<SeqId, Slot>, a: Admission) {
    // Requests are validated against the context length before they get here, so a
    // rejection means a bug; dropping the sender ends that response early rather than hang.
    if engine.add(a.id, a.prompt_tokens, a.output_tokens).is_ok() {
        slots.insert(
            a.id,
            Slot {
                tokens: a.tokens,
                arrival: a.arrival,
            },
        );
    }
}

fn publish(engine: &Engine, metrics: &Metrics) {
    metrics
        .engine_running
        .store(engine.num_running() as i64, Relaxed);
    metrics
        .engine_waiting
        .store(engine.num_waiting() as i64, Relaxed);
    metrics
        .kv_usage_ppm
        .store((engine.kv_usage() * 1e6).round() as u64, Relaxed);
}
