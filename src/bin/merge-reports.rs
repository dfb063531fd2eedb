//! `cargo run --bin merge-reports -- [--out DIR] SHARD_DIR...`: joins the reports of a suite
//! split across machines (`cargo test --test acceptance -- --shard K/N`, one report folder per
//! shard) into one set in `DIR` (default `target/acceptance/merged`): `junit.xml`,
//! `cucumber.json`, and `report.html` drawn again from every shard's `report-data.json`.
//! Thin: flags, then `harness::report::merge::merge_dirs`.

use std::{path::PathBuf, process::ExitCode};

use clap::Parser;

/// Merge the JUnit, Cucumber JSON and HTML reports of a run's shards into one set.
#[derive(Debug, Parser)]
#[command(name = "merge-reports")]
struct Flags {
    /// Where the merged reports go.
    #[arg(long, value_name = "dir", default_value = "target/acceptance/merged")]
    out: PathBuf,
    /// Each shard's report folder (its `--report-dir`), in any order.
    #[arg(value_name = "SHARD_DIR", required = true)]
    shards: Vec<PathBuf>,
}

fn main() -> ExitCode {
    let flags = Flags::parse();
    match harness::report::merge::merge_dirs(&flags.shards, &flags.out) {
        Ok(merged) => {
            println!(
                "merge-reports: {} shard(s), {} scenario(s), {} failed",
                flags.shards.len(),
                merged.scenarios,
                merged.failed
            );
            for file in &merged.files {
                println!("  {}", file.display());
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("merge-reports: {e:#}");
            ExitCode::FAILURE
        }
    }
}
