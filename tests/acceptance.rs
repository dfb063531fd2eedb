//! The cucumber entry point: `cargo test` (or `cargo test --test acceptance -- <flags>`).
//!
//! Thin on purpose: parse the flags, start the chosen driver, hand it to the steps, run every
//! feature under `features/`, write the reports, summarize, exit non-zero on any failure.
//! Own flags (see `acceptance/cli.rs`): `--driver in-process|containers|staging`, `--seed N`,
//! `--profile FILE`, `--report-dir DIR`, `--check` (validate the features without a platform:
//! `acceptance/check.rs`); cucumber's own: `--tags`, `--name`, `--input` (a file, folder or
//! glob: `acceptance/input.rs`), `--concurrency`, `--fail-fast`, `--retry`, ... `--help` is the
//! harness's (`acceptance/help.rs`). Reports: `target/acceptance/junit.xml` and
//! `target/acceptance/cucumber.json`, with each scenario's trace ids and the scenarios not run
//! (and why) added after the run, `target/acceptance/report.html`, the living documentation
//! (every scenario, step, request and trace), and the step catalogue as a searchable page,
//! `target/acceptance/steps.html`. The run itself is `acceptance/run.rs`.

#[path = "acceptance/capability_filter.rs"]
mod capability_filter;
#[path = "acceptance/check.rs"]
mod check;
#[path = "acceptance/cli.rs"]
mod cli;
#[path = "acceptance/help.rs"]
mod help;
#[path = "acceptance/html_report.rs"]
mod html_report;
#[path = "acceptance/input.rs"]
mod input;
#[path = "acceptance/outcome.rs"]
mod outcome;
#[path = "acceptance/report_annotations.rs"]
mod report_annotations;
#[path = "acceptance/reports.rs"]
mod reports;
#[path = "acceptance/run.rs"]
mod run;
#[path = "acceptance/scenario_record.rs"]
mod scenario_record;
#[path = "acceptance/shard.rs"]
mod shard;
#[path = "acceptance/summary.rs"]
mod summary;

use std::process::ExitCode;

fn main() -> ExitCode {
    let args = match cli::args(std::env::args_os()) {
        cli::Args::Run(args) => args,
        cli::Args::NothingToDo(why) => {
            println!("acceptance: nothing to do ({why})");
            return ExitCode::SUCCESS;
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("acceptance: cannot start the tokio runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let finished = runtime.block_on(run::run(args, std::io::stdout()));
    print!("{}", finished.summary);
    finished.exit
}
