//! Artifacts through pod logs: a pod without a shared volume prints its run's files as a
//! bundle (a gzipped tar, base64, between marker lines); `aiperf kube collect` finds the
//! bundles in the logs and unpacks them, so the aggregation sees what a volume would hold.

use std::io::{BufRead, Write};
use std::path::Path;

use anyhow::Context;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

const BEGIN: &str = "AIPERF-BUNDLE-BEGIN v1";
const END: &str = "AIPERF-BUNDLE-END";
/// Base64 characters per log line (short lines survive every log pipeline).
const LINE: usize = 76;

/// Prints `run_dir` (and `base`'s plan file) as a bundle; paths are relative to `base`.
pub fn write(base: &Path, run_dir: &Path, out: &mut impl Write) -> anyhow::Result<()> {
    let rel = run_dir.strip_prefix(base).unwrap_or(run_dir);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    {
        let mut tar = tar::Builder::new(&mut gz);
        let plan = base.join(crate::sweep::PLAN_FILE);
        if plan.is_file() {
            tar.append_path_with_name(&plan, crate::sweep::PLAN_FILE)
                .context("bundling the plan")?;
        }
        tar.append_dir_all(rel, run_dir)
            .with_context(|| format!("bundling {}", run_dir.display()))?;
        tar.finish()?;
    }
    let encoded = STANDARD.encode(gz.finish()?);
    writeln!(out, "{BEGIN} {}", rel.display())?;
    for chunk in encoded.as_bytes().chunks(LINE) {
        out.write_all(chunk)?;
        out.write_all(b"\n")?;
    }
    writeln!(out, "{END}")?;
    out.flush()?;
    Ok(())
}

/// Unpacks every bundle found in `log` into `dir`; returns how many there were. Lines
/// outside bundles (the pod's own output) are ignored; a damaged bundle is an error naming it.
pub fn unpack(log: impl BufRead, dir: &Path) -> anyhow::Result<usize> {
    let mut found = 0;
    let mut current: Option<(String, String)> = None;
    for line in log.lines() {
        let line = line.context("reading the log")?;
        // Log collectors may prefix lines (timestamps, pod names): find the markers anywhere.
        if let Some(pos) = line.find(BEGIN) {
            let name = line[pos + BEGIN.len()..].trim().to_owned();
            current = Some((name, String::new()));
        } else if line.contains(END) {
            if let Some((name, data)) = current.take() {
                let bytes = STANDARD
                    .decode(data.as_bytes())
                    .with_context(|| format!("bundle {name}: not valid base64"))?;
                let gz = flate2::read::GzDecoder::new(bytes.as_slice());
                tar::Archive::new(gz)
                    .unpack(dir)
                    .with_context(|| format!("bundle {name}: cannot unpack"))?;
                found += 1;
            }
        } else if let Some((_, data)) = current.as_mut() {
            data.push_str(line.split_whitespace().last().unwrap_or(""));
        }
    }
    if let Some((name, _)) = current {
        anyhow::bail!("bundle {name} is cut off (the log ends before its end marker)");
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundles_round_trip_through_noisy_logs() {
        let src = tempfile::tempdir().unwrap();
        let base = src.path();
        std::fs::write(base.join(crate::sweep::PLAN_FILE), b"{\"plan\": 1}").unwrap();
        let run = base.join("concurrency_4");
        std::fs::create_dir_all(&run).unwrap();
        std::fs::write(run.join("profile_export_aiperf.json"), b"{\"x\": 1}").unwrap();
        std::fs::write(run.join(".aiperf_results_ready.json"), b"{}").unwrap();
        let mut log = b"some pod output\n".to_vec();
        write(base, &run, &mut log).unwrap();
        log.extend_from_slice(b"more output\n");
        // A log pipeline that prefixes every line with a timestamp.
        let prefixed: String = String::from_utf8(log)
            .unwrap()
            .lines()
            .map(|l| format!("2026-11-25T10:00:00Z {l}\n"))
            .collect();
        let dst = tempfile::tempdir().unwrap();
        assert_eq!(unpack(prefixed.as_bytes(), dst.path()).unwrap(), 1);
        assert_eq!(
            std::fs::read(dst.path().join("concurrency_4/profile_export_aiperf.json")).unwrap(),
            b"{\"x\": 1}"
        );
        assert!(dst.path().join(crate::sweep::PLAN_FILE).is_file());
        assert!(
            dst.path()
                .join("concurrency_4/.aiperf_results_ready.json")
                .is_file()
        );

        let cut: String = prefixed.lines().take(3).map(|l| format!("{l}\n")).collect();
        let err = unpack(cut.as_bytes(), dst.path()).unwrap_err().to_string();
        assert!(err.contains("cut off"), "{err}");
    }
}
