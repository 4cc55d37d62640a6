//! `burst_gpt_trace`: BurstGPT's CSV (`Timestamp,Model,Request tokens,Response tokens,...`),
//! each row an independent request of those token counts; timestamps are seconds. Rows whose
//! counts cannot be read are skipped (as the Python AIPerf skips them), with a warning.

use super::trace::TraceRow;
use super::{Loader, lines};
use crate::UsageError;

const COLUMNS: [&str; 3] = ["Timestamp", "Request tokens", "Response tokens"];

/// The rows of a BurstGPT CSV.
pub(super) fn rows(loader: &Loader<'_, '_>, text: &str) -> Result<Vec<TraceRow>, UsageError> {
    let mut lines = lines(text);
    let Some((header_line, header)) = lines.next() else {
        return Ok(Vec::new());
    };
    let names: Vec<&str> = split(header);
    let index = |column: &str| names.iter().position(|n| *n == column);
    let (Some(ts), Some(req), Some(resp)) =
        (index(COLUMNS[0]), index(COLUMNS[1]), index(COLUMNS[2]))
    else {
        return Err(loader.error(
            header_line,
            format!(
                "the header lacks a column of {} (found: {})",
                COLUMNS.join(", "),
                names.join(", ")
            ),
        ));
    };
    let mut rows = Vec::new();
    let mut skipped = 0;
    for (line, l) in lines {
        let fields = split(l);
        let get = |i: usize| fields.get(i).map(|f| f.trim());
        let parsed = (
            get(ts)
                .and_then(|v| v.parse::<f64>().ok())
                .filter(|t| t.is_finite() && *t >= 0.0),
            get(req).and_then(|v| v.parse::<u32>().ok()),
            get(resp).and_then(|v| v.parse::<u32>().ok()),
        );
        let (Some(timestamp), Some(input), Some(output)) = parsed else {
            skipped += 1;
            continue;
        };
        rows.push(TraceRow {
            line,
            session: None,
            timestamp: Some(timestamp * 1000.0),
            delay: None,
            input_length: Some(input.max(1)),
            output_length: Some(output.max(1)),
            hash_ids: Vec::new(),
            text: None,
        });
    }
    if skipped > 0 {
        tracing::warn!(
            "--input-file: {} rows of {} have no readable timestamp or token counts; skipped",
            skipped,
            loader.path.display()
        );
    }
    Ok(rows)
}

/// The fields of a CSV line (BurstGPT quotes nothing; quotes around a field are dropped).
fn split(line: &str) -> Vec<&str> {
    line.split(',')
        .map(|f| f.trim().trim_matches('"'))
        .collect()
}
