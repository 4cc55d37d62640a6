//! The sweep section: each metric against the last swept parameter (one line per combination
//! of the others), the Pareto frontier, the best configurations and a row per cell.

use serde_json::Value;

use super::chart::{Chart, Out, Series, Style};
use super::html::{Report, figure, human, num, params_label, table};

/// x, y and, with several trials, the confidence interval of y.
type BandPoint = (f64, f64, Option<(f64, f64)>);

/// What the server and its GPUs reported, per sweep cell: (key, title, unit, charted).
const SERVER_FIGURES: [(&str, &str, &str, bool); 5] = [
    (
        "server_running_requests_avg",
        "Server running requests",
        "requests",
        true,
    ),
    (
        "server_waiting_requests_avg",
        "Server waiting requests",
        "requests",
        false,
    ),
    ("server_kv_cache_usage_avg", "KV-cache usage", "%", true),
    ("nvidia_total_gpu_power_avg", "Total GPU power", "W", true),
    (
        "nvidia_energy_per_output_token_avg",
        "Energy per output token",
        "mJ/token",
        true,
    ),
];

/// A sweep aggregate and what all its charts and tables share.
#[derive(Debug)]
struct Sweep<'a> {
    doc: &'a Value,
    cells: &'a [Value],
    /// The last swept parameter: the x axis.
    x_name: &'a str,
    /// The cells by the values of the other parameters, in first-seen order: one line each.
    groups: Vec<(String, Vec<&'a Value>)>,
    /// p99 TTFT where every cell has it, p99 request latency otherwise.
    latency_key: &'static str,
    log_x: bool,
    /// The parameters of the Pareto-optimal cells.
    pareto: Vec<&'a Value>,
}

/// A sweep: throughput and latency against the swept parameter, and the Pareto frontier.
pub(super) fn sweep(doc: &Value, out: &Out, report: &mut Report) {
    let params: Vec<String> = doc["metadata"]["sweep_parameters"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|p| p["name"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let cells = doc["per_combination_metrics"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    let Some((x_name, others)) = params.split_last() else {
        return;
    };
    if cells.is_empty() {
        return;
    }
    let sweep = Sweep::new(doc, cells, x_name, others);
    let mut html = String::new();
    for (key, title, unit) in sweep.charted_metrics() {
        html.push_str(&sweep.metric_chart(key, title, unit, out));
    }
    html.push_str(&sweep.pareto_chart(out));
    html.push_str(&sweep.cell_table());
    let best = best_configurations(doc);
    if !best.is_empty() {
        report.highlight("Best configurations", best);
    }
    let front = sweep.pareto_table();
    if !front.is_empty() {
        report.highlight("Pareto frontier (throughput vs latency)", front);
    }
    report.key(
        "Sweep",
        format!("{} configurations", cells.len()),
        format!("{} Pareto optimal", sweep.pareto.len()),
    );
    for (k, label) in [
        ("best_throughput", "Best throughput"),
        ("best_latency_p99", "Best p99 latency"),
    ] {
        let b = &doc["best_configurations"][k];
        if let Some(v) = b["metric"].as_f64() {
            report.key(
                label,
                human(v, b["unit"].as_str().unwrap_or("")),
                Sweep::label(b),
            );
        }
    }
    report.add("Sweep", html);
}

impl<'a> Sweep<'a> {
    fn new(doc: &'a Value, cells: &'a [Value], x_name: &'a str, others: &[String]) -> Self {
        let mut groups: Vec<(String, Vec<&Value>)> = Vec::new();
        for c in cells {
            let k = others
                .iter()
                .map(|p| format!("{p}={}", c["parameters"][p]))
                .collect::<Vec<_>>()
                .join(", ");
            match groups.iter_mut().find(|g| g.0 == k) {
                Some(g) => g.1.push(c),
                None => groups.push((k, vec![c])),
            }
        }
        let latency_key = if cells
            .iter()
            .all(|c| c["metrics"]["time_to_first_token_p99"].is_object())
        {
            "time_to_first_token_p99"
        } else {
            "request_latency_p99"
        };
        // A log axis once the swept values are positive and span a factor of 8 or more.
        let xs: Vec<f64> = cells
            .iter()
            .filter_map(|c| c["parameters"][x_name].as_f64())
            .collect();
        let log_x = xs.iter().all(|x| *x > 0.0)
            && xs.iter().copied().fold(f64::NEG_INFINITY, f64::max)
                / xs.iter().copied().fold(f64::INFINITY, f64::min)
                >= 8.0;
        let pareto = doc["pareto_optimal"]
            .as_array()
            .map(|a| a.iter().collect())
            .unwrap_or_default();
        Self {
            doc,
            cells,
            x_name,
            groups,
            latency_key,
            log_x,
            pareto,
        }
    }

    /// Whether any cell reports `key` with a value other than zero (a figure the server never
    /// reported reads as zero everywhere and is left out).
    fn has(&self, key: &str) -> bool {
        self.cells
            .iter()
            .any(|c| c["metrics"][key]["mean"].as_f64().is_some_and(|v| v != 0.0))
    }

    fn is_pareto(&self, cell: &Value) -> bool {
        self.pareto.contains(&&cell["parameters"])
    }

    /// The metrics charted against the swept parameter: (key, title, unit).
    fn charted_metrics(&self) -> Vec<(&'static str, &'static str, &'static str)> {
        let latency_title = if self.latency_key.starts_with("time") {
            "TTFT p99"
        } else {
            "Request latency p99"
        };
        let server_charts = SERVER_FIGURES
            .iter()
            .filter(|(key, _, _, charted)| *charted && self.has(key))
            .map(|(key, title, unit, _)| (*key, *title, *unit));
        [
            ("request_throughput_avg", "Request throughput", "requests/s"),
            (
                "output_token_throughput_avg",
                "Output token throughput",
                "tokens/s",
            ),
            (self.latency_key, latency_title, "ms"),
        ]
        .into_iter()
        .chain(server_charts)
        .collect()
    }

    /// One metric against the swept parameter, a line per group, with its inflection points.
    fn metric_chart(&self, key: &str, title: &str, unit: &str, out: &Out) -> String {
        let series: Vec<Series> = self
            .groups
            .iter()
            .map(|(name, cells)| self.group_series(name, cells, key, title))
            .collect();
        let vlines: Vec<(f64, String)> = self.doc["trends"][key]["inflection_points"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_f64)
                    .map(|x| (x, format!("inflection {x}")))
                    .collect()
            })
            .unwrap_or_default();
        let chart = Chart {
            title: format!("{title} vs {}", self.x_name),
            x_label: self.x_name.to_owned(),
            y_label: title.into(),
            y_unit: unit.into(),
            series,
            vlines,
            log_x: self.log_x,
            sync: "sweep".into(),
            ..Chart::default()
        };
        figure(&chart, out, &format!("sweep_{key}"))
    }

    /// One group's means of `key` by the swept value, banded when every point has an interval.
    fn group_series(&self, name: &str, cells: &[&Value], key: &str, title: &str) -> Series {
        let mut pts: Vec<BandPoint> = cells
            .iter()
            .filter_map(|c| {
                let b = &c["metrics"][key];
                let lo_hi = b["ci_low"].as_f64().zip(b["ci_high"].as_f64());
                Some((
                    c["parameters"][self.x_name].as_f64()?,
                    b["mean"].as_f64()?,
                    lo_hi,
                ))
            })
            .collect();
        pts.sort_by(|a, b| a.0.total_cmp(&b.0));
        let band = pts.iter().all(|p| p.2.is_some()).then(|| {
            pts.iter()
                .map(|p| (p.0, p.2.unwrap_or_default().0, p.2.unwrap_or_default().1))
                .collect()
        });
        Series {
            name: if name.is_empty() {
                title.to_owned()
            } else {
                name.to_owned()
            },
            points: pts.iter().map(|p| (p.0, p.1)).collect(),
            band,
            style: Style::Line,
            labels: Vec::new(),
        }
    }

    /// A short label of a cell's parameters: `concurrency=8` or `concurrency=8, isl=512`.
    fn label(cell: &Value) -> String {
        params_label(&cell["parameters"])
    }

    /// A cell's (latency, throughput) point, if it has both.
    fn pareto_point(&self, c: &Value) -> Option<(f64, f64)> {
        Some((
            c["metrics"][self.latency_key]["mean"].as_f64()?,
            c["metrics"]["request_throughput_avg"]["mean"].as_f64()?,
        ))
    }

    /// Throughput against latency, the Pareto frontier drawn and dominated cells grey, every
    /// point labelled with its configuration.
    fn pareto_chart(&self, out: &Out) -> String {
        let labelled = |cells: &[&Value]| -> (Vec<(f64, f64)>, Vec<String>) {
            let mut v: Vec<((f64, f64), String)> = cells
                .iter()
                .filter_map(|c| Some((self.pareto_point(c)?, Self::label(c))))
                .collect();
            v.sort_by(|a, b| a.0.0.total_cmp(&b.0.0));
            v.into_iter().unzip()
        };
        let (front, rest): (Vec<&Value>, Vec<&Value>) =
            self.cells.iter().partition(|c| self.is_pareto(c));
        let (front_pts, front_labels) = labelled(&front);
        let (rest_pts, rest_labels) = labelled(&rest);
        let chart = Chart {
            title: "Throughput vs latency (Pareto frontier)".into(),
            x_label: format!("{} (mean)", self.latency_key),
            y_label: "request throughput".into(),
            x_unit: "ms".into(),
            y_unit: "requests/s".into(),
            series: vec![
                Series::points("dominated", rest_pts, Style::Muted).labelled(rest_labels),
                Series::line("frontier", front_pts.clone()),
                Series::points("Pareto optimal", front_pts, Style::Highlight)
                    .labelled(front_labels),
            ],
            ..Chart::default()
        };
        figure(&chart, out, "sweep_pareto")
    }

    /// The Pareto-optimal configurations by latency: what each buys in throughput.
    fn pareto_table(&self) -> String {
        let mut front: Vec<(&Value, (f64, f64))> = self
            .cells
            .iter()
            .filter(|c| self.is_pareto(c))
            .filter_map(|c| Some((c, self.pareto_point(c)?)))
            .collect();
        if front.is_empty() {
            return String::new();
        }
        front.sort_by(|a, b| a.1.0.total_cmp(&b.1.0));
        let rows: Vec<Vec<String>> = front
            .iter()
            .map(|(c, (lat, thr))| {
                vec![
                    Self::label(c),
                    human(*thr, "requests/s"),
                    num(
                        &c["metrics"]["output_token_throughput_avg"]["mean"],
                        "tokens/s",
                    ),
                    human(*lat, "ms"),
                ]
            })
            .collect();
        let latency = format!("{} (mean)", self.latency_key);
        table(
            &[
                "configuration",
                "request throughput",
                "output token throughput",
                &latency,
            ],
            &rows,
        )
    }

    /// A row per cell: throughput, latency, whether it is Pareto optimal, and what the
    /// server and GPUs reported.
    fn cell_table(&self) -> String {
        let figures: Vec<&(&str, &str, &str, bool)> =
            SERVER_FIGURES.iter().filter(|f| self.has(f.0)).collect();
        let rows: Vec<Vec<String>> = self
            .cells
            .iter()
            .map(|c| {
                let mut row = vec![
                    Self::label(c),
                    num(
                        &c["metrics"]["request_throughput_avg"]["mean"],
                        "requests/s",
                    ),
                    num(&c["metrics"][self.latency_key]["mean"], "ms"),
                    if self.is_pareto(c) {
                        "yes".into()
                    } else {
                        String::new()
                    },
                ];
                row.extend(figures.iter().map(|f| num(&c["metrics"][f.0]["mean"], f.2)));
                row
            })
            .collect();
        let latency_header = self.latency_key.to_owned();
        let figure_headers: Vec<String> = figures
            .iter()
            .map(|(_, title, _, _)| (*title).to_owned())
            .collect();
        let mut header = vec![
            "configuration",
            "request throughput",
            latency_header.as_str(),
            "Pareto optimal",
        ];
        header.extend(figure_headers.iter().map(String::as_str));
        table(&header, &rows)
    }
}

/// The configurations with the best throughput and the best p99 latency.
fn best_configurations(doc: &Value) -> String {
    let mut rows: Vec<Vec<String>> = Vec::new();
    for (k, label) in [
        ("best_throughput", "best throughput"),
        ("best_latency_p99", "best p99 latency"),
    ] {
        let b = &doc["best_configurations"][k];
        if b.is_object() {
            rows.push(vec![
                label.into(),
                params_label(&b["parameters"]),
                num(&b["metric"], b["unit"].as_str().unwrap_or("")),
            ]);
        }
    }
    if rows.is_empty() {
        return String::new();
    }
    table(&["", "configuration", "value"], &rows)
}
