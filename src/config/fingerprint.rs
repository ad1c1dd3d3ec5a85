//! A hash of a resolved run plan: what the data depends on (seed, window, size, formats,
//! columns, catalogue, traffic model, the scenarios' definitions), not where the files were
//! read from or where the output goes. Two runs with the same hash and version wrote the same
//! bytes; Parquet files carry it in their metadata, `run_summary.json` beside them.

use std::fmt::Debug;
use std::path::PathBuf;

use super::RunSettings;

/// `blake3:` and the first 128 bits, in hex, of the plan's settings and `parts` as `Debug` text
/// (deterministic: every table in a config is ordered).
pub fn plan_hash(run: &RunSettings, parts: &[&dyn Debug]) -> String {
    let mut run = run.clone();
    run.out = PathBuf::new();
    let mut hasher = blake3::Hasher::new();
    hasher.update(format!("{run:?}").as_bytes());
    for part in parts {
        hasher.update(format!("{part:?}").as_bytes());
    }
    format!("blake3:{}", &hasher.finalize().to_hex()[..32])
}
