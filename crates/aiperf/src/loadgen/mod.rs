//! The load generator: decides when each request is sent and sends it.
//!
//! A phase (warmup, then profiling) runs one [`LoadMode`]:
//! - closed loop: `concurrency` workers, each starting its next session when the last ends;
//! - rate: a pacer walks a seeded arrival schedule with the sub-millisecond
//!   [`PreciseTimer`], optionally capped by a semaphore of `concurrency` permits;
//! - fixed schedule: the pacer walks the trace's own timestamps.
//!
//! Arrivals are never dropped: when the client (or the concurrency cap) is late, the request
//! still goes out and its record keeps both the scheduled and the actual send time.

mod gates;
mod ramp;
mod replay;
pub mod schedule;
mod turns;
mod user_centric;

pub use self::turns::{SessionPlan, Shaping};

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::Sender;
use std::time::Duration;

use aiperf_shared::timer::PreciseTimer;
use aiperf_stats::derive_seed;
use bytes::Bytes;
use serde_json::{Map, Value};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::client::{Client, Exchange};
use crate::dataset::Dataset;
use crate::endpoints::Endpoint;
use crate::record::{Clock, ErrorDetails, HttpTiming, Outcome, Phase, RawRecord};
use crate::settings::{EndpointConfig, LoadMode, ModelSelection, StopCondition};

/// Everything the sending side shares.
#[derive(Debug)]
pub struct LoadContext {
    pub client: Client,
    pub dataset: Arc<Dataset>,
    pub endpoint: EndpointConfig,
    /// What the endpoint's requests look like (the type configured for the run).
    pub api: Arc<dyn Endpoint>,
    pub models: Vec<String>,
    pub model_selection: ModelSelection,
    /// Prebuilt bodies of every conversation's first turn, per model (or why the turn cannot
    /// be sent).
    pub first_bodies: Vec<Vec<Result<Bytes, ErrorDetails>>>,
    pub seed: u64,
    pub clock: Clock,
    pub timer: Arc<PreciseTimer>,
    pub records: Sender<RawRecord>,
    /// Source of request and correlation ids (see [`LoadContext::new_id`]).
    pub ids: IdSource,
    /// This process runs one shard of the load (`--shards`).
    pub shard: Option<crate::settings::ShardConfig>,
    /// Requests to cancel on purpose during the profiling phase.
    pub cancellation: Option<crate::settings::Cancellation>,
    /// How answers that are jobs are followed to their end.
    pub polling: crate::settings::Polling,
}

/// Version-4 UUIDs without a system call each: a random base drawn once, mixed with a
/// counter (the ids only need to be unique, not secret).
#[derive(Debug)]
pub struct IdSource {
    base: u64,
    next: AtomicU64,
}

impl Default for IdSource {
    fn default() -> Self {
        Self {
            base: uuid::Uuid::new_v4().as_u64_pair().0,
            next: AtomicU64::new(0),
        }
    }
}

impl IdSource {
    pub fn next(&self) -> uuid::Uuid {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let hi = derive_seed(self.base, n);
        let lo = derive_seed(hi, n ^ 0x7575_6964);
        uuid::Builder::from_random_bytes((u128::from(hi) << 64 | u128::from(lo)).to_be_bytes())
            .into_uuid()
    }
}

impl LoadContext {
    /// Builds the first-turn bodies for every conversation and model.
    pub fn first_bodies(
        dataset: &Dataset,
        endpoint: &EndpointConfig,
        api: &dyn Endpoint,
        models: &[String],
    ) -> Vec<Vec<Result<Bytes, ErrorDetails>>> {
        models
            .iter()
            .map(|model| {
                dataset
                    .conversations
                    .iter()
                    .map(|c| match c.turns.first() {
                        Some(turn) => encode(api.body(endpoint, model, turn, &[])),
                        None => Ok(Bytes::new()),
                    })
                    .collect()
            })
            .collect()
    }

    fn model_for(&self, request_num: u64) -> usize {
        let n = self.models.len() as u64;
        match self.model_selection {
            ModelSelection::RoundRobin => (request_num % n) as usize,
            ModelSelection::Random => {
                (derive_seed(self.seed ^ 0x6d6f_64656c, request_num) % n) as usize
            }
        }
    }
}

/// User interrupts: the first stops sending (in-flight requests get the grace period), the
/// second cancels everything in flight.
#[derive(Debug, Clone, Default)]
pub struct Interrupts {
    pub stop: CancellationToken,
    pub abort: CancellationToken,
}

/// How a phase ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PhaseEnd {
    /// Requests sent.
    pub sent: u64,
    /// In-flight requests were cancelled (grace period over, or a second Ctrl-C).
    pub cancelled_in_flight: bool,
}

/// Per-phase counters shared by the issuing tasks.
#[derive(Debug)]
struct PhaseState {
    phase: Phase,
    limit: Option<u64>,
    issued: AtomicU64,
    /// Sessions to start at most (`--num-sessions`).
    session_limit: Option<u64>,
    sessions: AtomicU64,
    /// Cancelled when no more requests may start (duration over, or user stop).
    issuing: CancellationToken,
    /// Cancels requests in flight.
    abort: CancellationToken,
    fixed_schedule: bool,
    /// Ramps, gates and turn timing beyond the load pattern.
    shaped: turns::Shaped,
}

impl PhaseState {
    /// Claims the next request number, unless the phase is done issuing.
    fn claim(&self) -> Option<u64> {
        if self.issuing.is_cancelled() {
            return None;
        }
        let n = self.issued.fetch_add(1, Ordering::Relaxed);
        match self.limit {
            Some(limit) if n >= limit => {
                self.issued.fetch_sub(1, Ordering::Relaxed);
                None
            }
            _ => Some(n),
        }
    }

    /// Claims a new session and its first request: (local session number, request number).
    fn claim_session(&self) -> Option<(u64, u64)> {
        let session = self.sessions.fetch_add(1, Ordering::Relaxed);
        if self.session_limit.is_some_and(|l| session >= l) {
            self.sessions.fetch_sub(1, Ordering::Relaxed);
            return None;
        }
        match self.claim() {
            Some(first) => Some((session, first)),
            None => {
                self.sessions.fetch_sub(1, Ordering::Relaxed);
                None
            }
        }
    }

    fn exhausted(&self) -> bool {
        self.issuing.is_cancelled()
            || self
                .limit
                .is_some_and(|l| self.issued.load(Ordering::Relaxed) >= l)
            || self
                .session_limit
                .is_some_and(|l| self.sessions.load(Ordering::Relaxed) >= l)
    }
}

/// Runs one phase to completion: issues requests until `stop` (or the user) says so, then
/// waits for those in flight (up to `grace` when stopped by time or by the user).
pub async fn run_phase(
    ctx: &Arc<LoadContext>,
    phase: Phase,
    mode: LoadMode,
    stop: StopCondition,
    grace: Duration,
    interrupts: &Interrupts,
    shaping: &Shaping,
) -> PhaseEnd {
    // The clients of closed loop (this shard's share), the cap on sessions otherwise.
    let sessions = match mode {
        LoadMode::Concurrency { concurrency } => {
            Some(ctx.shard.as_ref().map_or(concurrency, |s| {
                u32::try_from(s.share(u64::from(concurrency))).unwrap_or(u32::MAX)
            }))
        }
        other => other.session_limit(),
    };
    let state = Arc::new(PhaseState {
        phase,
        limit: stop.requests,
        issued: AtomicU64::new(0),
        session_limit: stop.sessions,
        sessions: AtomicU64::new(0),
        issuing: interrupts.stop.child_token(),
        abort: interrupts.abort.child_token(),
        fixed_schedule: matches!(mode, LoadMode::FixedSchedule { .. }),
        shaped: shaping.start(mode, sessions, &ctx.dataset),
    });
    let timed_out = CancellationToken::new();
    let duration_timer = stop.duration().map(|d| {
        let issuing = state.issuing.clone();
        let timed_out = timed_out.clone();
        tokio::spawn(async move {
            tokio::time::sleep(d).await;
            timed_out.cancel();
            issuing.cancel();
        })
    });

    let tracker = TaskTracker::new();
    match mode {
        LoadMode::Concurrency { .. } => {
            // The workers are the requests in flight: the drain below waits for them (each
            // starts once the ramped concurrency gives it a slot).
            for _ in 0..sessions.unwrap_or(1) {
                tracker.spawn(closed_loop_worker(ctx.clone(), state.clone()));
            }
        }
        LoadMode::Rate { rate, arrival, .. } => {
            let seed = derive_seed(ctx.seed, phase as u64);
            let offsets = shaping.arrivals(rate, arrival, seed);
            pace(ctx, &state, &tracker, offsets.map(|o| (o, None))).await;
        }
        LoadMode::FixedSchedule { .. } => {
            let starts = replay::starts(&ctx.dataset, shaping.window);
            let offsets = starts.into_iter().map(|(at, i)| (at, Some(i)));
            pace(ctx, &state, &tracker, offsets).await;
        }
        LoadMode::UserCentric { rate, users, .. } => {
            user_centric::run(ctx, &state, &tracker, rate, users).await;
        }
    }
    tracker.close();

    // Drain: wait for everything in flight. After a duration or a user stop, wait at most
    // the grace period; a second interrupt cancels at once (the abort token is its child).
    let stopped = async {
        tokio::select! {
            () = timed_out.cancelled() => {}
            () = interrupts.stop.cancelled() => {}
        }
        tokio::time::sleep(grace).await;
    };
    let mut cancelled_in_flight = false;
    tokio::select! {
        () = tracker.wait() => {}
        () = stopped => {
            cancelled_in_flight = !tracker.is_empty();
            state.abort.cancel();
            tracker.wait().await;
        }
    }
    if interrupts.abort.is_cancelled() {
        cancelled_in_flight = true;
    }
    if let Some(t) = duration_timer {
        t.abort();
    }
    PhaseEnd {
        sent: state.issued.load(Ordering::Relaxed),
        cancelled_in_flight,
    }
}

async fn closed_loop_worker(ctx: Arc<LoadContext>, state: Arc<PhaseState>) {
    let Ok(_slot) = state.shaped.gates.session_slot(&state.issuing).await else {
        return;
    };
    loop {
        let scheduled = ctx.clock.now();
        let Some((local, first)) = state.claim_session() else {
            return;
        };
        let session = ctx.shard.as_ref().map_or(local, |s| s.global(local));
        let conversation = ctx.dataset.index(session);
        let plan = SessionPlan::default();
        if !run_session(&ctx, &state, session, conversation, first, scheduled, plan).await {
            return;
        }
    }
}

/// Walks `offsets` (nanoseconds from now, optionally naming the conversation) and starts a
/// session at each.
///
/// The pacer runs on a thread of its own: it sleeps until each arrival (`nanosleep`, tens of
/// microseconds late at worst), then hands the session to the runtime. One wake-up per arrival,
/// instead of a timer future whose completion wakes an async task, keeps the cost per arrival
/// low enough for tens of thousands of arrivals per second; when it is behind, due arrivals go
/// out back to back without sleeping.
async fn pace(
    ctx: &Arc<LoadContext>,
    state: &Arc<PhaseState>,
    tracker: &TaskTracker,
    offsets: impl Iterator<Item = (u64, Option<usize>)> + Send + 'static,
) {
    let permits = state.shaped.gates.sessions();
    let handle = tokio::runtime::Handle::current();
    let (ctx, state, tracker) = (ctx.clone(), state.clone(), tracker.clone());
    let pacer = tokio::task::spawn_blocking(move || {
        let start = ctx.clock.now();
        // A shard takes every N-th arrival of the full schedule, keeping its global number.
        let shard = ctx.shard.clone();
        let mine = offsets
            .enumerate()
            .filter(move |(k, _)| shard.as_ref().is_none_or(|s| s.owns(*k as u64)));
        for (k, (offset, conversation)) in mine {
            if state.exhausted() {
                break;
            }
            let scheduled = start + offset;
            let deadline = ctx.clock.instant(scheduled);
            loop {
                let now = std::time::Instant::now();
                if now >= deadline || state.issuing.is_cancelled() {
                    break;
                }
                // Wake at least every 10 ms to notice a stop.
                std::thread::sleep((deadline - now).min(std::time::Duration::from_millis(10)));
            }
            if state.issuing.is_cancelled() {
                break;
            }
            let permit = match &permits {
                Some(sem) => {
                    let sem = sem.clone();
                    let issuing = state.issuing.clone();
                    let acquired = handle.block_on(async move {
                        tokio::select! {
                            p = sem.acquire_owned() => p.ok(),
                            () = issuing.cancelled() => None,
                        }
                    });
                    match acquired {
                        Some(p) => Some(p),
                        None => break,
                    }
                }
                None => None,
            };
            let Some((local, first)) = state.claim_session() else {
                break;
            };
            let session = if ctx.shard.is_some() { k as u64 } else { local };
            let conversation = conversation.unwrap_or_else(|| ctx.dataset.index(session));
            let (ctx, state) = (ctx.clone(), state.clone());
            tracker.spawn_on(
                async move {
                    let plan = SessionPlan::default();
                    run_session(&ctx, &state, session, conversation, first, scheduled, plan).await;
                    drop(permit);
                },
                &handle,
            );
        }
    });
    let _ = pacer.await;
}

/// Sends the turns of one conversation in order. Returns `false` once the phase may not
/// issue more requests.
async fn run_session(
    ctx: &LoadContext,
    state: &PhaseState,
    session: u64,
    conversation: usize,
    first: u64,
    first_scheduled: u64,
    plan: SessionPlan,
) -> bool {
    // `--cache-bust`: this session's own copy, its first turn marked.
    let marked = (ctx.dataset).for_session(conversation, session, state.phase == Phase::Warmup);
    let conv = marked
        .as_ref()
        .unwrap_or(&ctx.dataset.conversations[conversation]);
    let correlation = ctx.ids.next();
    let mut history: Vec<Value> = Vec::new();
    let mut scheduled = first_scheduled;
    let mut request_num = first;
    let session_start = ctx.clock.now();
    // The conversation's own connection (`--connection-reuse-strategy sticky-user-sessions`).
    let mut affinity = crate::client::Affinity::default();
    let turns = state.shaped.turns(conversation, conv, plan);
    let mut due = first_scheduled;
    for (turn_index, turn) in conv.turns.iter().enumerate().take(turns.end) {
        if turn_index < turns.start {
            continue;
        }
        if turn_index > turns.start {
            let (now, fixed) = (ctx.clock.now(), state.fixed_schedule);
            let first = turns.start;
            due = (state.shaped).due(fixed, conv, first, turn_index, session_start, due, now);
            let wait = Duration::from_nanos(due.saturating_sub(now));
            if !wait.is_zero() {
                let deadline = std::time::Instant::now() + wait;
                tokio::select! {
                    () = ctx.timer.sleep_until(deadline) => {}
                    () = state.issuing.cancelled() => return false,
                }
            }
            scheduled = ctx.clock.now();
            let Some(n) = state.claim() else { return false };
            request_num = n;
        }
        let model = ctx.model_for(request_num);
        let body = if turn_index == 0 && marked.is_none() {
            ctx.first_bodies[model][conversation].clone()
        } else {
            encode(
                ctx.api
                    .body(&ctx.endpoint, &ctx.models[model], turn, &history),
            )
        };
        let request_id = ctx.ids.next();
        // A turn the endpoint type cannot send fails at once, without an exchange.
        let (body, why) = match body {
            Ok(body) => (body, None),
            Err(why) => (Bytes::new(), Some(why)),
        };
        let abandon_after = ctx
            .cancellation
            .filter(|c| state.phase == Phase::Profiling && c.picks(ctx.seed, request_num))
            .map(|c| Duration::from_secs_f64(c.delay_secs));
        let ids = (request_id.to_string(), correlation.to_string());
        let ids = (ids.0.as_str(), ids.1.as_str());
        let ex = match why {
            Some(why) => unsent(ctx.clock.now(), why),
            None => {
                // `--prefill-concurrency`: a slot from the send to the first token.
                let Ok(slot) = state.shaped.gates.prefill_slot(&state.issuing).await else {
                    return false;
                };
                let send = exchange(ctx, state, &mut affinity, &body, ids, abandon_after);
                match slot {
                    None => send.await,
                    // Boxed, so the watched send does not grow every session's own state
                    // (thousands of them stay in cache at high concurrency).
                    Some(slot) => {
                        let api = ctx.api.clone();
                        Box::pin(gates::until_first_token(slot, api, send)).await
                    }
                }
            }
        };
        let more = turn_index + 1 < turns.end;
        let failed = ex.outcome != Outcome::Ok;
        if more && !failed {
            history.extend(ctx.api.history(turn, &ex.frames, ctx.endpoint.streaming));
        }
        let cancelled = ex.outcome == Outcome::Cancelled;
        let record = RawRecord {
            phase: state.phase,
            request_num,
            session_num: session,
            conversation,
            turn_index,
            x_request_id: request_id,
            x_correlation_id: correlation,
            scheduled_ns: scheduled,
            start_ns: ex.start_ns,
            ack_ns: ex.ack_ns,
            end_ns: ex.end_ns,
            status: ex.status,
            frames: ex.frames,
            outcome: ex.outcome,
            body,
            input_tokens: turn.input_tokens,
            requested_osl: turn.max_tokens,
            images: u32::try_from(turn.images.len()).unwrap_or(u32::MAX),
            audio_secs: turn.audio_secs,
            retries: ex.retries,
            http: ex.http,
        };
        if ctx.records.send(record).is_err() || cancelled {
            return !cancelled;
        }
    }
    true
}

/// Sends `body` (as a form when the endpoint type sends forms; the record keeps the JSON) and
/// follows its answer to the end.
async fn exchange(
    ctx: &LoadContext,
    state: &PhaseState,
    affinity: &mut crate::client::Affinity,
    body: &Bytes,
    ids: (&str, &str),
    abandon_after: Option<Duration>,
) -> Exchange {
    let wire = if ctx.api.form_data() {
        crate::endpoints::multipart::encode_json(body)
    } else {
        body.clone()
    };
    let (client, abort) = (&ctx.client, &state.abort);
    let ex = (client)
        .send(affinity, wire, ids.0, ids.1, abort, abandon_after)
        .await;
    (client)
        .follow(&*ctx.api, &ctx.polling, affinity, ex, ids, abort)
        .await
}

/// A request body as sent, or why there is none.
fn encode(body: Result<Map<String, Value>, ErrorDetails>) -> Result<Bytes, ErrorDetails> {
    body.map(|b| Bytes::from(serde_json::to_vec(&b).expect("JSON values serialize")))
}

/// The exchange of a request that was never sent, failed at `now` for `why`.
fn unsent(now: u64, why: ErrorDetails) -> Exchange {
    Exchange {
        start_ns: now,
        ack_ns: None,
        end_ns: now,
        status: None,
        frames: Vec::new(),
        outcome: Outcome::Unsendable(why),
        retries: 0,
        http: HttpTiming::default(),
    }
}
