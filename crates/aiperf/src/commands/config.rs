//! `aiperf config init|validate|expand`: templates, checks and sweep previews of YAML
//! configuration files.

use std::fmt::Write as _;
use std::path::Path;

use crate::cli::config::{ConfigCommand, ExpandArgs, ExpandFormat, InitArgs};
use crate::config::file::{self, Files, Loaded, templates};
use crate::ui::console;
use crate::{ExitStatus, UsageError};

pub fn run(command: &ConfigCommand, verbose: bool) -> anyhow::Result<ExitStatus> {
    match command {
        ConfigCommand::Init(args) => init(args, verbose),
        ConfigCommand::Validate(args) => validate(&args.config_file),
        ConfigCommand::Expand(args) => expand(args),
    }
}

fn init(args: &InitArgs, verbose: bool) -> anyhow::Result<ExitStatus> {
    if args.list {
        let chosen: Vec<_> = templates::ALL
            .iter()
            .filter(|t| {
                args.category
                    .as_deref()
                    .is_none_or(|c| t.category.eq_ignore_ascii_case(c))
            })
            .collect();
        if chosen.is_empty() {
            let c = args.category.as_deref().unwrap_or_default();
            console::line(&format!("No templates in category '{c}'."))?;
            return Ok(ExitStatus::Success);
        }
        console::text(&table(&chosen, verbose))?;
        console::line("Use 'aiperf config init --template <name>' to generate a template.")?;
        return Ok(ExitStatus::Success);
    }
    if let Some(keyword) = &args.search {
        let found = templates::search(keyword);
        if found.is_empty() {
            console::line(&format!("No templates match '{keyword}'."))?;
            console::line("Run 'aiperf config init --list' to see all templates.")?;
        } else {
            console::text(&table(&found, verbose))?;
        }
        return Ok(ExitStatus::Success);
    }
    let Some(name) = &args.template else {
        return Err(UsageError::new(
            "give a template with --template, or run 'aiperf config init --list' to see them",
        )
        .into());
    };
    let Some(template) = templates::find(name) else {
        let names: Vec<&str> = templates::ALL.iter().map(|t| t.name).collect();
        return Err(UsageError::new(format!(
            "unknown template {name:?}; the templates are: {}",
            names.join(", ")
        ))
        .into());
    };
    let text = templates::customized(template.text, args.model.as_deref(), args.url.as_deref());
    match &args.output {
        None => console::text(&text)?,
        Some(path) => {
            if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::write(path, &text)?;
            console::line(&format!(
                "Wrote {} template to {}",
                template.name,
                path.display()
            ))?;
        }
    }
    Ok(ExitStatus::Success)
}

/// The templates by category, in columns.
fn table(list: &[&templates::Template], verbose: bool) -> String {
    let mut out = String::new();
    for category in templates::CATEGORIES {
        let rows: Vec<_> = list.iter().filter(|t| t.category == category).collect();
        if rows.is_empty() {
            continue;
        }
        let title_w = rows.iter().map(|t| t.title.len()).max().unwrap_or(5).max(5);
        let desc_w = rows.iter().map(|t| t.description.len()).max().unwrap_or(11);
        let tags_w = rows.iter().map(|t| t.tags.len()).max().unwrap_or(4).max(4);
        let _ = writeln!(out, "{category}");
        let mut header = format!(
            "{:<27} {:<title_w$}  {:<desc_w$}",
            "Name", "Title", "Description"
        );
        if verbose {
            let _ = write!(header, "  {:<tags_w$}  Difficulty", "Tags");
        }
        let _ = writeln!(out, "{}", header.trim_end());
        for t in rows {
            let mut row = format!(
                "{:<27} {:<title_w$}  {:<desc_w$}",
                t.name, t.title, t.description
            );
            if verbose {
                let _ = write!(row, "  {:<tags_w$}  {}", t.tags, t.difficulty);
            }
            let _ = writeln!(out, "{}", row.trim_end());
        }
        out.push('\n');
    }
    out
}

fn loaded(path: &Path) -> anyhow::Result<Loaded> {
    file::load(path, Files::Write).map_err(|e| UsageError::new(e.0).into())
}

fn validate(path: &Path) -> anyhow::Result<ExitStatus> {
    let loaded = loaded(path)?;
    file::check(&loaded).map_err(UsageError::new)?;
    for w in &loaded.warnings {
        console::notice(&format!("Warning: {w}"));
    }
    match loaded.warnings.len() {
        0 => console::line(&format!("Configuration valid: {}", path.display()))?,
        n => console::line(&format!(
            "Configuration valid with {n} warning{}: {}",
            if n == 1 { "" } else { "s" },
            path.display()
        ))?,
    }
    Ok(ExitStatus::Success)
}

fn expand(args: &ExpandArgs) -> anyhow::Result<ExitStatus> {
    let loaded = loaded(&args.config_file)?;
    let total = loaded.variations.len();
    let mut full = args.full;
    let chosen: Vec<&file::Variation> = match args.index {
        Some(i) if i >= total => {
            return Err(UsageError::new(format!(
                "--index {i} out of range; the sweep has {total} variation(s)"
            ))
            .into());
        }
        Some(i) => {
            full = true;
            vec![&loaded.variations[i]]
        }
        None => loaded.variations.iter().collect(),
    };
    let text = match args.format {
        ExpandFormat::Text => expand_text(&loaded, &chosen, full),
        ExpandFormat::Json => {
            serde_json::to_string_pretty(&document(&loaded, &chosen, full))? + "\n"
        }
        ExpandFormat::Yaml => serde_saphyr::to_string(&document(&loaded, &chosen, full))?,
    };
    console::text(&text)?;
    Ok(ExitStatus::Success)
}

fn expand_text(loaded: &Loaded, chosen: &[&file::Variation], full: bool) -> String {
    let total = loaded.variations.len();
    let mut out = if chosen.len() == total {
        format!(
            "Sweep type: {} ({total} variation{})\n\n",
            loaded.sweep_type,
            if total == 1 { "" } else { "s" }
        )
    } else {
        format!(
            "Sweep type: {} (showing {} of {total})\n\n",
            loaded.sweep_type,
            chosen.len()
        )
    };
    for v in chosen {
        let _ = writeln!(out, "[{}] dir={}  label={}", v.index, v.dir_name, v.label);
        if full {
            let body = serde_saphyr::to_string(&v.body).unwrap_or_default();
            for line in body.lines() {
                let _ = writeln!(out, "    {line}");
            }
            let _ = writeln!(out, "    # aiperf profile {}", flag_line(&v.flags));
            out.push('\n');
        }
    }
    out
}

fn flag_line(flags: &[file::Flag]) -> String {
    flags
        .iter()
        .flat_map(file::Flag::tokens)
        .map(|t| {
            if t.contains([' ', '"', '{', ';', '|', '*']) {
                format!("'{t}'")
            } else {
                t
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn document(loaded: &Loaded, chosen: &[&file::Variation], full: bool) -> serde_json::Value {
    let variations: Vec<serde_json::Value> = chosen
        .iter()
        .map(|v| {
            let mut entry = serde_json::Map::new();
            entry.insert("index".into(), v.index.into());
            entry.insert("dir_name".into(), v.dir_name.clone().into());
            entry.insert("label".into(), v.label.clone().into());
            entry.insert(
                "values".into(),
                serde_json::Value::Object(v.values.iter().cloned().collect()),
            );
            if full {
                entry.insert("benchmark".into(), v.body.clone());
                entry.insert(
                    "flags".into(),
                    v.flags
                        .iter()
                        .flat_map(file::Flag::tokens)
                        .collect::<Vec<_>>()
                        .into(),
                );
            }
            serde_json::Value::Object(entry)
        })
        .collect();
    let mut doc = serde_json::Map::new();
    doc.insert("sweep_type".into(), loaded.sweep_type.clone().into());
    doc.insert("variations".into(), variations.into());
    serde_json::Value::Object(doc)
}
