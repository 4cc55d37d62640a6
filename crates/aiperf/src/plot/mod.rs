//! `aiperf plot`: charts and a self-contained HTML report from exported artifacts.
//!
//! Everything is read from the files a run, a sweep or a search wrote, so results produced
//! earlier (or by the Python reference tool, where the files have the same shape) can be
//! plotted. Output: `plots/*.png`, `plots/*.svg` and `plots/report.html`, which inlines its
//! SVG charts and CSS and references nothing outside itself.

pub mod chart;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde_json::Value;

use self::chart::{Chart, Series, Style};
use crate::UsageError;

fn read_json(path: &Path) -> Option<Value> {
    serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The report being assembled.
#[derive(Debug, Default)]
struct Report {
    sections: Vec<(String, String)>,
}

impl Report {
    fn add(&mut self, title: &str, html: String) {
        self.sections.push((title.to_owned(), html));
    }
}

fn figure(svg: &str) -> String {
    // Inline the SVG without its XML declaration.
    let body = svg.find("<svg").map_or(svg, |i| &svg[i..]);
    format!("<figure>{body}</figure>\n")
}

fn chart_or_note(res: Result<String, String>) -> String {
    match res {
        Ok(svg) => figure(&svg),
        Err(e) => format!("<p class=\"note\">chart not drawn: {}</p>", esc(&e)),
    }
}

fn table(header: &[&str], rows: &[Vec<String>]) -> String {
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

fn num(v: &Value) -> String {
    v.as_f64().map_or("–".into(), |x| format!("{x:.2}"))
}

/// A single run: summary table and per-request charts from the JSONL.
fn single_run(dir: &Path, out: &Path, report: &mut Report) {
    let Some(summary) = read_json(&dir.join("profile_export_aiperf.json")) else {
        return;
    };
    let mut rows = Vec::new();
    for tag in [
        "time_to_first_token",
        "inter_token_latency",
        "request_latency",
        "output_sequence_length",
        "input_sequence_length",
        "request_throughput",
        "output_token_throughput",
        "request_count",
        "error_request_count",
    ] {
        let b = &summary[tag];
        if b.is_object() {
            rows.push(vec![
                tag.to_owned(),
                b["unit"].as_str().unwrap_or("").to_owned(),
                num(&b["avg"]),
                num(&b["p50"]),
                num(&b["p90"]),
                num(&b["p99"]),
            ]);
        }
    }
    let mut html = table(&["metric", "unit", "avg", "p50", "p90", "p99"], &rows);
    let server_rows: Vec<Vec<String>> = summary
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(tag, b)| {
            (tag.starts_with("server_") || tag.starts_with("nvidia_")) && b["avg"].is_number()
        })
        .map(|(tag, b)| {
            vec![
                tag.clone(),
                b["unit"].as_str().unwrap_or("").to_owned(),
                num(&b["avg"]),
            ]
        })
        .collect();
    if !server_rows.is_empty() {
        html.push_str("<h3>Server and GPU telemetry</h3>");
        html.push_str(&table(&["metric", "unit", "value"], &server_rows));
    }
    let records: Vec<Value> = std::fs::read_to_string(dir.join("profile_export.jsonl"))
        .map(|t| {
            t.lines()
                .filter_map(|l| serde_json::from_str(l).ok())
                .collect()
        })
        .unwrap_or_default();
    if !records.is_empty() {
        let t0 = records
            .iter()
            .filter_map(|r| r["metadata"]["request_start_ns"].as_u64())
            .min()
            .unwrap_or(0);
        let over_time = |tag: &str| -> Vec<(f64, f64)> {
            records
                .iter()
                .filter_map(|r| {
                    let t = r["metadata"]["request_start_ns"].as_u64()?;
                    let v = r["metrics"][tag]["value"].as_f64()?;
                    Some(((t - t0) as f64 / 1e9, v))
                })
                .collect()
        };
        for (tag, title) in [
            ("time_to_first_token", "Time to first token over time"),
            ("inter_token_latency", "Inter-token latency over time"),
            ("request_latency", "Request latency over time"),
        ] {
            let pts = over_time(tag);
            if pts.is_empty() {
                continue;
            }
            let chart = Chart {
                title: title.into(),
                x_label: "seconds since the first request".into(),
                y_label: "ms".into(),
                series: vec![Series::points("", pts, Style::Points)],
                ..Chart::default()
            };
            html.push_str(&chart_or_note(chart::render(
                &chart,
                out,
                &format!("run_{tag}"),
            )));
        }
        // Completions per second.
        let ends: Vec<f64> = records
            .iter()
            .filter_map(|r| r["metadata"]["request_end_ns"].as_u64())
            .map(|t| t.saturating_sub(t0) as f64 / 1e9)
            .collect();
        if let Some(last) = ends.iter().copied().reduce(f64::max) {
            let bins = (last.ceil() as usize).max(1);
            let mut counts = vec![0.0; bins];
            for e in &ends {
                counts[(*e as usize).min(bins - 1)] += 1.0;
            }
            let pts: Vec<(f64, f64)> = counts
                .iter()
                .enumerate()
                .map(|(i, c)| (i as f64 + 0.5, *c))
                .collect();
            let chart = Chart {
                title: "Throughput over time".into(),
                x_label: "seconds since the first request".into(),
                y_label: "requests completed per second".into(),
                series: vec![Series::line("", pts)],
                ..Chart::default()
            };
            html.push_str(&chart_or_note(chart::render(&chart, out, "run_throughput")));
        }
        let mut lat: Vec<f64> = records
            .iter()
            .filter_map(|r| r["metrics"]["request_latency"]["value"].as_f64())
            .collect();
        lat.sort_by(f64::total_cmp);
        if lat.len() >= 2 {
            let n = lat.len() - 1;
            let pts: Vec<(f64, f64)> = lat
                .iter()
                .enumerate()
                .map(|(i, v)| (100.0 * i as f64 / n as f64, *v))
                .collect();
            let chart = Chart {
                title: "Request latency by percentile".into(),
                x_label: "percentile".into(),
                y_label: "ms".into(),
                series: vec![Series::line("", pts)],
                ..Chart::default()
            };
            html.push_str(&chart_or_note(chart::render(
                &chart,
                out,
                "run_latency_percentiles",
            )));
        }
        // GPU power next to the load, one line per GPU.
        let samples: Vec<Value> = std::fs::read_to_string(dir.join("gpu_telemetry_export.jsonl"))
            .map(|t| {
                t.lines()
                    .filter_map(|l| serde_json::from_str(l).ok())
                    .collect()
            })
            .unwrap_or_default();
        let mut per_gpu: Vec<(String, Vec<(f64, f64)>)> = Vec::new();
        for s in &samples {
            let (Some(t), Some(w)) = (
                s["timestamp_ns"].as_u64(),
                s["metrics"]["nvidia_power_usage"].as_f64(),
            ) else {
                continue;
            };
            let name = format!(
                "{} GPU {}",
                s["endpoint_url"].as_str().unwrap_or(""),
                s["gpu_index"]
            );
            let point = (t.saturating_sub(t0) as f64 / 1e9, w);
            match per_gpu.iter_mut().find(|g| g.0 == name) {
                Some(g) => g.1.push(point),
                None => per_gpu.push((name, vec![point])),
            }
        }
        if !per_gpu.is_empty() {
            let chart = Chart {
                title: "GPU power over time".into(),
                x_label: "seconds since the first request".into(),
                y_label: "W".into(),
                series: per_gpu
                    .into_iter()
                    .map(|(name, pts)| Series::line(&name, pts))
                    .collect(),
                ..Chart::default()
            };
            html.push_str(&chart_or_note(chart::render(&chart, out, "run_gpu_power")));
        }
    }
    report.add("Run", html);
}

/// Repeated runs: the confidence aggregate as a table.
fn multi_run(doc: &Value, report: &mut Report) {
    let Some(metrics) = doc["metrics"].as_object() else {
        return;
    };
    let rows: Vec<Vec<String>> = metrics
        .iter()
        .filter(|(k, _)| k.ends_with("_avg") || k.ends_with("_p99"))
        .map(|(k, b)| {
            vec![
                k.clone(),
                num(&b["mean"]),
                format!("{} – {}", num(&b["ci_low"]), num(&b["ci_high"])),
                b["cv"]
                    .as_f64()
                    .map_or("–".into(), |c| format!("{:.1} %", 100.0 * c)),
                b["unit"].as_str().unwrap_or("").to_owned(),
            ]
        })
        .collect();
    let level = doc["metadata"]["confidence_level"].as_f64().unwrap_or(0.95);
    report.add(
        &format!(
            "Across runs ({} runs, {:.0} % confidence)",
            doc["metadata"]["num_successful_runs"],
            level * 100.0
        ),
        table(&["metric", "mean", "interval", "CV", "unit"], &rows),
    );
}

/// x, y and, with several trials, the confidence interval of y.
type BandPoint = (f64, f64, Option<(f64, f64)>);

/// How a search iteration is placed on the y axis.
type YOf = Box<dyn Fn(&Value) -> Option<f64>>;

/// A sweep: throughput and latency against the swept parameter, and the Pareto frontier.
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

fn sweep(doc: &Value, out: &Path, report: &mut Report) {
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
        .cloned()
        .unwrap_or_default();
    if params.is_empty() || cells.is_empty() {
        return;
    }
    let x_name = &params[params.len() - 1];
    let group_key = |c: &Value| -> String {
        params[..params.len() - 1]
            .iter()
            .map(|p| format!("{p}={}", c["parameters"][p]))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut groups: Vec<(String, Vec<&Value>)> = Vec::new();
    for c in &cells {
        let k = group_key(c);
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
    let xs: Vec<f64> = cells
        .iter()
        .filter_map(|c| c["parameters"][x_name].as_f64())
        .collect();
    let log_x = xs.iter().all(|x| *x > 0.0)
        && xs.iter().copied().fold(f64::NEG_INFINITY, f64::max)
            / xs.iter().copied().fold(f64::INFINITY, f64::min)
            >= 8.0;
    let has = |key: &str| cells.iter().any(|c| c["metrics"][key].is_object());
    let mut html = String::new();
    let server_charts = SERVER_FIGURES
        .iter()
        .filter(|(key, _, _, charted)| *charted && has(key))
        .map(|(key, title, unit, _)| (*key, *title, *unit));
    for (key, title, y) in [
        ("request_throughput_avg", "Request throughput", "requests/s"),
        (
            "output_token_throughput_avg",
            "Output token throughput",
            "tokens/s",
        ),
        (
            latency_key,
            if latency_key.starts_with("time") {
                "TTFT p99"
            } else {
                "Request latency p99"
            },
            "ms",
        ),
    ]
    .into_iter()
    .chain(server_charts)
    {
        let series: Vec<Series> = groups
            .iter()
            .map(|(name, cs)| {
                let mut pts: Vec<BandPoint> = cs
                    .iter()
                    .filter_map(|c| {
                        let b = &c["metrics"][key];
                        let lo_hi = b["ci_low"].as_f64().zip(b["ci_high"].as_f64());
                        Some((
                            c["parameters"][x_name].as_f64()?,
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
                        name.clone()
                    },
                    points: pts.iter().map(|p| (p.0, p.1)).collect(),
                    band,
                    style: Style::Line,
                }
            })
            .collect();
        let vlines: Vec<(f64, String)> = doc["trends"][key]["inflection_points"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_f64)
                    .map(|x| (x, format!("inflection {x}")))
                    .collect()
            })
            .unwrap_or_default();
        let chart = Chart {
            title: format!("{title} vs {x_name}"),
            x_label: x_name.clone(),
            y_label: y.into(),
            series,
            vlines,
            log_x,
            ..Chart::default()
        };
        html.push_str(&chart_or_note(chart::render(
            &chart,
            out,
            &format!("sweep_{key}"),
        )));
    }
    // The Pareto frontier: throughput against latency, dominated configurations grey.
    let pareto: Vec<&Value> = doc["pareto_optimal"]
        .as_array()
        .map(|a| a.iter().collect())
        .unwrap_or_default();
    let point = |c: &Value| -> Option<(f64, f64)> {
        Some((
            c["metrics"][latency_key]["mean"].as_f64()?,
            c["metrics"]["request_throughput_avg"]["mean"].as_f64()?,
        ))
    };
    let (front, rest): (Vec<&Value>, Vec<&Value>) = cells
        .iter()
        .partition(|c| pareto.contains(&&c["parameters"]));
    let mut front_pts: Vec<(f64, f64)> = front.iter().filter_map(|c| point(c)).collect();
    front_pts.sort_by(|a, b| a.0.total_cmp(&b.0));
    let chart = Chart {
        title: "Throughput vs latency (Pareto frontier)".into(),
        x_label: format!("{latency_key} (ms)"),
        y_label: "requests/s".into(),
        series: vec![
            Series::points(
                "dominated",
                rest.iter().filter_map(|c| point(c)).collect(),
                Style::Muted,
            ),
            Series::line("frontier", front_pts.clone()),
            Series::points("Pareto optimal", front_pts, Style::Highlight),
        ],
        ..Chart::default()
    };
    html.push_str(&chart_or_note(chart::render(&chart, out, "sweep_pareto")));
    let mut rows: Vec<Vec<String>> = Vec::new();
    for (k, label) in [
        ("best_throughput", "best throughput"),
        ("best_latency_p99", "best p99 latency"),
    ] {
        let b = &doc["best_configurations"][k];
        if b.is_object() {
            rows.push(vec![
                label.into(),
                b["parameters"].to_string(),
                num(&b["metric"]),
                b["unit"].as_str().unwrap_or("").into(),
            ]);
        }
    }
    html.push_str(&table(&["", "configuration", "value", "unit"], &rows));
    let figures: Vec<&(&str, &str, &str, bool)> =
        SERVER_FIGURES.iter().filter(|f| has(f.0)).collect();
    let cell_rows: Vec<Vec<String>> = cells
        .iter()
        .map(|c| {
            let mut row = vec![
                c["parameters"].to_string(),
                num(&c["metrics"]["request_throughput_avg"]["mean"]),
                num(&c["metrics"][latency_key]["mean"]),
                if pareto.contains(&&c["parameters"]) {
                    "yes".into()
                } else {
                    String::new()
                },
            ];
            row.extend(figures.iter().map(|f| num(&c["metrics"][f.0]["mean"])));
            row
        })
        .collect();
    let latency_header = format!("{latency_key} (ms)");
    let figure_headers: Vec<String> = figures
        .iter()
        .map(|(_, title, unit, _)| format!("{title} ({unit})"))
        .collect();
    let mut header = vec![
        "configuration",
        "requests/s",
        latency_header.as_str(),
        "Pareto optimal",
    ];
    header.extend(figure_headers.iter().map(String::as_str));
    html.push_str(&table(&header, &cell_rows));
    report.add("Sweep", html);
}

/// A search: the probes it made and, for SLA searches, the boundary.
fn search(doc: &Value, out: &Path, report: &mut Report) {
    let iterations = doc["iterations"].as_array().cloned().unwrap_or_default();
    let path = doc["config"]["search_space"][0]["path"]
        .as_str()
        .unwrap_or("")
        .to_owned();
    if iterations.is_empty() || path.is_empty() {
        return;
    }
    let leaf = path.rsplit('.').next().unwrap_or(&path).to_owned();
    let sla = &doc["config"]["sla_filters"][0];
    let value = |it: &Value| it["variation_values"][&path].as_f64();
    let mut html = String::new();
    let observed = |it: &Value| it["sla_observed"][0]["observed"].as_f64();
    let (yes, no): (Vec<&Value>, Vec<&Value>) =
        iterations.iter().partition(|it| it["feasible"] == true);
    let (y_label, y_of): (String, YOf) = if sla.is_object() {
        (
            format!(
                "{} {} (ms)",
                sla["metric_tag"].as_str().unwrap_or(""),
                sla["stat"].as_str().unwrap_or("")
            ),
            Box::new(observed),
        )
    } else {
        (
            "objective".into(),
            Box::new(|it: &Value| it["objective_values"][0].as_f64()),
        )
    };
    let pts = |v: &[&Value]| -> Vec<(f64, f64)> {
        v.iter()
            .filter_map(|it| Some((value(it)?, y_of(it)?)))
            .collect()
    };
    let mut chart = Chart {
        title: format!(
            "Search probes ({})",
            doc["config"]["planner"].as_str().unwrap_or("")
        ),
        x_label: leaf,
        y_label,
        series: vec![
            Series::points("passed", pts(&yes), Style::Highlight),
            Series::points("failed", pts(&no), Style::Muted),
        ],
        ..Chart::default()
    };
    if let Some(t) = sla["threshold"].as_f64() {
        chart.hlines.push((t, format!("SLA {t}")));
    }
    if let Some(b) = doc["boundary_summary"]["feasible_max"]["value"].as_f64() {
        chart.vlines.push((b, format!("highest passing {b}")));
    }
    html.push_str(&chart_or_note(chart::render(&chart, out, "search_probes")));
    let rows: Vec<Vec<String>> = iterations
        .iter()
        .map(|it| {
            vec![
                it["iteration_idx"].to_string(),
                it["variation_values"].to_string(),
                it["objective_values"][0]
                    .as_f64()
                    .map_or("–".into(), |v| format!("{v:.2}")),
                if it["feasible"] == true {
                    "yes".into()
                } else {
                    "no".into()
                },
            ]
        })
        .collect();
    html.push_str(&table(
        &["iteration", "values", "objective", "feasible"],
        &rows,
    ));
    if let Some(best) = doc["best_trials"][0].as_object() {
        let _ = write!(
            html,
            "<p><b>Best:</b> {} (iteration {})</p>",
            esc(&best["variation_values"].to_string()),
            best["iteration_idx"]
        );
    }
    let _ = write!(
        html,
        "<p>Stopped: {}</p>",
        esc(doc["convergence_reason"].as_str().unwrap_or("not finished"))
    );
    report.add("Search", html);
}

/// The recipes' answer files.
fn recipes(dir: &Path, out: &Path, report: &mut Report) {
    if let Some(c) = read_json(&dir.join("prefill_curve.json")) {
        let pts: Vec<(f64, f64)> = c["raw_points"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|p| Some((p["isl"].as_f64()?, p["ttft_ms"].as_f64()?)))
                    .collect()
            })
            .unwrap_or_default();
        let coeffs: Vec<f64> = c["coefficients"]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_f64).collect())
            .unwrap_or_default();
        let eval = |x: f64| coeffs.iter().fold(0.0, |acc, k| acc * x + k);
        let (lo, hi) = pts
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), p| {
                (a.min(p.0), b.max(p.0))
            });
        let fit: Vec<(f64, f64)> = (0..=50)
            .map(|i| lo + (hi - lo) * f64::from(i) / 50.0)
            .map(|x| (x, eval(x)))
            .collect();
        let equation = match coeffs.as_slice() {
            [a, b] => format!("TTFT = {a:.4}·ISL + {b:.2}"),
            [a, b, c0] => format!("TTFT = {a:.3e}·ISL² + {b:.4}·ISL + {c0:.2}"),
            _ => String::new(),
        };
        let chart = Chart {
            title: format!(
                "{equation}  (r² = {:.3})",
                c["r_squared"].as_f64().unwrap_or(f64::NAN)
            ),
            x_label: "input sequence length (tokens)".into(),
            y_label: "TTFT (ms)".into(),
            series: vec![
                Series::line(
                    &format!("{} fit", c["fit_form"].as_str().unwrap_or("")),
                    fit,
                ),
                Series::points("measured", pts, Style::Highlight),
            ],
            ..Chart::default()
        };
        report.add(
            "Prefill: TTFT(ISL)",
            chart_or_note(chart::render(&chart, out, "prefill_curve")),
        );
    }
    if let Some(s) = read_json(&dir.join("decode_itl_surface.json")) {
        let axis = |k: &str| -> Vec<f64> {
            s["surface"][k]
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_f64).collect())
                .unwrap_or_default()
        };
        let grid: Vec<Vec<Option<f64>>> = s["surface"]["itl_grid"]
            .as_array()
            .map(|rows| {
                rows.iter()
                    .map(|r| {
                        r.as_array()
                            .map(|c| c.iter().map(Value::as_f64).collect())
                            .unwrap_or_default()
                    })
                    .collect()
            })
            .unwrap_or_default();
        let res = chart::heatmap(
            "Inter-token latency (ms)",
            "concurrency",
            "output length",
            &axis("concurrency_axis"),
            &axis("osl_axis"),
            &grid,
            out,
            "decode_itl_surface",
        );
        report.add("Decode: ITL(concurrency, OSL)", chart_or_note(res));
    }
    if let Some(k) = read_json(&dir.join("degradation_knee.json")) {
        let stat = k["stat"].as_str().unwrap_or("p99").to_owned();
        let param = k["swept_param"]
            .as_str()
            .unwrap_or("concurrency")
            .to_owned();
        let pts: Vec<(f64, f64)> = k["all_points"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|p| Some((p[&param].as_f64()?, p[&stat].as_f64()?)))
                    .collect()
            })
            .unwrap_or_default();
        let mut chart = Chart {
            title: format!(
                "{} {stat} vs {param}",
                k["swept_metric"].as_str().unwrap_or("")
            ),
            x_label: param.clone(),
            y_label: "ms".into(),
            series: vec![Series::line("", pts)],
            log_x: true,
            ..Chart::default()
        };
        if let Some(x) = k[format!("knee_{param}")].as_f64() {
            chart.vlines.push((x, format!("knee at {x}")));
        }
        if let Some(b) = k[format!("baseline_{stat}")].as_f64() {
            let t = k["threshold_pct"].as_f64().unwrap_or(0.0);
            chart
                .hlines
                .push((b * (1.0 + t), format!("baseline +{:.0} %", t * 100.0)));
        }
        report.add(
            "Degradation knee",
            chart_or_note(chart::render(&chart, out, "degradation_knee")),
        );
    }
    if let Some(b) = read_json(&dir.join("sla_breach.json")) {
        let rows: Vec<Vec<String>> = b["all_points"]
            .as_array()
            .map(|a| a.iter().map(|p| vec![p.to_string()]).collect())
            .unwrap_or_default();
        report.add("SLA breach", table(&["point"], &rows));
    }
}

/// Where a results directory keeps its sweep aggregate, if any.
fn sweep_dir(path: &Path) -> Option<PathBuf> {
    [
        path.join("sweep_aggregate"),
        path.join("aggregate/sweep_aggregate"),
    ]
    .into_iter()
    .find(|d| d.join(crate::sweep::aggregate::SWEEP_JSON).is_file())
}

fn environment() -> String {
    format!(
        "aiperf {} on {} {} ({} cores), report written {}",
        env!("CARGO_PKG_VERSION"),
        std::env::consts::OS,
        std::env::consts::ARCH,
        std::thread::available_parallelism().map_or(1, usize::from),
        crate::export::iso_time(std::time::SystemTime::now())
    )
}

/// The first `run_config.json` under `dir` (breadth first, sorted), a few levels deep.
fn find_run_config(dir: &Path) -> Option<PathBuf> {
    let mut level = vec![dir.to_path_buf()];
    for _ in 0..5 {
        let mut next = Vec::new();
        for d in &level {
            let candidate = d.join("run_config.json");
            if candidate.is_file() {
                return Some(candidate);
            }
            if let Ok(entries) = std::fs::read_dir(d) {
                let mut dirs: Vec<PathBuf> = entries
                    .flatten()
                    .map(|e| e.path())
                    .filter(|p| p.is_dir())
                    .collect();
                dirs.sort();
                next.extend(dirs);
            }
        }
        level = next;
    }
    None
}

/// Finds the command and configuration that produced the results.
fn provenance(path: &Path) -> Option<(String, Value)> {
    let doc = read_json(&find_run_config(path)?)?;
    let cfg = doc.get("cfg").cloned().unwrap_or(doc);
    let command = cfg["cli_command"].as_str().unwrap_or("").to_owned();
    Some((command, cfg))
}

/// Writes `plots/` for the results in `path`; returns the report's path.
pub fn plot(path: &Path, output: Option<&Path>) -> anyhow::Result<PathBuf> {
    if !path.is_dir() {
        return Err(UsageError::new(format!(
            "aiperf plot: {} is not a directory of results",
            path.display()
        ))
        .into());
    }
    let out = output.map_or_else(|| path.join("plots"), Path::to_path_buf);
    std::fs::create_dir_all(&out)
        .map_err(|e| UsageError::new(format!("--output: cannot create {}: {e}", out.display())))?;
    let mut report = Report::default();
    if let Some(h) = read_json(&path.join(crate::search::HISTORY)) {
        search(&h, &out, &mut report);
    }
    if let Some(d) = sweep_dir(path) {
        if let Some(doc) = read_json(&d.join(crate::sweep::aggregate::SWEEP_JSON)) {
            sweep(&doc, &out, &mut report);
        }
        recipes(&d, &out, &mut report);
    }
    if let Some(doc) = read_json(
        &path
            .join("aggregate")
            .join(crate::sweep::aggregate::AGGREGATE_JSON),
    ) {
        multi_run(&doc, &mut report);
    }
    if path.join(crate::export::SUMMARY_JSON).is_file() {
        single_run(path, &out, &mut report);
    }
    if report.sections.is_empty() {
        return Err(UsageError::new(format!(
            "aiperf plot: {} holds no aiperf results (profile_export_aiperf.json, sweep_aggregate/, aggregate/ or search_history.json)",
            path.display()
        ))
        .into());
    }
    let mut html = String::from(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>aiperf report</title>\n<style>\
         body{font-family:sans-serif;max-width:960px;margin:2em auto;color:#222}h1{font-size:1.6em}\
         h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:2em}figure{margin:1em 0}\
         figure svg{max-width:100%;height:auto}table{border-collapse:collapse;margin:1em 0;font-size:.9em}\
         td,th{border:1px solid #ddd;padding:.3em .6em;text-align:left}th{background:#f4f4f4}\
         pre{background:#f7f7f7;padding:1em;overflow:auto;font-size:.8em}.note{color:#a00}\
         </style></head><body>\n",
    );
    let _ = writeln!(
        html,
        "<h1>aiperf report: {}</h1>",
        esc(&path.display().to_string())
    );
    for (title, body) in &report.sections {
        let _ = writeln!(html, "<h2>{}</h2>\n{body}", esc(title));
    }
    html.push_str("<h2>How these results were produced</h2>\n");
    if let Some((command, cfg)) = provenance(path) {
        let _ = writeln!(html, "<p>Command:</p><pre>{}</pre>", esc(&command));
        let _ = writeln!(
            html,
            "<details><summary>Configuration</summary><pre>{}</pre></details>",
            esc(&serde_json::to_string_pretty(&cfg).unwrap_or_default())
        );
    }
    let _ = writeln!(html, "<p>{}</p>\n</body></html>", esc(&environment()));
    let report_path = out.join("report.html");
    crate::export::write_atomic(&report_path, html.as_bytes())?;
    Ok(report_path)
}
