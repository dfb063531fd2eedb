//! Writes `features/STEPS.md`, the catalogue of every step sentence, from the step sources.
//!
//! `cargo run -p steps --bin step-catalogue` (add `-- --check` to only compare).

use std::{path::PathBuf, process::ExitCode};

fn main() -> ExitCode {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../features/STEPS.md");
    let fresh = steps::catalogue::render_markdown();
    if std::env::args().any(|a| a == "--check") {
        let current = std::fs::read_to_string(&path).unwrap_or_default();
        if current == fresh {
            return ExitCode::SUCCESS;
        }
        eprintln!(
            "{} is out of date: run `cargo run -p steps --bin step-catalogue`",
            path.display()
        );
        return ExitCode::FAILURE;
    }
    match std::fs::write(&path, fresh) {
        Ok(()) => {
            println!(
                "wrote {} ({} steps)",
                path.display(),
                steps::catalogue::entries().len()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("cannot write {}: {e}", path.display());
            ExitCode::FAILURE
        }
    }
}
