//! One benchmark split across several processes (pods): each shard runs a disjoint share of
//! the seeded load, they start their profiling phase at a common time, and each measures its
//! clock's offset from shard 0 so `aiperf merge` can put every request on one time line.
//!
//! Shares: with N shards, shard i takes the sessions (and schedule arrivals) whose global
//! number k has `k mod N == i`, so the union of the shards is exactly the single-process
//! benchmark with the same seed. Concurrency and request counts are divided the same way
//! (the first `C mod N` shards take one more).
//!
//! Clock: shard 0 answers on a TCP port with its wall clock (nanoseconds since the Unix
//! epoch, one line per connection); the others take the offset from the exchange with the
//! smallest round trip among several (the usual NTP estimate, accurate to half that round
//! trip, which is recorded).

use std::net::SocketAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// What a shard measured about itself, recorded in its summary as `shard`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ShardInfo {
    pub index: u32,
    pub count: u32,
    /// Add to this shard's wall-clock timestamps to get shard 0's clock.
    pub clock_offset_ns: i64,
    /// Round trip of the exchange the offset comes from (the offset is good to half of it).
    pub clock_rtt_ns: Option<u64>,
    pub start_at: Option<f64>,
    /// How late the profiling phase started after `start_at` (0 when on time).
    pub start_lag_ms: Option<f64>,
}

fn now_ns() -> i128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i128)
}

/// Serves this process's clock on `port` until the returned task is aborted. Binds loopback
/// when `host` is local, every interface otherwise (the other shards connect by name).
pub async fn serve_clock(host_port: &str) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    let (host, port) = split(host_port)?;
    let ip = if matches!(host, "localhost" | "127.0.0.1" | "::1") {
        std::net::IpAddr::from([127, 0, 0, 1])
    } else {
        std::net::IpAddr::from([0, 0, 0, 0])
    };
    let listener = TcpListener::bind(SocketAddr::new(ip, port))
        .await
        .map_err(|e| {
            crate::UsageError::new(format!("--shard-clock: cannot listen on port {port}: {e}"))
        })?;
    Ok(tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                continue;
            };
            tokio::spawn(async move {
                let mut line = String::new();
                let mut reader = BufReader::new(&mut stream);
                // One request line per exchange; answer at once.
                while reader.read_line(&mut line).await.is_ok_and(|n| n > 0) {
                    line.clear();
                    let reply = format!("{}\n", now_ns());
                    if reader.get_mut().write_all(reply.as_bytes()).await.is_err() {
                        break;
                    }
                }
            });
        }
    }))
}

/// `HOST:PORT`, checked (the message names `--shard-clock`).
pub fn split(host_port: &str) -> anyhow::Result<(&str, u16)> {
    let (host, port) = host_port.rsplit_once(':').ok_or_else(|| {
        crate::UsageError::new(format!(
            "--shard-clock: {host_port:?} is not HOST:PORT (e.g. my-job-0.my-svc:9555)"
        ))
    })?;
    let port = port
        .parse()
        .map_err(|_| crate::UsageError::new(format!("--shard-clock: bad port in {host_port:?}")))?;
    Ok((host, port))
}

/// Measures this clock's offset from the clock served at `host_port`: the exchange with the
/// smallest round trip of `rounds`. Retries connecting until `patience` runs out (the other
/// pod may start later).
pub async fn measure_offset(
    host_port: &str,
    rounds: usize,
    patience: Duration,
) -> anyhow::Result<(i64, u64)> {
    split(host_port)?;
    let deadline = tokio::time::Instant::now() + patience;
    // Shard 0 may start later, its name may not resolve yet, and something in between may
    // accept the connection before shard 0 answers on it: every failure is retried until
    // the patience runs out.
    loop {
        match exchange(host_port, rounds).await {
            Ok(best) => return Ok(best),
            Err(e) if tokio::time::Instant::now() >= deadline => {
                anyhow::bail!(
                    "shard 0's clock at {host_port} did not answer within {} s: {e:#}",
                    patience.as_secs()
                )
            }
            Err(e) => {
                tracing::debug!("shard 0's clock at {host_port}: {e:#}; retrying");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
}

/// One connection to shard 0's clock and `rounds` exchanges on it.
async fn exchange(host_port: &str, rounds: usize) -> anyhow::Result<(i64, u64)> {
    let stream = TcpStream::connect(host_port).await?;
    stream.set_nodelay(true)?;
    let mut reader = BufReader::new(stream);
    let mut best: Option<(i64, u64)> = None;
    let mut line = String::new();
    for _ in 0..rounds {
        let t0 = now_ns();
        reader.get_mut().write_all(b"t\n").await?;
        line.clear();
        if reader.read_line(&mut line).await? == 0 {
            anyhow::bail!("the connection closed before an answer");
        }
        let t1 = now_ns();
        let remote: i128 = line
            .trim()
            .parse()
            .map_err(|_| anyhow::anyhow!("{host_port} is not an aiperf shard clock"))?;
        let rtt = (t1 - t0).max(0) as u64;
        let offset = (remote - (t0 + t1) / 2) as i64;
        if best.is_none_or(|(_, r)| rtt < r) {
            best = Some((offset, rtt));
        }
    }
    best.ok_or_else(|| anyhow::anyhow!("no clock exchange"))
}

/// Sleeps until `start_at` (Unix seconds on shard 0's clock); returns how late it is, in ms.
pub async fn wait_until(start_at: f64, offset_ns: i64) -> f64 {
    let target_local_ns = (start_at * 1e9) as i128 - i128::from(offset_ns);
    let wait = target_local_ns - now_ns();
    if wait > 0 {
        tokio::time::sleep(Duration::from_nanos(wait as u64)).await;
        0.0
    } else {
        -wait as f64 / 1e6
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::ShardConfig;

    #[test]
    fn shares_partition_the_load() {
        for total in [0_u64, 1, 7, 8, 100] {
            for count in [1_u32, 3, 4] {
                let shards: Vec<ShardConfig> = (0..count)
                    .map(|index| ShardConfig {
                        count,
                        index,
                        clock: None,
                        start_at: None,
                    })
                    .collect();
                let sum: u64 = shards.iter().map(|s| s.share(total)).sum();
                assert_eq!(sum, total, "{total} over {count}");
                for s in &shards {
                    let owned = (0..total).filter(|k| s.owns(*k)).count() as u64;
                    assert_eq!(owned, s.share(total));
                    assert!(s.owns(s.global(5)));
                }
            }
        }
    }

    #[tokio::test]
    async fn offsets_are_measured_against_shard_zero() {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = format!("127.0.0.1:{}", probe.local_addr().unwrap().port());
        drop(probe);
        let server = serve_clock(&addr).await.unwrap();
        let (offset, rtt) = measure_offset(&addr, 8, Duration::from_secs(5))
            .await
            .unwrap();
        // The same machine: the offset is within the round trip.
        assert!(
            offset.unsigned_abs() <= rtt.max(1_000_000),
            "{offset} {rtt}"
        );
        server.abort();
        assert!(split("nonsense").is_err());
    }

    /// A shard that comes up before shard 0 keeps trying: nothing listening yet, then
    /// something that accepts and hangs up (a proxy in front of a pod not ready), then the
    /// clock itself.
    #[tokio::test]
    async fn a_shard_waits_for_shard_zero() {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = format!("127.0.0.1:{}", probe.local_addr().unwrap().port());
        drop(probe);
        let late = addr.clone();
        let starter = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(500)).await;
            let listener = TcpListener::bind(&late).await.unwrap();
            for _ in 0..2 {
                let (stream, _) = listener.accept().await.unwrap();
                drop(stream);
            }
            drop(listener);
            let clock = serve_clock(&late).await.unwrap();
            // Serve long enough for the exchange, then stop.
            tokio::time::sleep(Duration::from_secs(10)).await;
            clock.abort();
        });
        let (offset, rtt) = measure_offset(&addr, 4, Duration::from_secs(20))
            .await
            .unwrap();
        assert!(
            offset.unsigned_abs() <= rtt.max(1_000_000),
            "{offset} {rtt}"
        );
        starter.abort();
        // Never answered: an error naming the address, once the patience is spent.
        let e = measure_offset("127.0.0.1:9", 1, Duration::from_millis(300))
            .await
            .unwrap_err();
        assert!(e.to_string().contains("127.0.0.1:9"), "{e}");
    }
}
