//! `cargo run -p drivers --bin build-images`: builds (or finds) the images the containers
//! driver runs, `minibank:<hash>` and `rotel:<hash>`, also tagged `:0.1.0` for `deploy/k8s`.
//! `--no-cargo-build` uses the binaries as they are instead of building them first.
//! `--profile debug` puts the debug binaries in the image (what `cargo build --workspace
//! --all-targets` made: CI's choice, .ci/run), `--profile release` (the default) the release
//! ones; without the flag, `$MINIBANK_IMAGES_PROFILE` decides.

use std::process::ExitCode;

use drivers::containers::images::{BinaryProfile, ImageOptions, ensure_images};
use testcontainers::bollard::Docker;

#[tokio::main]
async fn main() -> ExitCode {
    let mut options = ImageOptions::default();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--no-cargo-build" => options.cargo_build = false,
            "--profile" => match args.next().as_deref().map(str::parse::<BinaryProfile>) {
                Some(Ok(profile)) => options.profile = Some(profile),
                Some(Err(e)) => {
                    eprintln!("build-images: --profile: {e}");
                    return ExitCode::from(2);
                }
                None => {
                    eprintln!("build-images: --profile needs a value (release or debug)");
                    return ExitCode::from(2);
                }
            },
            other => {
                eprintln!(
                    "build-images: unknown argument {other:?} (known: --no-cargo-build, --profile release|debug)"
                );
                return ExitCode::from(2);
            }
        }
    }
    let result = async {
        let docker = Docker::connect_with_local_defaults()?;
        ensure_images(&docker, &options).await
    }
    .await;
    match result {
        Ok(report) => {
            for (image, built) in &report.built {
                println!(
                    "{image} {}",
                    if *built { "built" } else { "unchanged, reused" }
                );
            }
            for (phase, took) in &report.phases {
                println!("  {phase}: {:.2} s", took.as_secs_f64());
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("build-images: {e:#}");
            ExitCode::FAILURE
        }
    }
}
