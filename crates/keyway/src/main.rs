//! `keyway`: run the server (`keyway serve`) or operate on its database (`keys`, `master-key`, `migrate`).

use clap::Parser;

/// mimalloc: the proxy allocates and frees many small buffers per request from several threads, where
/// it measured faster than glibc's malloc (see README, "Benchmark").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
