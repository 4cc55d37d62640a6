//! The configuration of an adaptive search and the parsing of its flags.

use crate::UsageError;
use crate::settings::Param;
use crate::settings::SpaceDim;
use crate::settings::{SlaFilter, SlaOp};

/// `PATH:LO,HI[:int|real][:log]`.
pub(super) fn parse_space(raw: &str) -> Result<SpaceDim, UsageError> {
    let bad = |why: &str| {
        UsageError::new(format!(
            "--search-space {raw:?}: {why}; expected PATH:LO,HI[:int|real][:log], e.g. concurrency:1,1000:int"
        ))
    };
    let mut parts = raw.split(':');
    let path = parts.next().unwrap_or("");
    let param = Param::parse(path).ok_or_else(|| {
        bad("unknown path (searchable: concurrency, request_rate, isl, osl, request_count, benchmark_duration)")
    })?;
    let range = parts.next().ok_or_else(|| bad("missing LO,HI"))?;
    let (lo, hi) = range
        .split_once(',')
        .ok_or_else(|| bad("the range needs LO,HI"))?;
    let lo: f64 = lo.trim().parse().map_err(|_| bad("LO is not a number"))?;
    let hi: f64 = hi.trim().parse().map_err(|_| bad("HI is not a number"))?;
    let mut integer = param.integer();
    let mut log = false;
    for flag in parts {
        match flag.trim() {
            "int" => integer = true,
            "real" => integer = false,
            "log" | "log-uniform" => log = true,
            "uniform" => log = false,
            other => return Err(bad(&format!("unknown kind {other:?}"))),
        }
    }
    if !(lo.is_finite() && hi.is_finite() && hi > lo) {
        return Err(bad("HI must be greater than LO"));
    }
    if lo <= 0.0 && (log || param.integer()) {
        return Err(bad("LO must be positive"));
    }
    Ok(SpaceDim {
        param,
        lo,
        hi,
        integer,
        log,
    })
}

/// `TAG:STAT:OP:THRESHOLD` (STAT defaults to p95 when omitted: `TAG:OP:THRESHOLD`).
pub(super) fn parse_sla(raw: &str) -> Result<SlaFilter, UsageError> {
    let bad = |why: &str| {
        UsageError::new(format!(
            "--search-sla {raw:?}: {why}; expected TAG:STAT:OP:THRESHOLD, e.g. time_to_first_token:p95:lt:200"
        ))
    };
    let parts: Vec<&str> = raw.split(':').map(str::trim).collect();
    let (tag, stat, op, thr) = match parts.as_slice() {
        [tag, stat, op, thr] => (*tag, *stat, *op, *thr),
        [tag, op, thr] => (*tag, "p95", *op, *thr),
        _ => return Err(bad("wrong number of fields")),
    };
    if tag.is_empty()
        || !tag
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    {
        return Err(bad("TAG must be a metric tag like time_to_first_token"));
    }
    if !matches!(
        stat,
        "avg"
            | "min"
            | "max"
            | "std"
            | "p1"
            | "p5"
            | "p10"
            | "p25"
            | "p50"
            | "p75"
            | "p90"
            | "p95"
            | "p99"
    ) {
        return Err(bad(&format!("unknown STAT {stat:?}")));
    }
    let op = match op {
        "lt" | "<" => SlaOp::Lt,
        "le" | "<=" => SlaOp::Le,
        "gt" | ">" => SlaOp::Gt,
        "ge" | ">=" => SlaOp::Ge,
        other => return Err(bad(&format!("unknown OP {other:?} (lt, le, gt, ge)"))),
    };
    let threshold: f64 = thr
        .parse()
        .ok()
        .filter(|v: &f64| v.is_finite())
        .ok_or_else(|| bad("THRESHOLD is not a finite number"))?;
    Ok(SlaFilter {
        metric_tag: tag.to_owned(),
        stat: stat.to_owned(),
        op,
        threshold,
    })
}

/// The search tunables shared by explicit searches and recipes.
pub(super) fn check_tunables(s: &crate::cli::profile::SearchArgs) -> Result<(), UsageError> {
    if !(s.search_precision > 0.0 && s.search_precision < 1.0) {
        return Err(UsageError::new(format!(
            "--search-precision must be between 0 and 1 (0.05 = 5 %), got {}",
            s.search_precision
        )));
    }
    if s.search_replicates > 20 {
        return Err(UsageError::new(format!(
            "--search-replicates is at most 20, got {}",
            s.search_replicates
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spaces_parse_with_aliases_and_kinds() {
        let d = parse_space("concurrency:1,1000:int").unwrap();
        assert_eq!(
            (d.param, d.lo, d.hi, d.integer, d.log),
            (Param::Concurrency, 1.0, 1000.0, true, false)
        );
        let d = parse_space("phases.profiling.rate:0.5,20:real:log").unwrap();
        assert_eq!(
            (d.param, d.integer, d.log),
            (Param::RequestRate, false, true)
        );
        assert_eq!(
            parse_space("datasets.main.prompts.isl.mean:128,4096")
                .unwrap()
                .param,
            Param::Isl
        );
        for (raw, needle) in [
            ("temperature:0,1", "unknown path"),
            ("concurrency:10", "LO,HI"),
            ("concurrency:10,1", "greater than LO"),
            ("concurrency:0,10", "LO must be positive"),
            ("concurrency:1,10:float", "unknown kind"),
            ("concurrency:a,10", "LO is not a number"),
        ] {
            let e = parse_space(raw).unwrap_err().to_string();
            assert!(
                e.contains(needle) && e.starts_with("--search-space"),
                "{raw}: {e}"
            );
        }
    }

    #[test]
    fn slas_parse_and_margins_are_signed() {
        let f = parse_sla("time_to_first_token:p95:lt:200").unwrap();
        assert_eq!(
            (f.stat.as_str(), f.op, f.threshold),
            ("p95", SlaOp::Lt, 200.0)
        );
        assert_eq!(f.margin(250.0), 0.25);
        assert_eq!(f.margin(150.0), -0.25);
        let g = parse_sla("good_request_fraction:avg:ge:0.9").unwrap();
        assert!(g.margin(0.95) < 0.0 && g.margin(0.8) > 0.0);
        assert_eq!(parse_sla("request_latency:lt:5").unwrap().stat, "p95");
        for raw in [
            "ttft",
            "time_to_first_token:p95:eq:1",
            "time_to_first_token:p42:lt:1",
            "x:p95:lt:inf",
        ] {
            assert!(
                parse_sla(raw)
                    .unwrap_err()
                    .to_string()
                    .starts_with("--search-sla"),
                "{raw}"
            );
        }
    }
}
