//! `trafficsim init`: writes the built-in configuration out as `DIR/config/…`, for editing. A
//! run in `DIR` then reads those files instead of the built-in copies.

use std::io::Write as _;
use std::path::PathBuf;

use anyhow::{Context as _, Result, bail};
use clap::Args;

use crate::config::embedded;
use crate::sink::atomic::AtomicFile;

#[derive(Debug, Clone, Args)]
pub struct InitArgs {
    /// Directory to write `config/` into [default: the working directory].
    #[arg(value_name = "DIR", default_value = ".")]
    pub dir: PathBuf,
    /// Overwrite files that already exist.
    #[arg(long)]
    pub force: bool,
}

pub fn run(args: &InitArgs) -> Result<()> {
    let root = args.dir.join(embedded::DISK_DIR);
    let files: Vec<(PathBuf, &str)> = embedded::files().map(|(name, text)| (root.join(name), text)).collect();
    let existing: Vec<String> = files
        .iter()
        .filter(|(path, _)| path.exists())
        .map(|(path, _)| path.display().to_string())
        .collect();
    if !existing.is_empty() && !args.force {
        bail!(
            "{}: {} file(s) already exist ({}{}): nothing was written; use --force to overwrite them",
            root.display(),
            existing.len(),
            existing.iter().take(3).cloned().collect::<Vec<_>>().join(", "),
            if existing.len() > 3 { ", …" } else { "" }
        );
    }
    for (path, text) in &files {
        let parent = path.parent().expect("a file under the config directory");
        std::fs::create_dir_all(parent).with_context(|| format!("cannot create {}", parent.display()))?;
        let mut file = AtomicFile::create(path).with_context(|| format!("cannot create {}", path.display()))?;
        file.write_all(text.as_bytes())
            .and_then(|()| file.commit())
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    println!(
        "wrote {} configuration files to {}; runs in {} now read them (start with {})",
        files.len(),
        root.display(),
        args.dir.display(),
        root.join("default.toml").display()
    );
    Ok(())
}
