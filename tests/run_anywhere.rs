//! Issue 13, "runs from anywhere" and "Parquet that tools read without hints": the built-in
//! configuration, `trafficsim init`, and the provenance and logical types of every Parquet file.

mod common;

use std::path::Path;

use common::*;
use parquet::basic::{ConvertedType, LogicalType, TimeUnit as PqTimeUnit, Type as PhysicalType};
use parquet::file::reader::{FileReader, SerializedFileReader};
use trafficsim::sink::parquet::{PLAN_HASH_KEY, SEED_KEY, VERSION_KEY};

/// The binary run in `dir` (no `config/` there unless a test writes one).
fn in_dir(dir: &Path, args: &[&str]) -> Run {
    run_bin_in(Some(dir), args)
}

fn summary(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn run_works_in_an_empty_directory_with_the_built_in_configuration() {
    let dir = tempfile::tempdir().unwrap();
    in_dir(dir.path(), &["run", "--rows", "3000", "--quiet"])
        .success()
        .stdout_has("generated 3000 rows")
        .stdout_has("reports in output/reports/index.html");
    assert!(dir.path().join("output/data/calls").is_dir());
    assert!(dir.path().join("output/reports/index.html").is_file());
    let s = summary(&dir.path().join("output/run_summary.json"));
    assert_eq!(s["config"], "<built-in config>/default.toml");
    // The ticketing plan is built in too, and so is everything the plans name.
    in_dir(
        dir.path(),
        &[
            "generate",
            "--config",
            "config/ticketing.toml",
            "--rows",
            "2000",
            "--quiet",
        ],
    )
    .success();
    assert!(dir.path().join("output/ticketing/data/transactions").is_dir());
    in_dir(dir.path(), &["validate"])
        .success()
        .stdout_has("all checks passed");
    in_dir(dir.path(), &["export", "focus"]).success();
    assert!(dir.path().join("output/focus/focus_cost_and_usage.parquet").is_file());
    // A plan given by another path is never replaced by the built-in one.
    in_dir(dir.path(), &["generate", "--config", "elsewhere/default.toml"])
        .failure()
        .stderr_has("elsewhere/default.toml: cannot read the file");
}

#[test]
fn init_writes_the_configuration_out_and_runs_then_use_it() {
    let dir = tempfile::tempdir().unwrap();
    in_dir(dir.path(), &["init", "project"])
        .success()
        .stdout_has("wrote 28 configuration files");
    let config = dir.path().join("project/config");
    assert_eq!(
        std::fs::read_to_string(config.join("default.toml")).unwrap(),
        std::fs::read_to_string(repo().join("config/default.toml")).unwrap()
    );
    assert!(config.join("ticketing/scenarios/flash_sale.toml").is_file());
    // Nothing is overwritten without --force, and nothing is half written.
    std::fs::write(config.join("catalogue.toml"), "# mine\n").unwrap();
    in_dir(dir.path(), &["init", "project"])
        .failure()
        .stderr_has("already exist")
        .stderr_has("--force");
    assert_eq!(
        std::fs::read_to_string(config.join("catalogue.toml")).unwrap(),
        "# mine\n"
    );
    in_dir(dir.path(), &["init", "project", "--force"]).success();
    assert_ne!(
        std::fs::read_to_string(config.join("catalogue.toml")).unwrap(),
        "# mine\n"
    );
    // An edited file on disk wins over the built-in one.
    let plan = config.join("default.toml");
    let text = std::fs::read_to_string(&plan).unwrap().replace("seed = 42", "seed = 9");
    std::fs::write(&plan, text).unwrap();
    in_dir(
        &dir.path().join("project"),
        &["generate", "--rows", "500", "--quiet", "--format", "csv"],
    )
    .success()
    .stdout_has("seed 9");
    let s = summary(&dir.path().join("project/output/run_summary.json"));
    assert_eq!(s["config"], "config/default.toml");
}

/// Every Parquet file under `dir`.
fn parquet_files(dir: &Path) -> Vec<std::path::PathBuf> {
    files_under(dir)
        .into_iter()
        .filter(|f| f.extension().is_some_and(|e| e == "parquet"))
        .map(|f| dir.join(f))
        .collect()
}

/// Asserts the provenance metadata and standard logical types of a Parquet file.
fn assert_standard(path: &Path, seed: u64, plan_hash: &str) {
    let reader = SerializedFileReader::new(std::fs::File::open(path).unwrap()).unwrap();
    let meta = reader.metadata().file_metadata();
    let kv = meta.key_value_metadata().expect("key-value metadata");
    let value = |key: &str| kv.iter().find(|k| k.key == key).and_then(|k| k.value.clone());
    assert_eq!(
        value(VERSION_KEY).as_deref(),
        Some(env!("CARGO_PKG_VERSION")),
        "{}",
        path.display()
    );
    assert_eq!(value(SEED_KEY), Some(seed.to_string()), "{}", path.display());
    assert_eq!(value(PLAN_HASH_KEY).as_deref(), Some(plan_hash), "{}", path.display());
    for column in meta.schema_descr().columns() {
        let name = format!("{}: {}", path.display(), column.name());
        match column.physical_type() {
            PhysicalType::BYTE_ARRAY => {
                assert_eq!(
                    column.logical_type_ref(),
                    Some(&LogicalType::String),
                    "{name}: text is UTF-8 String"
                );
            }
            PhysicalType::INT64 if column.converted_type() == ConvertedType::TIMESTAMP_MICROS => {
                assert_eq!(
                    column.logical_type_ref(),
                    Some(&LogicalType::timestamp(true, PqTimeUnit::MICROS)),
                    "{name}: instants are UTC timestamps"
                );
            }
            PhysicalType::INT32 => {
                assert_eq!(
                    column.logical_type_ref(),
                    Some(&LogicalType::Date),
                    "{name}: 32-bit columns are dates"
                );
            }
            PhysicalType::INT64 | PhysicalType::DOUBLE | PhysicalType::BOOLEAN => {
                assert!(
                    column
                        .logical_type_ref()
                        .is_none_or(|t| matches!(t, LogicalType::Integer(_))),
                    "{name}: plain numbers and booleans"
                );
            }
            other => panic!("{name}: unexpected physical type {other}"),
        }
    }
    // The Arrow schema kept in the file (what pyarrow and Polars follow) holds no categorical.
    let arrow =
        parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(path).unwrap())
            .unwrap()
            .schema()
            .clone();
    for field in arrow.fields() {
        assert!(
            !matches!(field.data_type(), arrow::datatypes::DataType::Dictionary(..)),
            "{}: {} is stored as a dictionary type",
            path.display(),
            field.name()
        );
    }
}

#[test]
fn every_parquet_file_of_both_workloads_and_the_export_says_where_it_came_from_in_standard_types() {
    let dir = tempfile::tempdir().unwrap();
    let calls = dir.path().join("calls");
    let ticketing = dir.path().join("ticketing");
    generate(&calls, &["--rows", "3000"]);
    run_bin([
        "generate",
        "--config",
        repo().join("config/ticketing.toml").to_str().unwrap(),
        "--out",
        ticketing.to_str().unwrap(),
        "--rows",
        "3000",
        "--quiet",
    ])
    .success();
    run_bin([
        "export",
        "focus",
        "--input",
        calls.join("data").to_str().unwrap(),
        "--out",
        calls.join("focus").to_str().unwrap(),
        "--config",
        default_config().to_str().unwrap(),
    ])
    .success();
    for (out, tables) in [(&calls, 3), (&ticketing, 4)] {
        let s = summary(&out.join("run_summary.json"));
        let (seed, hash) = (s["seed"].as_u64().unwrap(), s["plan_hash"].as_str().unwrap());
        assert!(hash.starts_with("blake3:"), "{hash}");
        let files = parquet_files(out);
        let kinds: std::collections::BTreeSet<String> = files
            .iter()
            .map(|f| {
                let rel = f.strip_prefix(out).unwrap();
                rel.components()
                    .nth(1)
                    .unwrap()
                    .as_os_str()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        assert_eq!(kinds.len(), tables, "{kinds:?}");
        for f in &files {
            assert_standard(f, seed, hash);
        }
    }
    let calls_hash = summary(&calls.join("run_summary.json"))["plan_hash"].clone();
    let ticketing_hash = summary(&ticketing.join("run_summary.json"))["plan_hash"].clone();
    assert_ne!(calls_hash, ticketing_hash);
    // The hash follows the plan, not where it is read from or written to.
    let again = tempfile::tempdir().unwrap();
    generate(again.path(), &["--rows", "3000", "--format", "csv"]);
    assert_ne!(
        summary(&again.path().join("run_summary.json"))["plan_hash"],
        calls_hash,
        "formats are in the plan"
    );
    generate(again.path(), &["--rows", "3000"]);
    assert_eq!(summary(&again.path().join("run_summary.json"))["plan_hash"], calls_hash);
}
