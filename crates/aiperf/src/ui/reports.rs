//! What the commands beside `profile` print: the trace analysis, the synthesized dataset's
//! summary, the SPEED-Bench matrix. Each takes plain rows and returns or prints the text.

use comfy_table::{CellAlignment, ContentArrangement, Table, presets::UTF8_FULL_CONDENSED};

use super::table::grouped;

/// A table under a centred `title`; every column right-aligned except those in `left`.
pub fn titled_table(title: &str, header: &[&str], rows: &[Vec<String>], left: &[usize]) -> String {
    let mut table = Table::new();
    table
        .load_preset(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Disabled)
        .set_header(header.iter().copied());
    for row in rows {
        table.add_row(row.clone());
    }
    for (i, column) in table.column_iter_mut().enumerate() {
        column.set_cell_alignment(if left.contains(&i) {
            CellAlignment::Left
        } else {
            CellAlignment::Right
        });
    }
    let body = table.to_string();
    let width = body.lines().next().map_or(0, |l| l.chars().count());
    format!("{title:^width$}\n{body}\n")
}

/// `aiperf analyze-trace`'s report: the counts, then a row of seven figures per distribution
/// (`None`: no values, shown as N/A).
pub fn trace_analysis(
    counts: &[(&str, usize)],
    columns: &[&str],
    rows: &[(&str, Option<[f64; 7]>)],
) -> String {
    let mut out = String::from("\nTrace Analysis Report\n");
    for (name, n) in counts {
        let label = format!("{name}:");
        out.push_str(&format!("{label:<18}{}\n", thousands(*n)));
    }
    out.push('\n');
    let mut header = vec!["Metric"];
    header.extend_from_slice(columns);
    let body: Vec<Vec<String>> = rows
        .iter()
        .map(|(name, figures)| {
            let mut row = vec![(*name).to_owned()];
            match figures {
                Some(f) => row.extend(f.iter().map(|v| grouped(*v))),
                None => row.extend(std::iter::repeat_n("N/A".to_owned(), columns.len())),
            }
            row
        })
        .collect();
    out.push_str(&titled_table("Trace Statistics", &header, &body, &[]));
    out
}

/// An integer with thousands separators.
pub fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_trace_report_lists_counts_then_figures() {
        let text = trace_analysis(
            &[("Total requests", 1234)],
            &["Mean", "Std Dev", "Min", "P25", "Median", "P75", "Max"],
            &[
                ("Input Length", Some([1500.0, 2.0, 0.0, 0.0, 0.0, 0.0, 0.0])),
                ("Hits", None),
            ],
        );
        assert!(text.contains("Total requests:   1,234\n"), "{text}");
        assert!(text.contains("1,500.00"), "{text}");
        assert!(text.contains("N/A"), "{text}");
        assert!(text.contains("Trace Statistics"), "{text}");
    }
}
