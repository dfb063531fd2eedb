//! One run of the suite: start the chosen driver, hand it to the steps, run the features,
//! write the reports (JUnit XML, Cucumber JSON, the HTML report) and put the summary
//! together. Shared by the entry point (`tests/acceptance.rs`, console on stdout) and the
//! browser test of the report (`report_in_browser.rs`, console discarded).

use std::{io, path::PathBuf, process::ExitCode, time::Instant};

use cucumber::{World as _, WriterExt as _, writer};
use steps::MinibankWorld;

use crate::{
    capability_filter::ScenarioFilter, check, cli::HarnessCli, help, html_report, input,
    outcome::OutcomeWriter, reports, scenario_record::ScenarioRecorder, shard, summary::Summary,
};

/// How a run ended.
pub struct Finished {
    /// The exit code for CI.
    pub exit: ExitCode,
    /// The summary text (closing line last); empty when the run could not start.
    pub summary: String,
    /// The HTML report, when one was written (read by the browser test; the entry point
    /// names it in the summary).
    #[allow(dead_code)]
    pub html_report: Option<PathBuf>,
}

impl Finished {
    fn early(exit: ExitCode, summary: String) -> Self {
        Finished {
            exit,
            summary,
            html_report: None,
        }
    }
}

/// Runs the suite with `args` (the process arguments, libtest's removed), writing cucumber's
/// console output to `console`.
pub async fn run<Out>(mut args: Vec<std::ffi::OsString>, console: Out) -> Finished
where
    Out: io::Write + 'static,
{
    let started = Instant::now();
    let started_at = std::time::SystemTime::now();
    let input = match input::resolve(&mut args) {
        Ok(input) => input,
        Err(e) => {
            eprintln!("acceptance: {e}");
            return Finished::early(ExitCode::FAILURE, String::new());
        }
    };
    let mut opts = match help::parse::<
        cucumber::cli::Opts<cucumber::parser::basic::Cli, _, _, HarnessCli>,
    >(args)
    {
        Ok(opts) => opts,
        Err(e) => {
            let _ = e.print();
            let code = if e.use_stderr() { 2 } else { 0 };
            return Finished::early(ExitCode::from(code), String::new());
        }
    };
    if opts.custom.check {
        let exit = check::run(
            &input,
            opts.parser.clone(),
            opts.re_filter.take(),
            opts.tags_filter.take(),
        );
        return Finished::early(exit, String::new());
    }
    let own = opts.custom.clone();
    let reports = match reports::Reports::create(own.report_dir.clone()) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("acceptance: {e:#}");
            return Finished::early(ExitCode::FAILURE, String::new());
        }
    };
    let outcome = OutcomeWriter::default();
    let recorder = ScenarioRecorder::default();
    let cucumber = MinibankWorld::cucumber()
        .with_writer(
            writer::Basic::raw(console, writer::Coloring::Auto, writer::Verbosity::Default)
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
                .tee::<MinibankWorld, _>(
                    recorder
                        .clone()
                        .discard_stats_writes()
                        .discard_arbitrary_writes(),
                )
                .normalized(),
        )
        .before(steps::hooks::before_scenario)
        .after(steps::aftermath::after_scenario)
        .fail_on_skipped();

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
            return Finished::early(
                ExitCode::FAILURE,
                "acceptance: 0 passed, 0 failed\n".to_owned(),
            );
        }
    };
    let driver = started_driver.driver;
    if let Err(e) = steps::install_driver(driver.clone()) {
        eprintln!("acceptance: {e:#}");
        return Finished::early(ExitCode::FAILURE, String::new());
    }

    // Cucumber applies `--name`/`--tags` *instead of* a filter given in code, so take them
    // out and apply them inside ours, together with the capability check.
    let mut filter = ScenarioFilter::new(
        opts.re_filter.take(),
        opts.tags_filter.take(),
        driver.capabilities(),
        started_driver.selection,
    );
    if let Some(spec) = own.shard {
        match shard_of(spec, &own, &filter, &input.path, opts.parser.clone()) {
            Ok(share) => {
                println!("acceptance: {}", share.describe());
                filter = filter.with_share(share);
            }
            Err(e) => {
                eprintln!("acceptance: --shard {spec}: {e:#}");
                driver.shutdown().await;
                return Finished::early(ExitCode::FAILURE, String::new());
            }
        }
    }
    let keep = filter.clone();
    cucumber
        .with_cli(opts)
        .filter_run(input.path.clone(), move |f, r, s| keep.keep(f, r, s))
        .await;
    // The traces are read before the platform stops: in-process, the sink goes with it.
    let evidence = steps::exchange_log::all();
    let reading = Instant::now();
    let traces = html_report::collect_traces(driver.traces(), &evidence).await;
    let traces_read_in = reading.elapsed();
    driver.shutdown().await;

    let outcome = outcome.0.lock();
    let record = recorder.0.lock();
    // Before the lock below: it reads the same list.
    let nothing_ran = filter.nothing_selected(&input.describe());
    let not_run = filter.not_run.lock();
    let mut report_paths = reports.paths.clone();
    match reports::write_catalogue(&reports.dir) {
        Ok(path) => report_paths.push(path),
        Err(e) => eprintln!("acceptance: could not write the step catalogue page: {e:#}"),
    }
    let trace_ids = steps::trace_log::all();
    if let Err(e) = crate::report_annotations::annotate_files(
        &reports.junit_path,
        &reports.json_path,
        &trace_ids,
        &not_run,
        driver.name(),
        &reports.html_path,
    ) {
        eprintln!(
            "acceptance: could not add trace ids and not-run scenarios to the reports: {e:#}"
        );
    }
    let mut summary = Summary {
        outcome: &outcome,
        not_run: &not_run,
        nothing_ran,
        stats: steps::stats(),
        seed,
        driver: driver.name(),
        boot_time: started_driver.boot_time,
        wall_time: started.elapsed(),
        reports: &report_paths,
        traces: &trace_ids,
        evidence: &evidence,
        failures: &record.scenarios,
        html_report: Some(&reports.html_path),
        html_report_cost: None,
        shard: own.shard.map(|spec| match &own.shard_durations {
            Some(file) => format!("--shard {spec} --shard-durations {}", file.display()),
            None => format!("--shard {spec}"),
        }),
    };
    let html = html_report::run_report(html_report::RunFacts {
        outcome: &outcome,
        record: &record,
        evidence: &evidence,
        traces,
        not_run: &not_run,
        driver: driver.name(),
        seed,
        replay: summary.replay_command(),
        started: started_at,
        wall_time: started.elapsed(),
    });
    // The page's data as JSON beside it: `merge-reports` re-renders one page from the shards'.
    if let Err(e) = harness::report::merge::write_data(&html, &reports.data_path) {
        eprintln!("acceptance: could not write the HTML report's data: {e:#}");
    }
    let writing = Instant::now();
    let html_written = match html_report::write(&html, &reports.html_path) {
        Ok(bytes) => {
            summary.html_report_cost = Some(html_report::Cost {
                traces_read: traces_read_in,
                written: writing.elapsed(),
                bytes,
            });
            true
        }
        Err(e) => {
            eprintln!("acceptance: could not write the HTML report: {e:#}");
            summary.html_report = None;
            false
        }
    };
    Finished {
        exit: if summary.failed() {
            ExitCode::FAILURE
        } else {
            ExitCode::SUCCESS
        },
        summary: summary.render(),
        html_report: html_written.then(|| reports.html_path.clone()),
    }
}

/// This shard's share: every scenario the user's selection takes in the features a run reads
/// (each Examples row on its own), split as `shard.rs` says.
fn shard_of(
    spec: shard::ShardSpec,
    own: &HarnessCli,
    filter: &ScenarioFilter,
    path: &std::path::Path,
    parser: cucumber::parser::basic::Cli,
) -> anyhow::Result<shard::Share> {
    let mut keys = std::collections::BTreeSet::new();
    for feature in check::read(path, parser).iter().flatten() {
        for (rule, scenario) in check::scenarios_of(feature) {
            if filter.selects(feature, rule, scenario) {
                keys.insert(crate::outcome::scenario_key(feature, scenario));
            }
        }
    }
    let durations = match own.shard_durations_path() {
        Some(path) => Some((shard::read_durations(&path)?, path)),
        None => None,
    };
    Ok(shard::share(
        spec,
        &keys,
        durations.as_ref().map(|(d, p)| (p.as_path(), d)),
    ))
}
