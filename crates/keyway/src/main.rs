//! `keyway`: run the server (`keyway serve`) or operate on its database (`keys`, `master-key`, `migrate`).

use clap::Parser;

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
