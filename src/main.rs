//! The `trafficsim` binary: parse, run, map errors to exit codes.

use std::process::ExitCode;

use clap::Parser;
use trafficsim::cli::{Cli, run};

/// mimalloc rather than glibc's allocator: generation allocates and frees a unit's rows and
/// buffers on every thread, and glibc piled the freed space up in its arenas as a run grew
/// (ticketing: +25% resident memory from 1M to 10M rows; mimalloc: flat) and spent a twentieth
/// of the time faulting fresh pages in. Measured in BENCHMARKS.md.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    limit_malloc_arenas();
    size_polars_group_tables();
    let cli = Cli::parse();
    match run(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Polars' streaming group-by aggregates the first 4,096 keys it meets in place and keeps the
/// rows of every other key until the end of the input. At 10M calls there are 5,316 customers
/// (52,698 at 100M), so a per-customer query held most of its input rows: memory grew with the
/// rows (a per-customer group-by at 100M rows peaked at 1.9 GiB; with room for 524,288 keys,
/// 0.17 GiB). A user's own `POLARS_HOT_TABLE_SIZE` is kept.
fn size_polars_group_tables() {
    const KEYS: &str = "524288";
    if std::env::var_os("POLARS_HOT_TABLE_SIZE").is_none() {
        // SAFETY: runs first in `main`, before any other thread exists.
        unsafe { std::env::set_var("POLARS_HOT_TABLE_SIZE", KEYS) };
    }
}

/// A closed pipe (`trafficsim … | head`) is not a failure.
fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain()
        .filter_map(|c| c.downcast_ref::<std::io::Error>())
        .any(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
}

/// glibc still serves the C libraries (zstd's contexts). It gives each allocating thread an arena
/// of its own (up to 8 per core) and returns little of it to the system: one per core is enough.
/// It also maps every block over 128 KiB afresh and unmaps it when freed, so each zstd context
/// (one per Parquet column chunk, about a megabyte) faulted its pages in anew: three quarters of the
/// page faults of a generation, about 5% of its time. Blocks up to 32 MiB now come from the arenas and
/// are reused.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn limit_malloc_arenas() {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    // SAFETY: `mallopt` only tunes the allocator; it runs before any other thread exists.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, cores.clamp(1, 64) as libc::c_int);
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn limit_malloc_arenas() {}
