//! The default configuration (`config/**` of the repository), compiled into the binary, so that
//! `trafficsim generate` works from any directory after `cargo install`: when the run plan asked
//! for is the default one (`config/default.toml`, `config/ticketing.toml`) and no such file is on
//! disk, the plan and every file it names are read from here. Their paths then start with
//! [`ROOT`], so messages, the run summary and the manifest say where the settings came from.
//! `trafficsim init` writes these files out for editing.

use std::path::{Component, Path, PathBuf};

/// The directory the embedded files appear under; not a real directory.
pub const ROOT: &str = "<built-in config>";

/// The directory on disk the embedded files stand in for, relative to the working directory.
pub const DISK_DIR: &str = "config";

/// Every file of `config/`, by its path inside it.
const FILES: [(&str, &str); 28] = [
    ("analysis.toml", include_str!("../../config/analysis.toml")),
    ("catalogue.toml", include_str!("../../config/catalogue.toml")),
    (
        "columns/litellm.toml",
        include_str!("../../config/columns/litellm.toml"),
    ),
    (
        "columns/seed-era.toml",
        include_str!("../../config/columns/seed-era.toml"),
    ),
    ("default.toml", include_str!("../../config/default.toml")),
    (
        "scenarios/base_traffic.toml",
        include_str!("../../config/scenarios/base_traffic.toml"),
    ),
    (
        "scenarios/burst_traffic.toml",
        include_str!("../../config/scenarios/burst_traffic.toml"),
    ),
    (
        "scenarios/cost_optimization.toml",
        include_str!("../../config/scenarios/cost_optimization.toml"),
    ),
    (
        "scenarios/feature_launch.toml",
        include_str!("../../config/scenarios/feature_launch.toml"),
    ),
    (
        "scenarios/gradual_decline.toml",
        include_str!("../../config/scenarios/gradual_decline.toml"),
    ),
    (
        "scenarios/model_migration.toml",
        include_str!("../../config/scenarios/model_migration.toml"),
    ),
    (
        "scenarios/multi_tenant.toml",
        include_str!("../../config/scenarios/multi_tenant.toml"),
    ),
    (
        "scenarios/seasonal_pattern.toml",
        include_str!("../../config/scenarios/seasonal_pattern.toml"),
    ),
    (
        "scenarios/steady_growth.toml",
        include_str!("../../config/scenarios/steady_growth.toml"),
    ),
    (
        "scenarios/timezone_patterns.toml",
        include_str!("../../config/scenarios/timezone_patterns.toml"),
    ),
    (
        "scenarios/viral_spike.toml",
        include_str!("../../config/scenarios/viral_spike.toml"),
    ),
    (
        "scenarios/weekend_effect.toml",
        include_str!("../../config/scenarios/weekend_effect.toml"),
    ),
    ("ticketing.toml", include_str!("../../config/ticketing.toml")),
    (
        "ticketing/catalogue.toml",
        include_str!("../../config/ticketing/catalogue.toml"),
    ),
    (
        "ticketing/model.toml",
        include_str!("../../config/ticketing/model.toml"),
    ),
    (
        "ticketing/scenarios/ab_pricing_test.toml",
        include_str!("../../config/ticketing/scenarios/ab_pricing_test.toml"),
    ),
    (
        "ticketing/scenarios/black_friday.toml",
        include_str!("../../config/ticketing/scenarios/black_friday.toml"),
    ),
    (
        "ticketing/scenarios/flash_sale.toml",
        include_str!("../../config/ticketing/scenarios/flash_sale.toml"),
    ),
    (
        "ticketing/scenarios/fraud_attack.toml",
        include_str!("../../config/ticketing/scenarios/fraud_attack.toml"),
    ),
    (
        "ticketing/scenarios/gradual_drift.toml",
        include_str!("../../config/ticketing/scenarios/gradual_drift.toml"),
    ),
    (
        "ticketing/scenarios/normal_traffic.toml",
        include_str!("../../config/ticketing/scenarios/normal_traffic.toml"),
    ),
    (
        "ticketing/scenarios/system_degradation.toml",
        include_str!("../../config/ticketing/scenarios/system_degradation.toml"),
    ),
    ("traffic.toml", include_str!("../../config/traffic.toml")),
];

/// The embedded files, by their path inside the config directory.
pub fn files() -> impl Iterator<Item = (&'static str, &'static str)> {
    FILES.iter().copied()
}

/// `path` itself, or its embedded stand-in when it names a file of `config/` (relative to the
/// working directory) that is not on disk.
pub fn resolve(path: &Path) -> PathBuf {
    if path.exists() {
        return path.to_path_buf();
    }
    let inside = relative_to(path, Path::new(DISK_DIR));
    match inside {
        Some(rel) if text(&rel).is_some() => Path::new(ROOT).join(rel),
        _ => path.to_path_buf(),
    }
}

/// The embedded text of `path`, when it lies under [`ROOT`]; `None` for a path on disk.
/// `Some(None)`: under the root, but no such file.
pub fn read(path: &Path) -> Option<Option<&'static str>> {
    relative_to(path, Path::new(ROOT)).map(|rel| text(&rel))
}

/// The embedded files directly inside `dir`, when it lies under [`ROOT`]; `None` for a
/// directory on disk.
pub fn list(dir: &Path) -> Option<Vec<PathBuf>> {
    let rel = relative_to(dir, Path::new(ROOT))?;
    Some(
        FILES
            .iter()
            .map(|(name, _)| Path::new(name))
            .filter(|name| name.parent() == Some(rel.as_path()))
            .map(|name| Path::new(ROOT).join(name))
            .collect(),
    )
}

fn text(rel: &Path) -> Option<&'static str> {
    FILES
        .iter()
        .find(|(name, _)| Path::new(name) == rel)
        .map(|(_, text)| *text)
}

/// `path` below `base`, ignoring `.` components; `None` when it is not below it.
fn relative_to(path: &Path, base: &Path) -> Option<PathBuf> {
    let clean: PathBuf = path.components().filter(|c| *c != Component::CurDir).collect();
    clean.strip_prefix(base).ok().map(Path::to_path_buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_of_the_config_directory_is_embedded_as_it_is() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(DISK_DIR);
        let mut on_disk = Vec::new();
        let mut stack = vec![dir.clone()];
        while let Some(d) = stack.pop() {
            for entry in std::fs::read_dir(&d).unwrap() {
                let p = entry.unwrap().path();
                if p.is_dir() {
                    stack.push(p);
                } else {
                    on_disk.push(p.strip_prefix(&dir).unwrap().to_string_lossy().into_owned());
                }
            }
        }
        on_disk.sort();
        let embedded: Vec<String> = files().map(|(n, _)| n.to_string()).collect();
        assert_eq!(embedded, on_disk, "add the new file to FILES");
        for (name, text) in files() {
            assert_eq!(std::fs::read_to_string(dir.join(name)).unwrap(), text, "{name}");
        }
    }

    #[test]
    fn only_missing_default_files_resolve_to_the_embedded_copy() {
        let cwd = tempfile::tempdir().unwrap();
        let missing = cwd.path().join("config/default.toml");
        assert_eq!(resolve(&missing), missing, "an absolute path is never replaced");
        assert_eq!(resolve(Path::new("config/nope.toml")), Path::new("config/nope.toml"));
        let root = Path::new(ROOT);
        assert_eq!(read(&root.join("default.toml")), Some(text(Path::new("default.toml"))));
        assert!(text(Path::new("default.toml")).is_some());
        assert_eq!(read(&root.join("nope.toml")), Some(None));
        assert_eq!(read(Path::new("config/default.toml")), None);
        let scenarios = list(&root.join("scenarios")).unwrap();
        assert_eq!(scenarios.len(), 12);
        assert!(scenarios.iter().all(|p| p.starts_with(root.join("scenarios"))));
        assert!(list(Path::new("config/scenarios")).is_none());
    }
}
