//! `keyway`: run the server (`keyway serve`) or operate on its database (`keys`, `master-key`, `migrate`).

use clap::Parser;

/// jemalloc rather than glibc's malloc. Passthrough buffers are allocated on one runtime thread and freed
/// on another (tasks move between workers); glibc then locks the allocating thread's arena, and under load
/// that contention was most of the process's futex calls (0.46 per request, each a possible context
/// switch; 0.02 with jemalloc) and cost about 12% of throughput. Memory while streaming 1 GiB stays flat
/// with jemalloc's default decay (README, "Benchmark"). mimalloc was tried too and kept freed buffers.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = keyway::cli::Cli::parse();
    match keyway::commands::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("keyway: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
