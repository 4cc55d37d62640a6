//! Which connection a request goes out on (`--connection-reuse-strategy`), and what the pool
//! learns about a server's keep-alive behaviour.
//!
//! - `pooled`: idle connections are shared by all requests to a target (HTTP/2: one
//!   connection multiplexes them all).
//! - `never`: every request opens its own connection and closes it after the response.
//! - `sticky-user-sessions`: a conversation keeps one connection for all its turns and closes
//!   it when it ends.
//!
//! A connection is put back only when the response was read to the end and the server did not
//! say it will close (`Connection: close`, HTTP/1.0). Before an idle connection is used it is
//! checked: closed by the server, or idle past the server's `Keep-Alive: timeout`, it is
//! dropped. Some servers (llama.cpp's after a streamed answer, proxies that drop idle
//! connections) close without saying so; once reused connections keep turning out closed, the
//! pool stops keeping connections to that server, so no request pays for a failed attempt.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::Instant;

use super::connection::{Conn, ConnectError, Connector, Sender, Target, connect};
use crate::settings::ConnectionReuse;

/// Reused connections found closed before the pool gives up reusing connections to a server
/// (and only while they outnumber the reused connections that worked).
const STALE_BEFORE_NO_REUSE: u64 = 3;

/// One target's connections.
#[derive(Debug)]
struct TargetPool {
    target: Target,
    /// Idle HTTP/1.1 connections, the most recently used last.
    idle: Mutex<Vec<Conn>>,
    /// The HTTP/2 connection every request shares.
    shared: Mutex<Option<Conn>>,
    /// Reused connections that carried a response.
    kept: AtomicU64,
    /// Reused connections the server had closed after a response.
    stale: AtomicU64,
    /// Learned: the server closes connections after each response.
    no_reuse: AtomicBool,
}

/// A connection lent to one request.
#[derive(Debug)]
pub(crate) struct Lease {
    pub conn: Conn,
    /// It carried a request before, or was opened ahead of the load: it may have been closed
    /// by the server meanwhile, so a silent failure on it is worth one more try.
    pub reused: bool,
    /// When the pool had it ready (a reused one) or began opening it (a new one).
    pub ready_ns: u64,
}

/// What a conversation keeps across its turns: its target (every turn goes to the server its
/// first turn went to) and, under `sticky-user-sessions`, its connection.
#[derive(Debug, Default)]
pub struct Affinity {
    conn: Option<Conn>,
    target: Option<usize>,
}

/// Counts over a run.
#[derive(Debug, Default)]
pub(crate) struct PoolCounters {
    pub opened: AtomicU64,
    pub resent: AtomicU64,
}

#[derive(Debug)]
pub(crate) struct Pool {
    targets: Vec<TargetPool>,
    strategy: ConnectionReuse,
    connector: Connector,
    pub counters: PoolCounters,
    /// The target of the next new conversation (`--url-strategy round-robin`).
    next_target: AtomicUsize,
}

impl Pool {
    pub(crate) fn new(
        targets: Vec<Target>,
        strategy: ConnectionReuse,
        connector: Connector,
    ) -> Self {
        Self {
            targets: targets
                .into_iter()
                .map(|target| TargetPool {
                    target,
                    idle: Mutex::new(Vec::new()),
                    shared: Mutex::new(None),
                    kept: AtomicU64::new(0),
                    stale: AtomicU64::new(0),
                    no_reuse: AtomicBool::new(false),
                })
                .collect(),
            strategy,
            connector,
            counters: PoolCounters::default(),
            next_target: AtomicUsize::new(0),
        }
    }

    /// The conversation's target: the one its first request went to, or for a new
    /// conversation the next target in turn (round robin over conversations, as the Python
    /// AIPerf spreads sessions over several `--url`s).
    pub(crate) fn target_of(&self, affinity: &mut Affinity) -> usize {
        *affinity.target.get_or_insert_with(|| {
            self.next_target.fetch_add(1, Ordering::Relaxed) % self.targets.len()
        })
    }

    pub(crate) fn strategy(&self) -> ConnectionReuse {
        self.strategy
    }

    pub(crate) fn target(&self, t: usize) -> &Target {
        &self.targets[t].target
    }

    pub(crate) fn len(&self) -> usize {
        self.targets.len()
    }

    /// A connection for the next request to target `t`: a usable idle one when the strategy
    /// allows, else a new one. `fresh` forces a new one (the second try of a request).
    pub(crate) async fn checkout(
        &self,
        t: usize,
        affinity: &mut Affinity,
        fresh: bool,
    ) -> Result<Lease, ConnectError> {
        let tp = &self.targets[t];
        if !fresh {
            if self.strategy == ConnectionReuse::StickyUserSessions
                && let Some(conn) = affinity.conn.take()
                && let Some(conn) = self.usable(tp, conn).await
            {
                return Ok(self.reused(conn));
            }
            if self.strategy == ConnectionReuse::Pooled
                && let Some(conn) = self.shared_http2(tp)
            {
                return Ok(self.reused(conn));
            }
            if self.strategy != ConnectionReuse::Never {
                // (A conversation of its own starts on a connection opened ahead of the load.)
                while let Some(conn) = self.pop_idle(tp) {
                    if let Some(conn) = self.usable(tp, conn).await {
                        return Ok(self.reused(conn));
                    }
                }
            }
        }
        let ready_ns = self.connector.clock.now();
        let conn = self.open(t).await?;
        if conn.is_http2() && self.strategy == ConnectionReuse::Pooled {
            let mut shared = lock(&tp.shared);
            if shared.as_ref().is_none_or(Conn::is_closed) {
                *shared = share(&conn);
            }
        }
        Ok(Lease {
            conn,
            reused: false,
            ready_ns,
        })
    }

    fn reused(&self, conn: Conn) -> Lease {
        Lease {
            conn,
            reused: true,
            ready_ns: self.connector.clock.now(),
        }
    }

    /// Opens a connection to target `t`.
    pub(crate) async fn open(&self, t: usize) -> Result<Conn, ConnectError> {
        let conn = connect(&self.targets[t].target, &self.connector).await?;
        self.counters.opened.fetch_add(1, Ordering::Relaxed);
        Ok(conn)
    }

    /// Adds connections opened ahead of the load to the idle pool.
    pub(crate) fn add_idle(&self, t: usize, conn: Conn) {
        let tp = &self.targets[t];
        if conn.is_http2() {
            let mut shared = lock(&tp.shared);
            if shared.as_ref().is_none_or(Conn::is_closed) {
                *shared = Some(conn);
            }
        } else {
            lock(&tp.idle).push(conn);
        }
    }

    /// Takes back a connection whose response was read to the end. `reusable`: the server did
    /// not say it closes it.
    pub(crate) fn checkin(
        &self,
        t: usize,
        mut lease: Lease,
        affinity: &mut Affinity,
        reusable: bool,
    ) {
        let tp = &self.targets[t];
        lease.conn.served += 1;
        lease.conn.idle_since = Instant::now();
        if lease.reused && lease.conn.served > 1 {
            tp.kept.fetch_add(1, Ordering::Relaxed);
        }
        if !reusable {
            return;
        }
        match self.strategy {
            ConnectionReuse::Never => {}
            ConnectionReuse::StickyUserSessions => affinity.conn = Some(lease.conn),
            // An HTTP/2 connection is shared while it lives; it is never idle.
            ConnectionReuse::Pooled if lease.conn.is_http2() => {}
            ConnectionReuse::Pooled => {
                if !tp.no_reuse.load(Ordering::Relaxed) {
                    lock(&tp.idle).push(lease.conn);
                }
            }
        }
    }

    /// A reused connection turned out closed by the server (a request on it failed before any
    /// byte of the answer came back).
    pub(crate) fn stale(&self, t: usize, conn: &Conn) {
        self.note_stale(&self.targets[t], conn);
    }

    /// Counts a request sent again on a fresh connection.
    pub(crate) fn resent(&self) {
        self.counters.resent.fetch_add(1, Ordering::Relaxed);
    }

    fn note_stale(&self, tp: &TargetPool, conn: &Conn) {
        // Only a connection that carried a response tells how the server treats kept-alive
        // connections; one opened ahead of the load may simply have idled out.
        if conn.served == 0 {
            return;
        }
        let stale = tp.stale.fetch_add(1, Ordering::Relaxed) + 1;
        if stale >= STALE_BEFORE_NO_REUSE
            && stale > tp.kept.load(Ordering::Relaxed)
            && !tp.no_reuse.swap(true, Ordering::Relaxed)
        {
            tracing::info!(
                "{}:{} closes connections after its responses without saying so; \
                 opening a new connection for each request",
                tp.target.host,
                tp.target.port
            );
            lock(&tp.idle).clear();
        }
    }

    fn pop_idle(&self, tp: &TargetPool) -> Option<Conn> {
        let mut idle = lock(&tp.idle);
        // Once the server is known to close after each response, only connections that never
        // carried one (opened ahead of the load) are worth taking.
        if tp.no_reuse.load(Ordering::Relaxed) {
            let i = idle.iter().rposition(|c| c.served == 0)?;
            return Some(idle.swap_remove(i));
        }
        idle.pop()
    }

    fn shared_http2(&self, tp: &TargetPool) -> Option<Conn> {
        let shared = lock(&tp.shared);
        shared.as_ref().filter(|c| !c.is_closed()).and_then(share)
    }

    /// The idle connection, if it can still carry a request.
    async fn usable(&self, tp: &TargetPool, mut conn: Conn) -> Option<Conn> {
        if conn.idled_out(Instant::now()) {
            return None;
        }
        let ready = match &mut conn.sender {
            Sender::Http1(s) => !s.is_closed() && s.ready().await.is_ok(),
            Sender::Http2(s) => !s.is_closed() && s.ready().await.is_ok(),
        };
        if ready {
            Some(conn)
        } else {
            self.note_stale(tp, &conn);
            None
        }
    }
}

/// Another handle on a shared HTTP/2 connection (`None` for HTTP/1.1, which cannot be shared).
fn share(conn: &Conn) -> Option<Conn> {
    let Sender::Http2(sender) = &conn.sender else {
        return None;
    };
    Some(Conn {
        sender: Sender::Http2(sender.clone()),
        counters: conn.counters.clone(),
        served: conn.served,
        idle_since: conn.idle_since,
        idle_timeout: conn.idle_timeout,
        opened: conn.opened,
    })
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
