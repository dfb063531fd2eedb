//! `cargo run -p drivers --bin build-images`: builds (or finds) the images the containers
//! driver runs, `minibank:<hash>` and `rotel:<hash>`, also tagged `:0.1.0` for `deploy/k8s`.
//! `--no-cargo-build` uses the release binaries as they are instead of building them first.

use std::process::ExitCode;

use drivers::containers::images::{ImageOptions, ensure_images};
use testcontainers::bollard::Docker;

#[tokio::main]
async fn main() -> ExitCode {
    let mut options = ImageOptions::default();
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--no-cargo-build" => options.cargo_build = false,
            other => {
                eprintln!("build-images: unknown argument {other:?} (known: --no-cargo-build)");
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
