//! The plan of a sweep or of repeated runs: which cells (parameter combinations) exist, in
//! which order runs happen, where each writes, and which seed it uses. Pure: no I/O.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::export::{RunIdentity, Variation};
use crate::settings::ProfileConfig;
use crate::settings::{Param, SweepConfig, SweepKind, SweepMode};

/// One parameter combination of a sweep.
#[derive(Debug, Clone, PartialEq)]
pub struct Cell {
    pub index: usize,
    pub values: Vec<(Param, f64)>,
}

impl Cell {
    /// `concurrency_10`, `isl_128__osl_128__concurrency_1`.
    pub fn dir_name(&self) -> String {
        self.values
            .iter()
            .map(|(p, v)| format!("{}_{}", p.name(), p.format(*v)))
            .collect::<Vec<_>>()
            .join("__")
    }

    /// `concurrency=10, isl=128`.
    pub fn label(&self) -> String {
        self.values
            .iter()
            .map(|(p, v)| format!("{}={}", p.name(), p.format(*v)))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// `{"concurrency": 10, "isl": 128}`.
    pub fn parameters(&self) -> Map<String, Value> {
        self.values
            .iter()
            .map(|(p, v)| (p.name().to_owned(), p.json(*v)))
            .collect()
    }
}

/// The cells of `sweep`: the Cartesian product (first parameter outermost) or the zip.
pub fn cells(sweep: &SweepConfig) -> Vec<Cell> {
    let combos: Vec<Vec<(Param, f64)>> = match sweep.kind {
        SweepKind::Zip => {
            let n = sweep
                .params
                .iter()
                .map(|p| p.values.len())
                .min()
                .unwrap_or(0);
            (0..n)
                .map(|i| {
                    sweep
                        .params
                        .iter()
                        .map(|p| (p.param, p.values[i]))
                        .collect()
                })
                .collect()
        }
        SweepKind::Grid => sweep.params.iter().fold(vec![Vec::new()], |acc, p| {
            acc.iter()
                .flat_map(|prefix| {
                    p.values.iter().map(move |&v| {
                        let mut c = prefix.clone();
                        c.push((p.param, v));
                        c
                    })
                })
                .collect()
        }),
    };
    combos
        .into_iter()
        .enumerate()
        .map(|(index, values)| Cell { index, values })
        .collect()
}

/// One benchmark run of the plan.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedRun {
    /// Index into the cells (`None` for repeated runs without a sweep).
    pub cell: Option<usize>,
    /// 0-based trial.
    pub trial: u32,
    /// Where it writes, relative to the artifact directory.
    pub dir: PathBuf,
    /// `run_0002`, or `concurrency=10` / `concurrency=10, trial 2` in sweeps.
    pub label: String,
}

/// `run_0001`, `trial_0003`: 1-based, four digits.
pub fn numbered(prefix: &str, zero_based: u32) -> String {
    format!("{prefix}_{:04}", zero_based + 1)
}

/// Every run, in execution order.
pub fn runs(cells: &[Cell], sweep: Option<&SweepConfig>, trials: u32) -> Vec<PlannedRun> {
    let Some(sweep) = sweep else {
        return (0..trials)
            .map(|t| PlannedRun {
                cell: None,
                trial: t,
                dir: PathBuf::from("profile_runs").join(numbered("run", t)),
                label: numbered("run", t),
            })
            .collect();
    };
    let run = |cell: &Cell, t: u32| {
        let dir = match (trials, sweep.mode) {
            (1, _) => PathBuf::from(cell.dir_name()),
            (_, SweepMode::Repeated) => PathBuf::from("profile_runs")
                .join(numbered("trial", t))
                .join(cell.dir_name()),
            (_, SweepMode::Independent) => PathBuf::from(cell.dir_name())
                .join("profile_runs")
                .join(numbered("trial", t)),
        };
        let label = if trials == 1 {
            cell.label()
        } else {
            format!("{}, trial {}", cell.label(), t + 1)
        };
        PlannedRun {
            cell: Some(cell.index),
            trial: t,
            dir,
            label,
        }
    };
    match sweep.mode {
        SweepMode::Repeated => (0..trials)
            .flat_map(|t| cells.iter().map(move |c| (c, t)))
            .map(|(c, t)| run(c, t))
            .collect(),
        SweepMode::Independent => cells
            .iter()
            .flat_map(|c| (0..trials).map(move |t| (c, t)))
            .map(|(c, t)| run(c, t))
            .collect(),
    }
}

/// Where the confidence aggregate of a cell (or of repeated runs) goes, relative to the
/// artifact directory.
pub fn aggregate_dir(cell: Option<&Cell>, mode: SweepMode) -> PathBuf {
    match (cell, mode) {
        (None, _) => PathBuf::from("aggregate"),
        (Some(c), SweepMode::Repeated) => PathBuf::from("aggregate").join(c.dir_name()),
        (Some(c), SweepMode::Independent) => PathBuf::from(c.dir_name()).join("aggregate"),
    }
}

/// Where the sweep aggregate goes: under `aggregate/` when trials were repeated sweep-wise.
pub fn sweep_aggregate_dir(trials: u32, mode: SweepMode) -> PathBuf {
    if trials > 1 && mode == SweepMode::Repeated {
        PathBuf::from("aggregate").join("sweep_aggregate")
    } else {
        PathBuf::from("sweep_aggregate")
    }
}

/// The seed of a cell's runs: the base plus the cell index, unless every cell shares it.
pub fn cell_seed(base: u64, cell: usize, same_seed: bool) -> u64 {
    if same_seed {
        base
    } else {
        base.wrapping_add(cell as u64)
    }
}

/// `--vary-seed-per-trial`: trial `trial` (0-based) of the sweep value labelled `variation`
/// (`base` without a sweep) gets the first 8 bytes of SHA-256 over
/// `"<base>:variation:<label>:trial:<trial>"`, big-endian, kept below 2⁶³ — the seed the
/// Python AIPerf gives the same run.
pub fn trial_seed(base: u64, variation: &str, trial: u32) -> u64 {
    let text = format!("{base}:variation:{variation}:trial:{trial}");
    let digest = ring::digest::digest(&ring::digest::SHA256, text.as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest.as_ref()[..8]);
    u64::from_be_bytes(first) & (i64::MAX as u64)
}

/// The label of the sweep value `values` (`base` for repeated runs of one configuration), as
/// the Python AIPerf labels its variations: `path=value` pairs joined by `, `.
pub fn variation_label(values: Option<&[(Param, f64)]>) -> String {
    match values {
        None => "base".to_owned(),
        Some(values) => values
            .iter()
            .map(|(p, v)| format!("{}={}", sweep_path(*p), p.format(*v)))
            .collect::<Vec<_>>()
            .join(", "),
    }
}

/// A fresh plan identity (a UUID).
pub fn new_sweep_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// The configuration path a swept flag sets, as the reference tool names it in sweep
/// variations (lengths by their mean).
fn sweep_path(p: Param) -> String {
    match p {
        Param::Isl | Param::Osl => format!("{}.mean", p.path()),
        _ => p.path().to_owned(),
    }
}

/// Version of the [`PlanDoc`] format.
pub const PLAN_FORMAT: u32 = 1;

/// A sweep or repeated runs as a document: the configuration and every run with its values,
/// trial, seed, warmup and directory. Any run can be executed from it by index
/// (`aiperf profile --plan plan.json --cell N`), here or in a pod, and produces exactly what the
/// local sweep produces; the local sweep executes its runs the same way.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PlanDoc {
    pub format: u32,
    pub aiperf_version: String,
    /// One UUID for the whole plan, recorded by each of its runs.
    #[serde(default)]
    pub sweep_id: String,
    /// The artifact directory the plan was made for (a run may be executed into another).
    pub base: PathBuf,
    pub config: ProfileConfig,
    pub runs: Vec<RunSpec>,
}

/// One run of a [`PlanDoc`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunSpec {
    pub index: usize,
    /// The cell (parameter combination), `None` for repeated runs without a sweep.
    pub cell: Option<usize>,
    /// The swept values, `{"concurrency": 8}`.
    pub parameters: Map<String, Value>,
    pub values: Vec<(Param, f64)>,
    /// 0-based trial.
    pub trial: u32,
    pub seed: u64,
    pub warmup: bool,
    /// Relative to the artifact directory.
    pub dir: PathBuf,
    pub label: String,
}

impl PlanDoc {
    /// The plan of `config` (a sweep and/or repeated runs) writing into `base`.
    pub fn new(config: &ProfileConfig, base: &Path) -> Self {
        let cells = config.sweep.as_ref().map(cells).unwrap_or_default();
        let same_seed = config.sweep.as_ref().is_some_and(|s| s.same_seed);
        let single = config.sweep.is_none() && config.multi_run.num_runs <= 1;
        let specs = runs(
            &cells,
            config.sweep.as_ref(),
            config.multi_run.num_runs.max(1),
        )
        .into_iter()
        .enumerate()
        .map(|(index, r)| {
            let cell = r.cell.map(|c| &cells[c]);
            RunSpec {
                index,
                cell: r.cell,
                parameters: cell.map(Cell::parameters).unwrap_or_default(),
                values: cell.map(|c| c.values.clone()).unwrap_or_default(),
                trial: r.trial,
                seed: if config.multi_run.vary_seed_per_trial {
                    let label = variation_label(cell.map(|c| &c.values[..]));
                    trial_seed(config.random_seed, &label, r.trial)
                } else {
                    cell.map_or(config.random_seed, |c| {
                        cell_seed(config.random_seed, c.index, same_seed)
                    })
                },
                warmup: r.trial == 0 || !config.multi_run.warmup_first_only,
                // A single benchmark writes into the artifact directory itself.
                dir: if single { PathBuf::new() } else { r.dir },
                label: r.label,
            }
        })
        .collect();
        Self {
            format: PLAN_FORMAT,
            aiperf_version: env!("CARGO_PKG_VERSION").to_owned(),
            sweep_id: new_sweep_id(),
            base: base.to_path_buf(),
            config: config.clone(),
            runs: specs,
        }
    }

    /// The cells of the plan's sweep (none for repeated runs).
    pub fn cells(&self) -> Vec<Cell> {
        self.config.sweep.as_ref().map(cells).unwrap_or_default()
    }

    /// The runs as the aggregation sees them.
    pub fn planned(&self) -> Vec<PlannedRun> {
        self.runs
            .iter()
            .map(|r| PlannedRun {
                cell: r.cell,
                trial: r.trial,
                dir: r.dir.clone(),
                label: r.label.clone(),
            })
            .collect()
    }

    /// The single-run configuration of run `index`, writing under `base`.
    pub fn run_config(&self, index: usize, base: &Path) -> Option<ProfileConfig> {
        let r = self.runs.get(index)?;
        let mut cfg = self
            .config
            .single_run(&r.values, &base.join(&r.dir), r.warmup);
        cfg.random_seed = r.seed;
        Some(cfg)
    }

    /// Run `index`'s place in the plan as the reference tool records it: the variation (the
    /// swept values by their configuration paths, a search iteration, or `base` for repeated
    /// runs of one configuration), the trial and `run_0001`-style label.
    pub fn identity(&self, index: usize) -> Option<RunIdentity> {
        let r = self.runs.get(index)?;
        let variation = match r.cell {
            None => Variation {
                index: 0,
                label: "base".to_owned(),
                values: Map::new(),
            },
            Some(cell) if self.config.search.is_some() => Variation {
                index: cell,
                label: format!("search_iter_{cell:04}"),
                values: r
                    .values
                    .iter()
                    .map(|(p, v)| (p.path().to_owned(), p.json(*v)))
                    .collect(),
            },
            Some(cell) => Variation {
                index: cell,
                label: variation_label(Some(&r.values)),
                values: r
                    .values
                    .iter()
                    .map(|(p, v)| (sweep_path(*p), p.json(*v)))
                    .collect(),
            },
        };
        Some(RunIdentity {
            sweep_id: self.sweep_id.clone(),
            variation,
            trial: r.trial,
            label: numbered("run", r.trial),
        })
    }

    /// Whether two plans run the same benchmarks (the command line, display and resume
    /// settings, the version and the directory aside).
    pub fn same_benchmarks(&self, other: &PlanDoc) -> bool {
        let key = |p: &PlanDoc| {
            let mut c = p.config.clone();
            c.cli_command = String::new();
            c.ui = crate::settings::UiMode::None;
            c.resume = false;
            c.output.artifact_dir = None;
            c.multi_run.no_sweep_table = false;
            (serde_json::to_value(&c).ok(), p.runs.clone(), p.format)
        };
        key(self) == key(other)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::SweepParam;

    fn sweep(params: &[(Param, &[f64])], kind: SweepKind, mode: SweepMode) -> SweepConfig {
        SweepConfig {
            params: params
                .iter()
                .map(|(p, v)| SweepParam {
                    param: *p,
                    values: v.to_vec(),
                })
                .collect(),
            kind,
            mode,
            cooldown_secs: 0.0,
            same_seed: false,
        }
    }

    #[test]
    fn grid_and_zip_cells_and_names() {
        let s = sweep(
            &[
                (Param::Isl, &[128.0, 512.0]),
                (Param::Concurrency, &[1.0, 4.0]),
            ],
            SweepKind::Grid,
            SweepMode::Repeated,
        );
        let c = cells(&s);
        let names: Vec<String> = c.iter().map(Cell::dir_name).collect();
        assert_eq!(
            names,
            [
                "isl_128__concurrency_1",
                "isl_128__concurrency_4",
                "isl_512__concurrency_1",
                "isl_512__concurrency_4"
            ]
        );
        assert_eq!(c[1].label(), "isl=128, concurrency=4");
        assert_eq!(
            serde_json::to_string(&c[1].parameters()).unwrap(),
            r#"{"isl":128,"concurrency":4}"#
        );
        let z = sweep(
            &[
                (Param::Isl, &[128.0, 512.0]),
                (Param::RequestRate, &[5.0, 10.5]),
            ],
            SweepKind::Zip,
            SweepMode::Repeated,
        );
        let names: Vec<String> = cells(&z).iter().map(Cell::dir_name).collect();
        assert_eq!(
            names,
            ["isl_128__request_rate_5.0", "isl_512__request_rate_10.5"]
        );
    }

    #[test]
    fn run_order_and_layout_follow_the_mode() {
        let s = sweep(
            &[(Param::Concurrency, &[1.0, 2.0])],
            SweepKind::Grid,
            SweepMode::Repeated,
        );
        let c = cells(&s);
        let dirs = |runs: Vec<PlannedRun>| -> Vec<String> {
            runs.iter().map(|r| r.dir.display().to_string()).collect()
        };
        assert_eq!(
            dirs(runs(&c, Some(&s), 2)),
            [
                "profile_runs/trial_0001/concurrency_1",
                "profile_runs/trial_0001/concurrency_2",
                "profile_runs/trial_0002/concurrency_1",
                "profile_runs/trial_0002/concurrency_2"
            ]
        );
        let i = SweepConfig {
            mode: SweepMode::Independent,
            ..s.clone()
        };
        assert_eq!(
            dirs(runs(&c, Some(&i), 2)),
            [
                "concurrency_1/profile_runs/trial_0001",
                "concurrency_1/profile_runs/trial_0002",
                "concurrency_2/profile_runs/trial_0001",
                "concurrency_2/profile_runs/trial_0002"
            ]
        );
        assert_eq!(
            dirs(runs(&c, Some(&s), 1)),
            ["concurrency_1", "concurrency_2"]
        );
        assert_eq!(
            dirs(runs(&[], None, 2)),
            ["profile_runs/run_0001", "profile_runs/run_0002"]
        );
        assert_eq!(
            aggregate_dir(Some(&c[0]), SweepMode::Repeated),
            PathBuf::from("aggregate/concurrency_1")
        );
        assert_eq!(
            aggregate_dir(Some(&c[0]), SweepMode::Independent),
            PathBuf::from("concurrency_1/aggregate")
        );
        assert_eq!(
            sweep_aggregate_dir(3, SweepMode::Repeated),
            PathBuf::from("aggregate/sweep_aggregate")
        );
        assert_eq!(
            sweep_aggregate_dir(1, SweepMode::Repeated),
            PathBuf::from("sweep_aggregate")
        );
        assert_eq!(
            sweep_aggregate_dir(3, SweepMode::Independent),
            PathBuf::from("sweep_aggregate")
        );
        assert_eq!((cell_seed(42, 3, false), cell_seed(42, 3, true)), (45, 42));
    }

    /// The Python AIPerf's `derive_variation_seed(42, "base:trial:0")` and
    /// `derive_variation_seed(7, "phases.profiling.concurrency=4:trial:2")`.
    #[test]
    fn trial_seeds_are_the_python_aiperfs() {
        assert_eq!(trial_seed(42, "base", 0), 6_858_774_025_263_032_934);
        assert_eq!(trial_seed(42, "base", 1), 4_337_237_111_802_998_792);
        let label = variation_label(Some(&[(Param::Concurrency, 4.0)]));
        assert_eq!(label, "phases.profiling.concurrency=4");
        assert_eq!(trial_seed(7, &label, 2), 5_013_161_859_273_038_655);
    }
}
