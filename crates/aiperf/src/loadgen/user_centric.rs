//! User-centric rate (`--user-centric-rate`, `--num-users`), scheduled as the Python AIPerf
//! does it: `users` users share `rate` requests per second, each sending its conversation's
//! next turn one gap (`users / rate`) after its previous turn was due, and never before that
//! turn's answer.
//!
//! The run starts in steady state: besides a new user at time 0, the users are spread over a
//! session's lifetime (its turns less one, in gaps), each with only the turns it has left,
//! first turns a stagger (`1 / rate`) apart. Each user is replaced when it would have sent
//! all its turns on time (its start plus its turns times the gap), whether or not it did:
//! the schedule is open loop, except for `--concurrency`, which caps users in flight.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::Arc;
use std::time::Duration;

use tokio_util::task::TaskTracker;

use super::turns::SessionPlan;
use super::{LoadContext, PhaseState, run_session};

/// The users in flight at time 0: `(order, turns)` for each, `order` in staggers from the
/// start (0 first) and `turns` the turns it has left (`None`: its whole conversation).
pub(super) fn initial_users(users: u32, session_turns: usize) -> Vec<(u64, Option<usize>)> {
    let n = u64::from(users);
    let lifetime = (session_turns as u64).saturating_sub(1).max(1);
    // When the user count and the lifetime share a factor, spread the start positions with
    // a step prime to the user count instead, so no two users share one.
    let step = (gcd(n, lifetime) > 1).then(|| (2..n).find(|&s| gcd(n, s) == 1).unwrap_or(1));
    let mut out = Vec::with_capacity(users as usize + 1);
    for i in 0..n {
        let virtual_age = (n - i) * lifetime;
        let left = lifetime - virtual_age / n;
        if left == 0 {
            continue;
        }
        let slot = match step {
            Some(step) => (i * step) % n,
            None => virtual_age % n,
        };
        out.push((n - slot, Some(left as usize)));
    }
    out.push((0, None));
    out
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 { a } else { gcd(b, a % b) }
}

/// Runs the phase's users until its stop condition (or the user) says so.
pub(super) async fn run(
    ctx: &Arc<LoadContext>,
    state: &Arc<PhaseState>,
    tracker: &TaskTracker,
    rate: f64,
    users: u32,
) {
    let conversations = ctx.dataset.conversations.len().max(1);
    let session_turns = (ctx.dataset.total_turns() as f64 / conversations as f64).round() as usize;
    let stagger = Duration::from_secs_f64(1.0 / rate);
    let gap = Duration::from_secs_f64(f64::from(users) / rate);
    tracing::info!(
        "user-centric: {users} users at {rate} requests/s, {session_turns} turns per session, \
         a user's turns {:.3} s apart, first turns {:.3} s apart",
        gap.as_secs_f64(),
        stagger.as_secs_f64()
    );
    // (when, turns left): the users to start, earliest first.
    let mut queue: BinaryHeap<Reverse<(Duration, Option<usize>)>> =
        initial_users(users, session_turns)
            .into_iter()
            .map(|(order, turns)| Reverse((stagger * order as u32, turns)))
            .collect();
    let start = ctx.clock.now();
    let start_instant = std::time::Instant::now();
    while let Some(Reverse((at, turns))) = queue.pop() {
        if state.exhausted() {
            break;
        }
        tokio::select! {
            () = ctx.timer.sleep_until(start_instant + at) => {}
            () = state.issuing.cancelled() => break,
        }
        let Ok(permit) = state.shaped.gates.session_slot(&state.issuing).await else {
            break;
        };
        let Some((local, first)) = state.claim_session() else {
            break;
        };
        let session = ctx.shard.as_ref().map_or(local, |s| s.global(local));
        let conversation = ctx.dataset.index(session);
        let whole = ctx.dataset.conversations[conversation].turns.len();
        let sent = turns.map_or(whole, |t| t.min(whole));
        // Its replacement joins when this user would have sent its last turn on time.
        queue.push(Reverse((at + gap * sent.max(1) as u32, None)));
        let scheduled = start + u64::try_from(at.as_nanos()).unwrap_or(u64::MAX);
        let plan = SessionPlan { max_turns: turns };
        let (ctx, state) = (ctx.clone(), state.clone());
        tracker.spawn(async move {
            run_session(&ctx, &state, session, conversation, first, scheduled, plan).await;
            drop(permit);
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fifteen_users_of_twenty_turns_as_documented() {
        // The Python AIPerf's example: 15 users, 20 turns, 1 request/s.
        let u = initial_users(15, 20);
        assert_eq!(u.len(), 15, "14 users part way through, one new");
        let by_order: std::collections::BTreeMap<u64, Option<usize>> = u.into_iter().collect();
        assert_eq!(by_order[&0], None);
        assert_eq!(by_order[&1], Some(6));
        assert_eq!(by_order[&4], Some(2));
        assert_eq!(by_order[&14], Some(14));
        assert_eq!(by_order.len(), 15, "every user starts at its own time");
    }

    #[test]
    fn shared_factors_still_give_every_user_its_own_start() {
        let u = initial_users(4, 3);
        let mut orders: Vec<u64> = u.iter().map(|x| x.0).collect();
        orders.sort_unstable();
        orders.dedup();
        assert_eq!(orders.len(), u.len());
        assert!(u.iter().all(|(_, t)| t.is_none_or(|t| t >= 1)));
    }
}
