//! A timer with sub-millisecond resolution for async code.
//!
//! tokio's timer wheel has a 1 ms tick, so a 5 ms inter-token time would come out as anything
//! between 5 and 6 ms. This timer keeps deadlines in a heap served by one dedicated thread
//! that sleeps on a condition variable until the earliest deadline (the kernel wakes it within
//! tens of microseconds), then completes the waiting futures. tokio has no finer timer and no
//! crate provides one that plugs into it, hence this small piece.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};
use std::thread::JoinHandle;
use std::time::Instant;

use tokio::sync::oneshot;

/// Owner of the timer thread; stops it when dropped.
#[derive(Debug)]
pub struct PreciseTimer {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

#[derive(Debug, Default)]
struct Shared {
    state: Mutex<State>,
    wake: Condvar,
}

#[derive(Debug, Default)]
struct State {
    heap: BinaryHeap<Entry>,
    next_seq: u64,
    shutdown: bool,
}

#[derive(Debug)]
struct Entry {
    deadline: Instant,
    /// Ties broken by registration order.
    seq: u64,
    fire: oneshot::Sender<()>,
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Entry {}

impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Entry {
    /// Reversed, so the max-heap pops the earliest deadline first.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.deadline, other.seq).cmp(&(self.deadline, self.seq))
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the heap inconsistent.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl PreciseTimer {
    /// Starts the timer thread.
    pub fn new() -> std::io::Result<Self> {
        let shared = Arc::new(Shared::default());
        let thread_shared = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("aiperf-timer".into())
            .spawn(move || run(&thread_shared))?;
        Ok(Self {
            shared,
            thread: Some(thread),
        })
    }

    /// A future that completes at `deadline` (at once if it has passed).
    pub fn sleep_until(&self, deadline: Instant) -> Sleep {
        if deadline <= Instant::now() {
            return Sleep { rx: None };
        }
        let (fire, rx) = oneshot::channel();
        let mut state = self.shared.lock();
        let seq = state.next_seq;
        state.next_seq += 1;
        let earliest = state.heap.peek().is_none_or(|top| deadline < top.deadline);
        state.heap.push(Entry {
            deadline,
            seq,
            fire,
        });
        drop(state);
        if earliest {
            self.shared.wake.notify_one();
        }
        Sleep { rx: Some(rx) }
    }
}

impl Drop for PreciseTimer {
    fn drop(&mut self) {
        self.shared.lock().shutdown = true;
        self.shared.wake.notify_one();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn run(shared: &Shared) {
    let mut state = shared.lock();
    loop {
        if state.shutdown {
            // Pending sleeps complete at once rather than hang forever.
            state.heap.clear();
            return;
        }
        let now = Instant::now();
        while state.heap.peek().is_some_and(|top| top.deadline <= now) {
            let entry = state.heap.pop().expect("peeked");
            let _ = entry.fire.send(());
        }
        state = match state.heap.peek() {
            None => shared
                .wake
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner),
            Some(top) => {
                let timeout = top.deadline - now;
                match shared.wake.wait_timeout(state, timeout) {
                    Ok((state, _)) => state,
                    Err(poisoned) => poisoned.into_inner().0,
                }
            }
        };
    }
}

/// Completes at its deadline. Dropping it cancels nothing and costs nothing.
#[derive(Debug)]
pub struct Sleep {
    rx: Option<oneshot::Receiver<()>>,
}

impl Future for Sleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        match self.rx.as_mut() {
            None => Poll::Ready(()),
            // A closed channel means the timer shut down: complete rather than hang.
            Some(rx) => Pin::new(rx).poll(cx).map(|_| ()),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn sleeps_complete_in_deadline_order_and_never_early() {
        let timer = PreciseTimer::new().unwrap();
        let start = Instant::now();
        let deadlines: Vec<Instant> = [7u64, 2, 5, 3]
            .iter()
            .map(|ms| start + Duration::from_millis(*ms))
            .collect();
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        for (i, &deadline) in deadlines.iter().enumerate() {
            let sleep = timer.sleep_until(deadline);
            let tx = tx.clone();
            tokio::spawn(async move {
                sleep.await;
                tx.send((i, Instant::now())).unwrap();
            });
        }
        drop(tx);
        let mut order = Vec::new();
        while let Some((i, woke)) = rx.recv().await {
            assert!(woke >= deadlines[i], "woke before its deadline");
            order.push(i);
        }
        assert_eq!(order, [1, 3, 2, 0]);
    }

    #[tokio::test]
    async fn past_deadline_is_ready_at_once() {
        let timer = PreciseTimer::new().unwrap();
        timer.sleep_until(Instant::now()).await;
    }

    #[tokio::test]
    async fn dropping_the_timer_releases_waiters() {
        let timer = PreciseTimer::new().unwrap();
        let sleep = timer.sleep_until(Instant::now() + Duration::from_secs(3600));
        drop(timer);
        sleep.await;
    }
}
