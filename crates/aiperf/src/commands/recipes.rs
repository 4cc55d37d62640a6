//! `aiperf recipes`: what the built-in search recipes do.

use std::fmt::Write as _;

use crate::cli::RecipesArgs;
use crate::recipes::{BUILTIN, load};
use crate::{ExitStatus, UsageError};

pub fn run(args: &RecipesArgs) -> anyhow::Result<ExitStatus> {
    if let Some(name) = &args.name {
        let Some((_, text)) = BUILTIN.iter().find(|(n, _)| n == name) else {
            let names: Vec<&str> = BUILTIN.iter().map(|(n, _)| *n).collect();
            return Err(UsageError::new(format!(
                "unknown recipe {name:?}; built-in recipes: {}",
                names.join(", ")
            ))
            .into());
        };
        crate::ui::console::text(text)?;
        return Ok(ExitStatus::Success);
    }
    let mut out = String::new();
    for (name, _) in BUILTIN {
        let recipe = load(name)?;
        let _ = writeln!(out, "{name}\n    {}\n", recipe.description);
    }
    let _ = writeln!(
        out,
        "Run one with `aiperf profile --search-recipe NAME ...`; `aiperf recipes NAME` prints its \
         definition, a starting point for your own recipe file (--search-recipe ./mine.toml)."
    );
    crate::ui::console::text(&out)?;
    Ok(ExitStatus::Success)
}
