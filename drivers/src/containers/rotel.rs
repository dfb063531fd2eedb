//! The rotel collector binary: it ships inside the PyPI package `rotel` (`rotel/rotel-agent`
//! in the wheel). Downloaded once with `pip download` into a cache folder, then reused.

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use anyhow::Context as _;

/// The rotel release the collector image is built from (pinned so a build is repeatable).
pub const ROTEL_VERSION: &str = "0.0.1a15";

/// Where the wheel's collector binary lives inside it.
const AGENT_IN_WHEEL: &str = "rotel/rotel-agent";

/// The path of the rotel collector binary extracted from the cached wheel, downloading the
/// wheel into `cache` first when it is not there. Needs `python3` with `pip`.
pub fn agent_binary(cache: &Path, version: &str) -> anyhow::Result<PathBuf> {
    let wheels = cache.join(format!("rotel-{version}"));
    let agent = wheels.join("rotel-agent");
    if agent.is_file() {
        return Ok(agent);
    }
    std::fs::create_dir_all(&wheels).with_context(|| format!("creating {}", wheels.display()))?;
    let wheel = match find_wheel(&wheels, version)? {
        Some(wheel) => wheel,
        None => {
            run(Command::new("python3")
                .args(["-m", "pip", "download", "--no-deps", "--only-binary=:all:"])
                .arg("--dest")
                .arg(&wheels)
                .arg(format!("rotel=={version}")))
            .with_context(|| format!("downloading the rotel {version} wheel from PyPI"))?;
            find_wheel(&wheels, version)?.with_context(|| {
                format!("pip download left no rotel wheel in {}", wheels.display())
            })?
        }
    };
    // Extract only the agent, with Python's own zip reader (pip needs Python anyway).
    let script = format!(
        "import sys, zipfile\nz = zipfile.ZipFile(sys.argv[1])\nopen(sys.argv[2], 'wb').write(z.read('{AGENT_IN_WHEEL}'))"
    );
    let partial = wheels.join("rotel-agent.partial");
    run(Command::new("python3")
        .args(["-c", &script])
        .arg(&wheel)
        .arg(&partial))
    .with_context(|| format!("extracting {AGENT_IN_WHEEL} from {}", wheel.display()))?;
    std::fs::rename(&partial, &agent).with_context(|| format!("moving {}", agent.display()))?;
    Ok(agent)
}

fn find_wheel(dir: &Path, version: &str) -> anyhow::Result<Option<PathBuf>> {
    let prefix = format!("rotel-{version}-");
    Ok(std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(&prefix) && n.ends_with(".whl"))
        }))
}

fn run(command: &mut Command) -> anyhow::Result<()> {
    let output = command
        .output()
        .with_context(|| format!("running {command:?}"))?;
    anyhow::ensure!(
        output.status.success(),
        "{command:?} failed ({}): {}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(())
}
