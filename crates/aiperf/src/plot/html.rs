//! The HTML report: its sections, the page around them, and the small builders (escaping,
//! tables, inlined charts) every section is written with.

use std::fmt::Write as _;
use std::path::Path;

use serde_json::Value;

use super::provenance;

/// The page's head and inline CSS: the report references nothing outside itself.
const HEAD: &str = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>aiperf report</title>\n<style>\
     body{font-family:sans-serif;max-width:960px;margin:2em auto;color:#222}h1{font-size:1.6em}\
     h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:2em}figure{margin:1em 0}\
     figure svg{max-width:100%;height:auto}table{border-collapse:collapse;margin:1em 0;font-size:.9em}\
     td,th{border:1px solid #ddd;padding:.3em .6em;text-align:left}th{background:#f4f4f4}\
     pre{background:#f7f7f7;padding:1em;overflow:auto;font-size:.8em}.note{color:#a00}\
     </style></head><body>\n";

/// The report being assembled.
#[derive(Debug, Default)]
pub(super) struct Report {
    sections: Vec<(String, String)>,
}

impl Report {
    pub(super) fn add(&mut self, title: &str, html: String) {
        self.sections.push((title.to_owned(), html));
    }

    /// No section: the directory held nothing to plot.
    pub(super) fn is_empty(&self) -> bool {
        self.sections.is_empty()
    }

    /// The whole page for the results in `results`: the sections in the order they were
    /// added, then how the results were produced.
    pub(super) fn page(&self, results: &Path) -> String {
        let mut html = String::from(HEAD);
        let _ = writeln!(
            html,
            "<h1>aiperf report: {}</h1>",
            esc(&results.display().to_string())
        );
        for (title, body) in &self.sections {
            let _ = writeln!(html, "<h2>{}</h2>\n{body}", esc(title));
        }
        html.push_str("<h2>How these results were produced</h2>\n");
        if let Some((command, cfg)) = provenance::provenance(results) {
            let _ = writeln!(html, "<p>Command:</p><pre>{}</pre>", esc(&command));
            let _ = writeln!(
                html,
                "<details><summary>Configuration</summary><pre>{}</pre></details>",
                esc(&serde_json::to_string_pretty(&cfg).unwrap_or_default())
            );
        }
        let _ = writeln!(
            html,
            "<p>{}</p>\n</body></html>",
            esc(&provenance::environment())
        );
        html
    }
}

pub(super) fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn figure(svg: &str) -> String {
    // Inline the SVG without its XML declaration.
    let body = svg.find("<svg").map_or(svg, |i| &svg[i..]);
    format!("<figure>{body}</figure>\n")
}

/// The chart inlined, or why it could not be drawn: one failed chart does not sink the report.
pub(super) fn chart_or_note(res: Result<String, String>) -> String {
    match res {
        Ok(svg) => figure(&svg),
        Err(e) => format!("<p class=\"note\">chart not drawn: {}</p>", esc(&e)),
    }
}

pub(super) fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut t = String::from("<table><tr>");
    for h in header {
        let _ = write!(t, "<th>{}</th>", esc(h));
    }
    t.push_str("</tr>");
    for r in rows {
        t.push_str("<tr>");
        for c in r {
            let _ = write!(t, "<td>{}</td>", esc(c));
        }
        t.push_str("</tr>");
    }
    t.push_str("</table>\n");
    t
}

/// A number with two decimals, or a dash where the value is missing.
pub(super) fn num(v: &Value) -> String {
    v.as_f64().map_or("–".into(), |x| format!("{x:.2}"))
}
