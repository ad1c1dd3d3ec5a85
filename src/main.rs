//! The `trafficsim` binary: parse, run, map errors to exit codes.

use std::process::ExitCode;

use clap::Parser;
use trafficsim::cli::{Cli, run};

fn main() -> ExitCode {
    limit_malloc_arenas();
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

/// A closed pipe (`trafficsim … | head`) is not a failure.
fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain()
        .filter_map(|c| c.downcast_ref::<std::io::Error>())
        .any(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
}

/// glibc gives each allocating thread an arena of its own (up to 8 per core) and returns little
/// of it to the system. The analyzers over 10M rows peaked at 911 MiB, about 300 MiB of it such
/// idle arena memory; one arena per core keeps the peak near 613 MiB at the same speed.
/// Allocations at least this big are mapped directly (see `limit_malloc_arenas`).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const MMAP_THRESHOLD: libc::c_int = 4 << 20;

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn limit_malloc_arenas() {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    // SAFETY: `mallopt` only tunes the allocator; it runs before any other thread exists.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, cores.clamp(1, 64) as libc::c_int);
        // A fixed threshold: blocks of 4 MiB and more (a unit's rows, its Arrow buffers) are
        // mapped and returned when freed. glibc otherwise raises the threshold after the first
        // such free and keeps them in the arenas, where freed space piles up with the run's
        // length (ticketing at 10M rows: +24% resident memory over 1M).
        libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn limit_malloc_arenas() {}
