//! `aiperf synthesize`: draws a workload into a run directory and prints what it wrote.

use crate::ExitStatus;
use crate::cli::synthesize::{SynthesizeArgs, Target};
use crate::trace::synth::{Options, synthesize};

pub fn run(args: &SynthesizeArgs) -> anyhow::Result<ExitStatus> {
    match args.target() {
        Target::AgenticCode => {}
    }
    let now = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
    // 2026-01-02T03:04:05Z → 20260102-030405
    let digits: String = now.chars().filter(char::is_ascii_digit).collect();
    let timestamp = format!("{}-{}", &digits[..8], &digits[8..14]);
    let opts = Options {
        num_sessions: args.num_sessions,
        output: args.output.clone(),
        config: args.config.clone(),
        seed: args.seed,
        max_isl: args.max_isl,
        max_osl: args.max_osl,
        timestamp,
    };
    crate::ui::console::line(&format!(
        "Generating {} sessions (seed={})...",
        args.num_sessions, args.seed
    ))?;
    let out = synthesize(&opts)?;
    let lines = [
        format!("Run directory: {}", out.run_dir.display()),
        format!(
            "  JSONL:           {} ({} turns)",
            out.dataset.display(),
            out.turns
        ),
        format!("  Manifest:        {}", out.manifest.display()),
        format!("  Quality:         {}", out.quality.display()),
        format!("  Validation:      Mooncake trace ({} rows)", out.rows),
        format!("  Dashboard:       {}", out.report.display()),
        format!("  Cache explorer:  {}", out.cache_explorer.display()),
        format!("  Simulation:      {}", out.simulation.display()),
        String::new(),
        out.comparison.clone(),
        format!("View: open {} in a browser", out.report.display()),
    ];
    crate::ui::console::text(&(lines.join("\n") + "\n"))?;
    Ok(ExitStatus::Success)
}
