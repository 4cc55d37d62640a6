//! The HTML report: its sections, the page around them, and the small builders (escaping,
//! tables, interactive charts) every section is written with.
//!
//! The page is one file that opens offline: uPlot (assets/uplot, MIT) and our own
//! `assets/report/report.js` and `report.css` are inlined, every chart travels as JSON next to
//! its figure, and a Content-Security-Policy forbids the page any network request.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use super::chart::{self, Chart, Heatmap, Out};
use super::{Options, provenance};

pub(super) use super::chart::human;

const UPLOT_JS: &str = include_str!("../../assets/uplot/uPlot.iife.min.js");
const UPLOT_CSS: &str = include_str!("../../assets/uplot/uPlot.min.css");
const REPORT_JS: &str = include_str!("../../assets/report/report.js");
const REPORT_CSS: &str = include_str!("../../assets/report/report.css");
const LIVE_JS: &str = include_str!("../../assets/report/live.js");

/// No request may leave the page: scripts and styles are inline, images are data URIs; the
/// dashboard's page may ask its own server whether the results changed.
fn content_security_policy(live: bool) -> &'static str {
    if live {
        "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; \
         img-src data: 'self'; connect-src 'self'"
    } else {
        "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:"
    }
}

/// The report being assembled: sections in order, and what its header shows.
#[derive(Debug, Default)]
pub(super) struct Report {
    options: Options,
    sections: Vec<(String, String)>,
    /// Headline figures: (label, value, detail).
    keys: Vec<(String, String, String)>,
    /// Blocks shown under the header (best configurations, Pareto table, SLA verdicts).
    highlights: Vec<(String, String)>,
}

impl Report {
    pub(super) fn new(options: &Options) -> Self {
        Self {
            options: options.clone(),
            ..Self::default()
        }
    }

    pub(super) fn add(&mut self, title: &str, html: String) {
        self.sections.push((title.to_owned(), html));
    }

    /// A headline figure for the header: "Request throughput", "12.3 requests/s", "p99 …".
    pub(super) fn key(&mut self, label: &str, value: String, detail: String) {
        self.keys.push((label.to_owned(), value, detail));
    }

    /// A block for the top of the report, under the headline figures.
    pub(super) fn highlight(&mut self, title: &str, html: String) {
        self.highlights.push((title.to_owned(), html));
    }

    /// Another report's sections, headlines and highlights, titles prefixed with `label`.
    pub(super) fn extend_titled(&mut self, label: &str, other: Report) {
        let titled = |(t, h): (String, String)| (format!("{label}: {t}"), h);
        self.sections.extend(other.sections.into_iter().map(titled));
        self.highlights
            .extend(other.highlights.into_iter().map(titled));
        self.keys.extend(
            other
                .keys
                .into_iter()
                .map(|(l, v, d)| (format!("{label}: {l}"), v, d)),
        );
    }

    /// No section: the directories held nothing to plot.
    pub(super) fn is_empty(&self) -> bool {
        self.sections.is_empty()
    }

    /// The whole page for the results in `paths`: header (what ran, against what, when, the
    /// headline figures and highlights), the sections in the order they were added, then how
    /// the results were produced.
    pub(super) fn page(&self, paths: &[PathBuf]) -> String {
        let theme = self.options.theme.name();
        let mut html = String::with_capacity(UPLOT_JS.len() + 64 * 1024);
        let _ = write!(
            html,
            "<!DOCTYPE html>\n<html lang=\"en\" data-theme=\"{theme}\"{}><head><meta charset=\"utf-8\">\
             <meta http-equiv=\"Content-Security-Policy\" content=\"{}\">\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
             <title>aiperf report: {}</title>\n<style>{UPLOT_CSS}\n{REPORT_CSS}</style></head><body>\n",
            if self.options.live {
                " data-live=\"1\""
            } else {
                ""
            },
            content_security_policy(self.options.live),
            esc(&title_of(paths)),
        );
        self.header(&mut html, paths);
        for (i, (title, body)) in self.sections.iter().enumerate() {
            let _ = writeln!(
                html,
                "<section id=\"s{i}\"><h2>{}</h2>\n{body}</section>",
                esc(title)
            );
        }
        html.push_str("<section id=\"provenance\"><h2>How these results were produced</h2>\n");
        for path in paths {
            if let Some((command, cfg)) = provenance::provenance(path) {
                if paths.len() > 1 {
                    let _ = writeln!(html, "<h3>{}</h3>", esc(&path.display().to_string()));
                }
                let _ = writeln!(html, "<p>Command:</p><pre>{}</pre>", esc(&command));
                let _ = writeln!(
                    html,
                    "<details><summary>Configuration</summary><pre>{}</pre></details>",
                    esc(&serde_json::to_string_pretty(&cfg).unwrap_or_default())
                );
            }
        }
        let _ = writeln!(
            html,
            "<p class=\"muted\">{}</p></section>\n<script>{UPLOT_JS}</script>\n<script>{REPORT_JS}</script>",
            esc(&provenance::environment())
        );
        if self.options.live {
            let _ = writeln!(html, "<script>{LIVE_JS}</script>");
        }
        html.push_str("</body></html>\n");
        html
    }

    /// The title, what ran (model, endpoint, server, date per directory), the headline
    /// figures, the highlights and a table of contents.
    fn header(&self, html: &mut String, paths: &[PathBuf]) {
        html.push_str(
            "<header><div class=\"bar\"><h1>aiperf report</h1>\
             <button id=\"theme-toggle\" type=\"button\" title=\"Switch light/dark\">◐ theme</button></div>\n",
        );
        for path in paths {
            let facts = provenance::facts(path);
            let _ = write!(
                html,
                "<p class=\"what\"><code>{}</code>",
                esc(&path.display().to_string())
            );
            for (k, v) in facts {
                let _ = write!(
                    html,
                    " <span class=\"fact\"><span class=\"muted\">{}</span> {}</span>",
                    esc(&k),
                    esc(&v)
                );
            }
            html.push_str("</p>\n");
        }
        if !self.keys.is_empty() {
            html.push_str("<div class=\"cards\">");
            for (label, value, detail) in &self.keys {
                let _ = write!(
                    html,
                    "<div class=\"card\"><div class=\"label\">{}</div><div class=\"value\">{}</div><div class=\"detail\">{}</div></div>",
                    esc(label),
                    esc(value),
                    esc(detail)
                );
            }
            html.push_str("</div>\n");
        }
        for (title, body) in &self.highlights {
            let _ = writeln!(
                html,
                "<div class=\"highlight\"><h3>{}</h3>{body}</div>",
                esc(title)
            );
        }
        html.push_str("<nav>");
        for (i, (title, _)) in self.sections.iter().enumerate() {
            let _ = write!(html, "<a href=\"#s{i}\">{}</a> ", esc(title));
        }
        html.push_str("<a href=\"#provenance\">how it was produced</a></nav></header>\n");
    }
}

fn title_of(paths: &[PathBuf]) -> String {
    let names: Vec<String> = paths
        .iter()
        .map(|p| {
            p.file_name()
                .map_or_else(|| p.display().to_string(), |n| n.to_string_lossy().into())
        })
        .collect();
    names.join(" vs ")
}

pub(super) fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// JSON that may sit inside a `<script>` element: `<` escaped so no `</script>` ends it.
fn script_json(json: &str) -> String {
    json.replace('<', "\\u003c")
}

/// The chart as an interactive figure (drawn by the page's script from its JSON) with its PNG
/// and SVG exports written beside the report; nothing for a chart without data, a note where
/// drawing failed (one failed chart does not sink the report).
pub(super) fn figure(c: &Chart, out: &Out, stem: &str) -> String {
    match chart::render(c, out, stem) {
        Ok(false) => String::new(),
        Ok(true) => {
            let (page_chart, thinned) = thin(c);
            let spec = serde_json::to_string(&page_chart).unwrap_or_else(|_| "{}".into());
            format!(
                "<figure class=\"chart\" data-stem=\"{stem}\"><script type=\"application/json\" class=\"chart-spec\">{}</script>\
                 <figcaption>{thinned}<a href=\"{stem}.png\" download>PNG</a> <a href=\"{stem}.svg\" download>SVG</a></figcaption></figure>\n",
                script_json(&spec),
                stem = esc(stem)
            )
        }
        Err(e) => format!("<p class=\"note\">chart not drawn: {}</p>", esc(&e)),
    }
}

/// Most points a series keeps in the page; the exported PNG and SVG draw them all.
const PAGE_POINTS: usize = 4000;

/// The chart for the page, its long series thinned to about [`PAGE_POINTS`] (an even sample
/// plus the highest 1 %, so the tail stays visible), and a caption saying so.
fn thin(c: &Chart) -> (Chart, String) {
    let mut page = c.clone();
    let mut note = String::new();
    for s in &mut page.series {
        let n = s.points.len();
        if n <= PAGE_POINTS || !s.labels.is_empty() {
            continue;
        }
        let step = n.div_ceil(PAGE_POINTS * 99 / 100);
        let mut by_y: Vec<usize> = (0..n).collect();
        by_y.sort_by(|a, b| s.points[*b].1.total_cmp(&s.points[*a].1));
        let mut keep = vec![false; n];
        for i in by_y.into_iter().take(n / 100) {
            keep[i] = true;
        }
        for i in (0..n).step_by(step) {
            keep[i] = true;
        }
        s.points = s
            .points
            .iter()
            .zip(&keep)
            .filter_map(|(p, k)| k.then_some(*p))
            .collect();
        let _ = write!(
            note,
            "{}: {} of {n} points shown (every {step}th and the highest 1 %). ",
            if s.name.is_empty() { "values" } else { &s.name },
            s.points.len()
        );
    }
    (page, esc(&note))
}

/// A heat map as a table of coloured cells (hover shows the cell), its PNG and SVG exports
/// written beside the report.
pub(super) fn heatmap_figure(map: &Heatmap, out: &Out, stem: &str) -> String {
    let Heatmap {
        title,
        x_label,
        y_label,
        x_axis,
        y_axis,
        grid,
    } = map;
    let values: Vec<f64> = grid.iter().flatten().flatten().copied().collect();
    if values.is_empty() {
        return String::new();
    }
    if let Err(e) = chart::heatmap(map, out, stem) {
        return format!("<p class=\"note\">chart not drawn: {}</p>", esc(&e));
    }
    let lo = values.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let mut t = format!(
        "<figure class=\"heatmap\" data-stem=\"{}\"><div class=\"fig-title\">{}</div><table class=\"heat\"><tr><th>{} \\ {}</th>",
        esc(stem),
        esc(title),
        esc(y_label),
        esc(x_label)
    );
    for x in x_axis {
        let _ = write!(t, "<th>{}</th>", human(*x, ""));
    }
    t.push_str("</tr>");
    for (j, y) in y_axis.iter().enumerate() {
        let _ = write!(t, "<tr><th>{}</th>", human(*y, ""));
        for (i, x) in x_axis.iter().enumerate() {
            match grid.get(i).and_then(|r| r.get(j)).copied().flatten() {
                Some(v) => {
                    let level = if hi > lo { (v - lo) / (hi - lo) } else { 0.5 };
                    let _ = write!(
                        t,
                        "<td style=\"--heat:{level:.3}\" title=\"{x_label} {} · {y_label} {} · {}\">{}</td>",
                        human(*x, ""),
                        human(*y, ""),
                        human(v, "ms"),
                        human(v, ""),
                    );
                }
                None => t.push_str("<td></td>"),
            }
        }
        t.push_str("</tr>");
    }
    let _ = writeln!(
        t,
        "</table><figcaption><a href=\"{stem}.png\" download>PNG</a> <a href=\"{stem}.svg\" download>SVG</a></figcaption></figure>",
        stem = esc(stem)
    );
    t
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

/// Parameters as `concurrency=8, isl=512`: each key's last dotted part and its value.
pub(super) fn params_label(v: &serde_json::Value) -> String {
    v.as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| format!("{}={v}", k.rsplit('.').next().unwrap_or(k)))
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default()
}

/// A number in human units (see [`human`]), or a dash where the value is missing.
pub(super) fn num(v: &serde_json::Value, unit: &str) -> String {
    v.as_f64().map_or("–".into(), |x| human(x, unit))
}

/// Where the report's files go for `path`.
pub(super) fn out_for(dir: &Path, options: &Options) -> Out {
    Out {
        dir: dir.to_path_buf(),
        theme: options.theme,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plot::chart::{Series, Style};

    #[test]
    fn long_series_are_thinned_for_the_page_keeping_the_tail() {
        let pts: Vec<(f64, f64)> = (0..10_000)
            .map(|i| (f64::from(i), f64::from((i * 7919) % 10_007)))
            .collect();
        let max = pts.iter().map(|p| p.1).fold(f64::MIN, f64::max);
        let c = Chart {
            series: vec![
                Series::points("ttft", pts, Style::Points),
                Series::line("short", vec![(0.0, 1.0), (1.0, 2.0)]),
            ],
            ..Chart::default()
        };
        let (page, note) = thin(&c);
        let kept = &page.series[0].points;
        assert!(
            kept.len() <= PAGE_POINTS + 100 && kept.len() >= PAGE_POINTS / 2,
            "{}",
            kept.len()
        );
        assert!(kept.iter().any(|p| p.1 == max), "the highest value stays");
        assert!(kept.windows(2).all(|w| w[0].0 < w[1].0), "order kept");
        assert_eq!(page.series[1].points.len(), 2);
        assert!(note.contains("of 10000 points shown"), "{note}");
        let short = Chart {
            series: vec![page.series[1].clone()],
            ..Chart::default()
        };
        assert_eq!(thin(&short).1, "", "short series are left alone");
    }

    #[test]
    fn chart_json_cannot_close_its_script_element() {
        assert_eq!(
            script_json(r#"{"title":"</script><b>"}"#),
            r#"{"title":"\u003c/script>\u003cb>"}"#
        );
    }
}
