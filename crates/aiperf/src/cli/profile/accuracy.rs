//! Accuracy benchmarks and benchmark scenarios of the Python AIPerf, which need what this tool
//! does not have (benchmark datasets and graders, agentic trace replay): accepted so that its
//! command lines parse, and answered with what to do instead.

use clap::{ArgAction, Args, ValueEnum};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AccuracyBenchmarkArg {
    Mmlu,
    MmluPro,
    Aime,
    Hellaswag,
    Bigbench,
    Aime24,
    Aime25,
    #[value(name = "math-500")]
    Math500,
    #[value(name = "gsm8-k", alias = "gsm8k")]
    Gsm8k,
    GpqaDiamond,
    LcbCodegeneration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AccuracyGraderArg {
    ExactMatch,
    Math,
    MultipleChoice,
    CodeExecution,
    LightevalExpr,
    LightevalLatex,
    LightevalGpqa,
    #[value(name = "lighteval-gsm8-k", alias = "lighteval-gsm8k")]
    LightevalGsm8k,
    MmluPro,
}

#[derive(Debug, Args)]
#[command(next_help_heading = "Accuracy")]
pub struct AccuracyArgs {
    /// Accuracy benchmark to grade alongside the performance run (mmlu, aime, gsm8-k, ...).
    /// Not run here: it needs the benchmark's dataset and grader (the run says so and goes on
    /// as a performance benchmark).
    #[arg(long, value_enum)]
    pub accuracy_benchmark: Option<AccuracyBenchmarkArg>,

    /// Tasks (subjects) of the benchmark to evaluate, comma-separated or repeated.
    #[arg(long, value_delimiter = ',', action = ArgAction::Append)]
    pub accuracy_tasks: Vec<String>,

    /// Few-shot examples per prompt (0-32; default: the benchmark's).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(0..=32))]
    pub accuracy_n_shots: Option<u32>,

    /// Chain-of-thought prompting (default: the benchmark's).
    #[arg(long)]
    pub accuracy_enable_cot: bool,

    /// No chain-of-thought prompting.
    #[arg(long)]
    pub accuracy_no_enable_cot: bool,

    /// Grader overriding the benchmark's.
    #[arg(long, value_enum)]
    pub accuracy_grader: Option<AccuracyGraderArg>,

    /// System prompt of the accuracy prompts.
    #[arg(long, value_name = "TEXT")]
    pub accuracy_system_prompt: Option<String>,

    /// Per-problem grading details.
    #[arg(long)]
    pub accuracy_verbose: bool,
}

#[derive(Debug, Args)]
#[command(next_help_heading = "Scenario")]
pub struct ScenarioArgs {
    /// Lock the invariants of a named benchmark scenario (inferencex-agentx-mvp). Its
    /// agentic trace replay does not run here, so it is refused with what to use instead.
    #[arg(long, value_name = "NAME")]
    pub scenario: Option<String>,

    /// Turn scenario lock errors into warnings (nothing to do without --scenario).
    #[arg(long)]
    pub unsafe_override: bool,
}
