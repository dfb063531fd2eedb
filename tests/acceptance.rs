//! The cucumber entry point: `cargo test` (or `cargo test --test acceptance -- <flags>`).
//!
//! Thin on purpose: parse the flags, start the chosen driver, hand it to the steps, run every
//! feature under `features/`, write the reports, summarize, exit non-zero on any failure.
//! Own flags (see `acceptance/cli.rs`): `--driver in-process|containers|staging`, `--seed N`,
//! `--profile FILE`, `--check` (validate the features without a platform: `acceptance/check.rs`);
//! cucumber's own: `--tags`, `--name`, `--input` (a file, folder or glob: `acceptance/input.rs`),
//! `--concurrency`, `--fail-fast`, `--retry`, ... `--help` is the harness's (`acceptance/help.rs`).
//! Reports: `target/acceptance/junit.xml` and `target/acceptance/cucumber.json`, with each
//! scenario's trace ids and the scenarios not run (and why) added after the run, and the step
//! catalogue as a searchable page, `target/acceptance/steps.html`.

#[path = "acceptance/capability_filter.rs"]
mod capability_filter;
#[path = "acceptance/check.rs"]
mod check;
#[path = "acceptance/cli.rs"]
mod cli;
#[path = "acceptance/help.rs"]
mod help;
#[path = "acceptance/input.rs"]
mod input;
#[path = "acceptance/outcome.rs"]
mod outcome;
#[path = "acceptance/report_annotations.rs"]
mod report_annotations;
#[path = "acceptance/reports.rs"]
mod reports;
#[path = "acceptance/summary.rs"]
mod summary;

use std::{process::ExitCode, time::Instant};

use cucumber::{World as _, WriterExt as _, writer};
use steps::MinibankWorld;

use crate::{
    capability_filter::ScenarioFilter, cli::HarnessCli, outcome::OutcomeWriter, summary::Summary,
};

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
    runtime.block_on(run(args))
}

async fn run(mut args: Vec<std::ffi::OsString>) -> ExitCode {
    let started = Instant::now();
    let input = match input::resolve(&mut args) {
        Ok(input) => input,
        Err(e) => {
            eprintln!("acceptance: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut opts = match help::parse::<
        cucumber::cli::Opts<cucumber::parser::basic::Cli, _, _, HarnessCli>,
    >(args)
    {
        Ok(opts) => opts,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    if opts.custom.check {
        return check::run(
            &input,
            opts.parser.clone(),
            opts.re_filter.take(),
            opts.tags_filter.take(),
        );
    }
    let reports = match reports::Reports::create() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("acceptance: {e:#}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = OutcomeWriter::default();
    let cucumber = MinibankWorld::cucumber()
        .with_writer(
            writer::Basic::raw(
                std::io::stdout(),
                writer::Coloring::Auto,
                writer::Verbosity::Default,
            )
            .summarized()
            .tee::<MinibankWorld, _>(writer::JUnit::for_tee(
                reports.junit,
                writer::Verbosity::Default,
            ))
            .tee::<MinibankWorld, _>(writer::Json::for_tee(reports.json))
            .tee::<MinibankWorld, _>(
                outcome
                    .clone()
                    .discard_stats_writes()
                    .discard_arbitrary_writes(),
            )
            .normalized(),
        )
        .before(steps::hooks::before_scenario)
        .after(steps::aftermath::after_scenario)
        .fail_on_skipped();

    let own = opts.custom.clone();
    let seed = steps::set_seed(own.seed.unwrap_or_else(rand::random));
    println!(
        "acceptance: driver {}, seed {seed} (replay with -- --seed {seed})",
        own.driver
    );

    let driver_options = drivers::select::DriverOptions {
        profile: own.profile_path(),
        allow_production: own.allow_production,
    };
    let started_driver = match drivers::select::start(own.driver, &driver_options).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("acceptance: {e}");
            println!("acceptance: 0 passed, 0 failed");
            return ExitCode::FAILURE;
        }
    };
    let driver = started_driver.driver;
    if let Err(e) = steps::install_driver(driver.clone()) {
        eprintln!("acceptance: {e:#}");
        return ExitCode::FAILURE;
    }

    // Cucumber applies `--name`/`--tags` *instead of* a filter given in code, so take them
    // out and apply them inside ours, together with the capability check.
    let filter = ScenarioFilter::new(
        opts.re_filter.take(),
        opts.tags_filter.take(),
        driver.capabilities(),
        started_driver.selection,
    );
    let keep = filter.clone();
    cucumber
        .with_cli(opts)
        .filter_run(input.path.clone(), move |f, r, s| keep.keep(f, r, s))
        .await;
    driver.shutdown().await;

    let outcome = outcome.0.lock();
    // Before the lock below: it reads the same list.
    let nothing_ran = filter.nothing_selected(&input.describe());
    let not_run = filter.not_run.lock();
    let mut report_paths = reports.paths.clone();
    match reports::write_catalogue(&reports.dir) {
        Ok(path) => report_paths.push(path),
        Err(e) => eprintln!("acceptance: could not write the step catalogue page: {e:#}"),
    }
    let traces = steps::trace_log::all();
    if let [junit, json, ..] = reports.paths.as_slice()
        && let Err(e) =
            report_annotations::annotate_files(junit, json, &traces, &not_run, driver.name())
    {
        eprintln!(
            "acceptance: could not add trace ids and not-run scenarios to the reports: {e:#}"
        );
    }
    let summary = Summary {
        outcome: &outcome,
        not_run: &not_run,
        nothing_ran,
        stats: steps::stats(),
        seed,
        driver: driver.name(),
        boot_time: started_driver.boot_time,
        wall_time: started.elapsed(),
        reports: &report_paths,
        traces: &traces,
    };
    print!("{}", summary.render());
    if summary.failed() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
