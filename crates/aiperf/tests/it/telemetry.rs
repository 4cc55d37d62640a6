//! The Prometheus parser against the simulator's own `/metrics` (vLLM's metric names).

use aiperf::telemetry::prometheus::{Kind, parse};
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

#[tokio::test]
async fn the_simulators_metrics_parse() {
    let server = aiperf_sim::SimServer::start(aiperf_sim::presets::preset("fixed").unwrap())
        .await
        .unwrap();
    let client: Client<_, Empty<bytes::Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let uri: hyper::Uri = format!("{}/metrics", server.base_url()).parse().unwrap();
    let response = client.get(uri).await.unwrap();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    let text = String::from_utf8(body.to_vec()).unwrap();
    let families = parse(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    let kind = |name: &str| families.iter().find(|f| f.name == name).map(|f| f.kind);
    assert_eq!(
        kind("vllm:num_requests_running"),
        Some(Kind::Gauge),
        "{families:#?}"
    );
    assert!(
        families.iter().any(|f| f.kind == Kind::Histogram
            && f.samples.iter().any(|s| s.label("le") == Some("+Inf")))
    );
    assert!(families.iter().any(|f| f.kind == Kind::Counter));
    server.shutdown().await.unwrap();
}

fn read_json(path: &std::path::Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Server metrics are scraped during the run by default; an endpoint that cannot be scraped is
/// counted, not fatal; `--no-server-metrics` turns scraping off.
#[test]
fn server_metrics_are_scraped_during_runs() {
    use crate::common::{run, stderr};
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let output = run(&[
        "profile",
        "--sim",
        "fixed",
        "--streaming",
        "--ui",
        "none",
        "--concurrency",
        "4",
        "--request-count",
        "24",
        "--osl",
        "40",
        "--server-metrics",
        &dead,
        "--server-metrics-interval-ms",
        "20",
        "--server-metrics-formats",
        "json,csv,jsonl",
        "--no-gpu-telemetry",
        "--artifact-dir",
        dir.to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    // GPU telemetry was turned off: no telemetry anywhere.
    let summary = read_json(&dir.join("profile_export_aiperf.json"));
    assert!(summary.get("telemetry_data").is_none());
    assert!(!dir.join("gpu_telemetry_export.jsonl").exists());
    let doc = read_json(&dir.join("server_metrics_export.json"));
    let configured = doc["summary"]["endpoints_configured"].as_array().unwrap();
    assert_eq!(configured.len(), 2);
    assert_eq!(
        doc["summary"]["endpoints_successful"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let dead_info = &doc["summary"]["endpoint_info"][format!("{dead}/metrics")];
    assert!(
        dead_info["failed_fetches"].as_u64().unwrap() >= 1,
        "{dead_info}"
    );
    let running = &doc["metrics"]["vllm:num_requests_running"];
    assert_eq!(running["type"], "gauge");
    let stats = &running["series"][0]["stats"];
    assert!(
        stats["max"].as_f64().unwrap() >= 1.0 && stats["max"].as_f64().unwrap() <= 4.0,
        "{stats}"
    );
    // The baseline scrape precedes the load and the last one follows it, so the server's
    // token counter rose by exactly the tokens the client received.
    let tokens = &doc["metrics"]["vllm:generation_tokens"]["series"][0]["stats"];
    assert_eq!(
        tokens["total"].as_f64(),
        summary["total_osl"]["avg"].as_f64(),
        "{tokens}"
    );
    assert_eq!(summary["server_running_requests"]["unit"], "requests");
    let raw = std::fs::read_to_string(dir.join("server_metrics_export.jsonl")).unwrap();
    let first: serde_json::Value = serde_json::from_str(raw.lines().next().unwrap()).unwrap();
    assert!(first["timestamp_ns"].as_u64().unwrap() > 0);
    assert!(
        first["metrics"]["vllm:num_requests_running"].is_array(),
        "{first}"
    );
    let csv = std::fs::read_to_string(dir.join("server_metrics_export.csv")).unwrap();
    assert!(
        csv.starts_with("# AIPerf Server Metrics Export (CSV)\n"),
        "{csv}"
    );
    assert!(
        csv.contains("\r\n\r\nEndpoint,Type,Metric,Unit,total,rate,rate_avg,"),
        "{csv}"
    );

    let off = tmp.path().join("off");
    let output = run(&[
        "profile",
        "--sim",
        "fixed",
        "--ui",
        "none",
        "--request-count",
        "4",
        "--osl",
        "4",
        "--no-server-metrics",
        "--artifact-dir",
        off.to_str().unwrap(),
    ]);
    assert!(output.status.success());
    assert!(!off.join("server_metrics_export.json").exists());
    crate::common::assert_usage_error(
        &["profile", "--sim", "--server-metrics-interval-ms", "0"],
        "--server-metrics-interval-ms",
    );
}

/// GPU telemetry against the simulator's DCGM endpoint: the simulated GPU draws more power
/// under more load, the server's running-requests gauge follows the client's concurrency, and
/// both reach the sweep aggregate.
#[test]
fn gpu_power_and_server_load_follow_the_concurrency() {
    use crate::common::{run, stderr};
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("sweep");
    let output = run(&[
        "profile",
        "--sim",
        "--sim-speedup",
        "8",
        "--streaming",
        "--ui",
        "none",
        "--concurrency",
        "1,24",
        "--request-count",
        "96",
        "--osl",
        "48",
        "--server-metrics-interval-ms",
        "10",
        "--gpu-telemetry-interval-ms",
        "20",
        "--artifact-dir",
        dir.to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let cell = |c: u32| {
        let run = dir.join(format!("concurrency_{c}"));
        let summary = read_json(&run.join("profile_export_aiperf.json"));
        let server = read_json(&run.join("server_metrics_export.json"));
        (run, summary, server)
    };
    let (run1, low, low_server) = cell(1);
    let (_, high, high_server) = cell(24);

    let running = |doc: &serde_json::Value| {
        let s = &doc["metrics"]["vllm:num_requests_running"]["series"][0]["stats"];
        (s["avg"].as_f64().unwrap(), s["max"].as_f64().unwrap())
    };
    let (avg1, max1) = running(&low_server);
    let (avg24, max24) = running(&high_server);
    assert!(
        max1 <= 1.0 && avg1 > 0.5,
        "concurrency 1: avg {avg1} max {max1}"
    );
    assert!(
        max24 <= 24.0 && avg24 > 12.0,
        "concurrency 24: avg {avg24} max {max24}"
    );

    let gpu = |doc: &serde_json::Value| {
        let t = &doc["telemetry_data"];
        assert_eq!(
            t["summary"]["endpoints_successful"]
                .as_array()
                .unwrap()
                .len(),
            1,
            "{t}"
        );
        let endpoint = t["endpoints"].as_object().unwrap().values().next().unwrap();
        endpoint["gpus"]["gpu_0"]["metrics"].clone()
    };
    let (g1, g24) = (gpu(&low), gpu(&high));
    let power = |m: &serde_json::Value| m["nvidia_power_usage"]["avg"].as_f64().unwrap();
    assert!(
        power(&g1) > 70.0 && power(&g1) < power(&g24) && power(&g24) < 700.0,
        "{} {}",
        power(&g1),
        power(&g24)
    );
    assert_eq!(g1["nvidia_power_usage"]["unit"], "W");
    assert!(g24["nvidia_energy_consumption"]["avg"].as_f64().unwrap() > 0.0);
    // Batching makes every token cheaper.
    let per_token =
        |d: &serde_json::Value| d["nvidia_energy_per_output_token"]["avg"].as_f64().unwrap();
    assert!(
        per_token(&high) < per_token(&low),
        "{} {}",
        per_token(&high),
        per_token(&low)
    );

    let csv = crate::common::read_csv(&run1.join("profile_export_aiperf.csv"));
    assert!(
        csv.contains("\n\n\nEndpoint,GPU_Index,GPU_Name,GPU_UUID,Platform,Metric,avg,min,max,sum,"),
        "{csv}"
    );
    assert!(csv.contains(",nvidia,NVIDIA GPU Power Usage (W),"));
    let samples = std::fs::read_to_string(run1.join("gpu_telemetry_export.jsonl")).unwrap();
    assert!(samples.lines().count() >= 2);

    // The report charts GPU power against the swept parameter.
    let plot = run(&["plot", dir.to_str().unwrap()]);
    assert!(plot.status.success(), "{}", stderr(&plot));
    assert!(
        dir.join("plots/sweep_nvidia_total_gpu_power_avg.svg")
            .is_file()
    );
    let html = std::fs::read_to_string(dir.join("plots/report.html")).unwrap();
    assert!(html.contains("<th>Total GPU power</th>"), "{html}");
    assert!(
        html.contains("\"y_unit\":\"W\""),
        "the power chart's axis is in watts"
    );

    let sweep = read_json(&dir.join("sweep_aggregate/profile_export_aiperf_sweep.json"));
    for c in sweep["per_combination_metrics"].as_array().unwrap() {
        for key in [
            "server_running_requests_avg",
            "server_kv_cache_usage_avg",
            "nvidia_total_gpu_power_avg",
        ] {
            assert!(
                c["metrics"][key]["mean"].is_number(),
                "{key} missing in {c}"
            );
        }
    }
}

/// A GPU-telemetry endpoint that does not answer is counted, never fatal.
#[test]
fn unreachable_gpu_telemetry_is_reported_not_fatal() {
    use crate::common::{run, stderr};
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    // Port 1: nothing listens there, and unlike a port freed by the test it cannot be taken
    // by the simulator this run starts (which binds an ephemeral port).
    let dead = "http://127.0.0.1:1/metrics".to_owned();
    let output = run(&[
        "profile",
        "--sim",
        "fixed",
        "--ui",
        "none",
        "--request-count",
        "8",
        "--osl",
        "8",
        "--gpu-telemetry",
        &dead,
        "--artifact-dir",
        dir.to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let t = read_json(&dir.join("profile_export_aiperf.json"))["telemetry_data"].clone();
    let configured = t["summary"]["endpoints_configured"].as_array().unwrap();
    assert_eq!(configured.len(), 2, "{t}");
    assert_eq!(
        t["summary"]["endpoints_successful"]
            .as_array()
            .unwrap()
            .len(),
        1,
        "{t}"
    );
    assert_eq!(t["error_summary"][0]["endpoint_url"], dead.as_str());
    assert!(t["error_summary"][0]["failed_fetches"].as_u64().unwrap() >= 1);
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * b.abs().max(1.0)
}

/// The telemetry artifacts in the reference tool's shapes, and the energy figures computed from
/// what `gpu_telemetry_export.jsonl` holds and the run's own summary.
#[test]
fn telemetry_artifacts_have_the_reference_shape_and_energy_figures() {
    use crate::common::{run, stderr};
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    let output = run(&[
        "profile",
        "--sim",
        "--streaming",
        "--ui",
        "none",
        "--concurrency",
        "4",
        "--request-count",
        "40",
        "--osl",
        "32",
        "--artifact-dir",
        dir.to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let summary = read_json(&dir.join("profile_export_aiperf.json"));
    let avg = |tag: &str| {
        summary[tag]["avg"]
            .as_f64()
            .unwrap_or_else(|| panic!("{tag} missing"))
    };

    // One record per GPU per scrape, as the reference tool's `TelemetryRecord`.
    let lines: Vec<serde_json::Value> =
        std::fs::read_to_string(dir.join("gpu_telemetry_export.jsonl"))
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
    assert!(lines.len() >= 2);
    for l in &lines {
        assert!(l["gpu_index"].is_u64(), "{l}");
        assert!(l["timestamp_ns"].is_u64(), "{l}");
        for key in [
            "gpu_uuid",
            "gpu_model_name",
            "telemetry_source_url",
            "platform",
        ] {
            assert!(l[key].is_string(), "{key}: {l}");
        }
        assert!(l["telemetry_data"]["nvidia_power_usage"].is_number(), "{l}");
        assert!(l.get("metrics").is_none() && l.get("endpoint_url").is_none());
    }
    // Total energy: each GPU's energy counter (MJ) from its first record to its last.
    let mut per_gpu: std::collections::BTreeMap<String, (f64, f64)> = Default::default();
    for l in &lines {
        let e = l["telemetry_data"]["nvidia_energy_consumption"]
            .as_f64()
            .unwrap();
        let key = l["gpu_uuid"].as_str().unwrap().to_owned();
        per_gpu.entry(key).or_insert((e, e)).1 = e;
    }
    let energy: f64 = per_gpu.values().map(|(a, b)| (b - a) * 1e6).sum();
    assert!(energy > 0.0);
    assert!(close(avg("nvidia_total_gpu_energy"), energy), "{energy}");
    assert!(close(
        avg("nvidia_energy_per_request"),
        energy / avg("request_count")
    ));
    assert!(close(
        avg("nvidia_energy_per_total_token"),
        energy * 1e3 / (avg("total_isl") + avg("total_osl"))
    ));
    assert!(close(
        avg("nvidia_energy_per_output_token"),
        energy * 1e3 / avg("total_osl")
    ));
    assert!(close(avg("nvidia_energy_per_user"), energy / 4.0));
    assert!(close(
        avg("nvidia_energy_delay_product"),
        energy / avg("request_count") * avg("request_latency") / 1e3
    ));
    let power = avg("nvidia_average_gpu_power");
    assert!(close(power, energy / avg("benchmark_duration")));
    assert!(close(
        avg("nvidia_performance_per_watt"),
        avg("request_throughput") / power
    ));
    assert!(close(
        avg("nvidia_output_tps_per_watt"),
        avg("output_token_throughput") / power
    ));
    for (tag, unit) in [
        ("nvidia_energy_per_request", "joules/request"),
        ("nvidia_energy_per_user", "joules/user"),
        ("nvidia_energy_delay_product", "J*s"),
        ("nvidia_performance_per_watt", "requests/sec/W"),
        ("nvidia_output_tps_per_watt", "tokens/sec/W"),
        ("nvidia_average_gpu_power", "W"),
    ] {
        assert_eq!(summary[tag]["unit"], unit, "{tag}");
    }
    // No goodput targets, no goodput per watt.
    assert!(summary.get("nvidia_goodput_per_watt").is_none());
    let csv = std::fs::read_to_string(dir.join("profile_export_aiperf.csv")).unwrap();
    for header in [
        "\nAverage GPU Power (W),",
        "\nEnergy Delay Product (J*s),",
        "\nEnergy per Request (joules/request),",
        "\nEnergy per User (joules/user),",
        "\nOutput Tokens per Second per Watt (tokens/sec/W),",
        "\nPerformance per Watt (requests/sec/W),",
    ] {
        assert!(csv.contains(header), "{header} missing");
    }
    let console = std::fs::read_to_string(dir.join("profile_export_console.txt")).unwrap();
    assert!(
        console.contains("GPU Power Efficiency (NVIDIA)"),
        "{console}"
    );
    assert!(console.contains("Energy per Request (joules/request)"));

    // Server metrics: the reference tool's endpoint statistics, counter names and buckets.
    let server = read_json(&dir.join("server_metrics_export.json"));
    let info = server["summary"]["endpoint_info"]
        .as_object()
        .unwrap()
        .values()
        .next()
        .unwrap()
        .clone();
    for key in [
        "total_fetches",
        "first_fetch_ns",
        "last_fetch_ns",
        "unique_updates",
        "first_update_ns",
        "last_update_ns",
    ] {
        assert!(info[key].is_u64(), "{key}: {info}");
    }
    assert!(info["duration_seconds"].as_f64().unwrap() > 0.0);
    assert!(info["unique_updates"].as_u64() <= info["total_fetches"].as_u64());
    let metrics = &server["metrics"];
    assert!(metrics.get("vllm:prompt_tokens_total").is_none());
    let prompt = &metrics["vllm:prompt_tokens"];
    assert_eq!(
        (&prompt["type"], &prompt["unit"]),
        (&"counter".into(), &"tokens".into())
    );
    assert_eq!(
        prompt["series"][0]["stats"]["total"].as_f64(),
        Some(avg("total_isl"))
    );
    let ttft = &metrics["vllm:time_to_first_token_seconds"]["series"][0];
    assert_eq!(ttft["stats"]["count"], 40);
    assert_eq!(ttft["buckets"]["+Inf"], 40);
    assert!(ttft["stats"].get("buckets").is_none());
    assert!(ttft["stats"]["p50_estimate"].as_f64().unwrap() > 0.0);

    let raw = std::fs::read(dir.join("server_metrics_export.csv")).unwrap();
    let text = String::from_utf8(raw).unwrap();
    let mut lines = text.split_inclusive('\n');
    for _ in 0..6 {
        let l = lines.next().unwrap();
        assert!(l.starts_with('#') && !l.ends_with("\r\n"), "{l:?}");
    }
    let rest: Vec<&str> = lines.collect();
    assert!(rest.iter().all(|l| l.ends_with("\r\n")), "{text}");
    let headers: Vec<&str> = rest
        .iter()
        .filter(|l| l.starts_with("Endpoint,"))
        .map(|l| l.split(",Unit,").nth(1).unwrap().split(',').next().unwrap())
        .collect();
    // Gauges, counters, histograms: each section with its own statistics.
    assert_eq!(headers, ["avg", "total", "count"], "{text}");
}
