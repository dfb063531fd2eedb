//! The harness's own `--help`: what it is and the flags an analyst uses, instead of
//! cucumber's default text. Cucumber's flags keep their own descriptions below it.

/// First line of `-h` and `--help`.
const ABOUT: &str = "minibank's acceptance suite: runs the Gherkin features in features/ against \
the platform, end to end, with every request traced";

/// What `--help` says before the flags.
const LONG_ABOUT: &str = "\
minibank's acceptance suite: runs the Gherkin features in features/ against the platform, end to
end, with every request traced and its trace checked.

Run it with cargo; everything after `--` is for the suite:
  cargo test --test acceptance                               every feature, in-process
  cargo test --test acceptance -- --check                    check every feature, no platform
  cargo test --test acceptance -- --input features/payments.feature
  cargo test --test acceptance -- --check --input drafts/    check a folder of drafts
  cargo test --test acceptance -- --tags @staging-safe       scenarios by tag expression
  cargo test --test acceptance -- --name insufficient        scenarios by name
  cargo test --test acceptance -- --seed 42                  replay a run's fake data

The sentences you may use, with the error codes, statuses and timings of the platform:
features/STEPS.md, or target/acceptance/steps.html (searchable; written by every run).";

/// Closing words of `--help`.
const AFTER_HELP: &str = "\
Reports: target/acceptance/junit.xml and cucumber.json. A run fails on any failed or undefined
step, and when it selects no scenario at all. features/README.md has a worked example.";

/// Parses the arguments with the harness's own help text.
///
/// # Errors
/// When the flags are wrong, or help was asked for (clap's error prints either).
pub fn parse<O: clap::Parser>(args: Vec<std::ffi::OsString>) -> Result<O, clap::Error> {
    let command = O::command()
        .name("acceptance")
        .bin_name("cargo test --test acceptance --")
        .about(ABOUT)
        .long_about(LONG_ABOUT)
        .after_help(AFTER_HELP)
        // Cucumber's own `--input` takes only a glob; ours takes a path too (`input.rs`).
        .mut_arg("input", |arg| {
            arg.value_name("file|folder|glob").help(
                "Feature file(s) to read instead of features/: a file, a folder or a glob, from the workspace root or the current folder",
            )
        });
    let mut matches = command.try_get_matches_from(args)?;
    O::from_arg_matches_mut(&mut matches)
}
