//! The two images a containers run needs, built here from local files only (nothing is pulled):
//! `minibank:<hash>` (the binaries of one build profile, release by default, `FROM scratch`) and
//! `rotel:<hash>` (the collector from the PyPI wheel). Tags are content hashes of the whole build context, so an unchanged
//! build is found by name and reused in seconds; a changed binary gets a new tag.
//!
//! [`ensure_images`] is what both `cargo run -p drivers --bin build-images` and the containers
//! driver call.

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    process::Command,
    time::{Duration, Instant},
};

use anyhow::Context as _;
use futures::StreamExt as _;
use testcontainers::bollard::{
    Docker, body_full,
    query_parameters::{
        BuildImageOptionsBuilder, BuilderVersion, ListImagesOptionsBuilder, RemoveImageOptions,
        TagImageOptionsBuilder,
    },
};

use super::{
    rootfs::Context,
    rotel::{self, ROTEL_VERSION},
    run::is_not_found,
};

/// The tag `deploy/k8s` refers to; every build also gets it, besides its content tag.
pub const DEPLOY_TAG: &str = "0.1.0";
/// Image name of the services (and the trace sink), as `deploy/k8s` names it.
pub const MINIBANK_IMAGE: &str = "minibank";
/// Image name of the collector, as `deploy/k8s` names it.
pub const COLLECTOR_IMAGE: &str = "rotel";
/// Where the system's CA bundle is, copied into the collector image (rotel loads it at start).
const CA_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";

/// How to build.
#[derive(Debug, Clone)]
pub struct ImageOptions {
    /// The repository root (holds `deploy/images/` and `target/`).
    pub workspace: PathBuf,
    /// Run `cargo build` for the binaries first (a no-op when they are fresh), so the image
    /// never holds a stale binary. Off: use the binaries as they are.
    pub cargo_build: bool,
    /// Which build's binaries go into the image; `None`: `$MINIBANK_IMAGES_PROFILE`
    /// (`release` or `debug`), release when unset.
    pub profile: Option<BinaryProfile>,
    /// The rotel release.
    pub rotel_version: String,
}

/// Which build's binaries an image holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinaryProfile {
    /// `target/release`, after `cargo build --release` of the two binaries: what people deploy.
    Release,
    /// `target/debug`, after `cargo build --workspace --all-targets`: the build CI has already
    /// made for its tests, so its containers stages compile nothing more (.ci/run).
    Debug,
}

impl BinaryProfile {
    /// The folder under the target dir.
    fn dir(self) -> &'static str {
        match self {
            BinaryProfile::Release => "release",
            BinaryProfile::Debug => "debug",
        }
    }

    /// The `cargo` arguments that (re)build the binaries. Debug builds the whole workspace with
    /// every target, exactly as CI's build stage does: building only the two binaries would
    /// resolve the dependencies' features without the tests' (tokio's `test-util`, ...) and
    /// recompile half the tree into a second, different binary.
    fn cargo_args(self) -> &'static [&'static str] {
        match self {
            BinaryProfile::Release => &[
                "build",
                "--release",
                "-p",
                "minibank",
                "--bin",
                "minibank",
                "-p",
                "harness",
                "--bin",
                "trace-sink",
            ],
            BinaryProfile::Debug => &["build", "--workspace", "--all-targets"],
        }
    }
}

impl std::str::FromStr for BinaryProfile {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "release" => Ok(BinaryProfile::Release),
            "debug" | "dev" => Ok(BinaryProfile::Debug),
            other => Err(format!(
                "unknown binary profile {other:?} (known: release, debug)"
            )),
        }
    }
}

/// The environment variable that chooses the images' binaries: `release` (default) or `debug`.
pub const PROFILE_ENV: &str = "MINIBANK_IMAGES_PROFILE";

impl BinaryProfile {
    /// `$MINIBANK_IMAGES_PROFILE`, release when unset or empty.
    pub fn from_env() -> anyhow::Result<Self> {
        match std::env::var(PROFILE_ENV) {
            Ok(value) if !value.is_empty() => value
                .parse()
                .map_err(|e: String| anyhow::anyhow!("{PROFILE_ENV}: {e}")),
            _ => Ok(BinaryProfile::Release),
        }
    }
}

impl Default for ImageOptions {
    /// This repository; cargo build unless `MINIBANK_IMAGES_NO_CARGO_BUILD` is set; the
    /// profile from the environment.
    fn default() -> Self {
        ImageOptions {
            workspace: PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/..")),
            cargo_build: std::env::var_os("MINIBANK_IMAGES_NO_CARGO_BUILD").is_none(),
            profile: None,
            rotel_version: ROTEL_VERSION.to_owned(),
        }
    }
}

/// The images to run, as `name:tag`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Images {
    /// `minibank:<hash>`.
    pub minibank: String,
    /// `rotel:<hash>`.
    pub collector: String,
}

/// What [`ensure_images`] did.
#[derive(Debug, Clone)]
pub struct ImageReport {
    /// The images.
    pub images: Images,
    /// Per image: `true` if it was built now, `false` if an identical one was reused.
    pub built: Vec<(String, bool)>,
    /// Where the time went, in order.
    pub phases: Vec<(&'static str, Duration)>,
}

/// Builds whatever of the two images is missing or stale; reuses the rest.
pub async fn ensure_images(docker: &Docker, options: &ImageOptions) -> anyhow::Result<ImageReport> {
    // Tests and runs may build at the same time (several test threads, or two processes on one
    // target dir); they share target/<profile> and target/images, so one builds while the others
    // wait, then find the images ready.
    let _build_lock = build_lock(&options.workspace).await?;
    let mut phases = Vec::new();
    let mut mark = {
        let mut last = Instant::now();
        move |phases: &mut Vec<(&'static str, Duration)>, name: &'static str| {
            phases.push((name, last.elapsed()));
            last = Instant::now();
        }
    };
    let profile = match options.profile {
        Some(profile) => profile,
        None => BinaryProfile::from_env()?,
    };
    if options.cargo_build {
        cargo_build(&options.workspace, profile)?;
        mark(
            &mut phases,
            match profile {
                BinaryProfile::Release => "cargo build --release",
                BinaryProfile::Debug => "cargo build (debug)",
            },
        );
    }
    let workspace = options.workspace.clone();
    let rotel_version = options.rotel_version.clone();
    let (minibank, collector) = tokio::task::spawn_blocking(move || {
        anyhow::Ok((
            minibank_context(&workspace, profile)?,
            collector_context(&workspace, &rotel_version)?,
        ))
    })
    .await
    .context("assembling the build contexts")??;
    mark(&mut phases, "assemble + hash contexts");
    let mut built = Vec::new();
    let mut names = Vec::new();
    for (name, context) in [(MINIBANK_IMAGE, minibank), (COLLECTOR_IMAGE, collector)] {
        let (image, was_built) = ensure_image(docker, name, &context).await?;
        built.push((image.clone(), was_built));
        names.push(image);
    }
    mark(&mut phases, "docker build (or reuse)");
    Ok(ImageReport {
        images: Images {
            minibank: names[0].clone(),
            collector: names[1].clone(),
        },
        built,
        phases,
    })
}

/// An exclusive lock on `target/images/.build.lock`, held until the returned file is dropped.
async fn build_lock(workspace: &Path) -> anyhow::Result<std::fs::File> {
    let dir = target_dir(workspace).join("images");
    tokio::task::spawn_blocking(move || {
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let path = dir.join(".build.lock");
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .with_context(|| format!("opening {}", path.display()))?;
        file.lock()
            .with_context(|| format!("locking {}", path.display()))?;
        anyhow::Ok(file)
    })
    .await
    .context("waiting for the image build lock")?
}

/// `name:<content hash>`, built from `context` unless it exists already.
async fn ensure_image(
    docker: &Docker,
    name: &str,
    context: &Context,
) -> anyhow::Result<(String, bool)> {
    let tag = &context.content_hash()[..16];
    let image = format!("{name}:{tag}");
    match docker.inspect_image(&image).await {
        Ok(_) => return Ok((image, false)),
        Err(e) if is_not_found(&e) => {}
        Err(e) => return Err(e).with_context(|| format!("inspecting image {image}")),
    }
    let tar = context.tar().await?;
    let options = BuildImageOptionsBuilder::default()
        .dockerfile("Dockerfile")
        .t(&image)
        .rm(true)
        .forcerm(true)
        .version(BuilderVersion::BuilderV1)
        .build();
    let mut stream = docker.build_image(options, None, Some(body_full(tar.into())));
    let mut output = String::new();
    while let Some(item) = stream.next().await {
        let info = item.with_context(|| format!("building {image}:\n{output}"))?;
        if let Some(line) = info.stream {
            output.push_str(&line);
        }
        if let Some(detail) = info.error_detail {
            anyhow::bail!(
                "building {image} failed: {}\n{output}",
                detail.message.unwrap_or_default()
            );
        }
    }
    docker
        .tag_image(
            &image,
            Some(
                TagImageOptionsBuilder::default()
                    .repo(name)
                    .tag(DEPLOY_TAG)
                    .build(),
            ),
        )
        .await
        .with_context(|| format!("tagging {image} as {name}:{DEPLOY_TAG}"))?;
    remove_older_builds(docker, name, tag).await;
    Ok((image, true))
}

/// Removes `name:<hash>` images other than `current`, so rebuilds do not pile up. An image a
/// container still uses (another run) is refused by Docker and kept.
async fn remove_older_builds(docker: &Docker, name: &str, current: &str) {
    let filters = HashMap::from([("reference", vec![name])]);
    let Ok(images) = docker
        .list_images(Some(
            ListImagesOptionsBuilder::default()
                .filters(&filters)
                .build(),
        ))
        .await
    else {
        return;
    };
    let is_content_tag = |tag: &str| tag.len() == 16 && tag.bytes().all(|b| b.is_ascii_hexdigit());
    for reference in images.iter().flat_map(|i| i.repo_tags.iter()) {
        let Some((repo, tag)) = reference.rsplit_once(':') else {
            continue;
        };
        if repo == name && tag != current && is_content_tag(tag) {
            let _ = docker
                .remove_image(reference, None::<RemoveImageOptions>, None)
                .await;
        }
    }
}

/// Cargo's target folder: `CARGO_TARGET_DIR` when set (best given absolute; a relative one is
/// taken from the workspace root), else `target/` of the workspace.
fn target_dir(workspace: &Path) -> std::path::PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => workspace.join(dir),
        _ => workspace.join("target"),
    }
}

/// The services' image: both binaries of `profile` with their libraries, and the data folder.
fn minibank_context(workspace: &Path, profile: BinaryProfile) -> anyhow::Result<Context> {
    let mut context = Context::default();
    context.copy(
        &workspace.join("deploy/images/minibank.Dockerfile"),
        "Dockerfile",
        0o644,
    )?;
    for binary in ["minibank", "trace-sink"] {
        let path = target_dir(workspace).join(profile.dir()).join(binary);
        anyhow::ensure!(
            path.is_file(),
            "{} is missing: run `cargo {}`",
            path.display(),
            profile.cargo_args().join(" ")
        );
        context.add_executable(&path, &format!("usr/local/bin/{binary}"))?;
    }
    context.add("data/.keep", Vec::new(), 0o644);
    Ok(context)
}

/// The collector's image: the rotel agent with its libraries and the CA bundle.
fn collector_context(workspace: &Path, rotel_version: &str) -> anyhow::Result<Context> {
    let agent = rotel::agent_binary(&target_dir(workspace).join("images"), rotel_version)?;
    let mut context = Context::default();
    context.copy(
        &workspace.join("deploy/images/rotel.Dockerfile"),
        "Dockerfile",
        0o644,
    )?;
    context.add_executable(&agent, "usr/local/bin/rotel")?;
    context
        .copy(Path::new(CA_BUNDLE), format!("rootfs{CA_BUNDLE}"), 0o644)
        .context("rotel refuses to start without a CA bundle (install ca-certificates)")?;
    Ok(context)
}

/// `cargo build` of the binaries the image holds; output goes to this stderr.
///
/// Run from a test, this process has the variables Cargo sets for the crate it runs
/// (`CARGO_MANIFEST_DIR`, `CARGO_PKG_NAME`, …). Build scripts such as ring's say they depend on
/// some of those names, so a `cargo build` that inherits them sees them "changed" and rebuilds
/// ring and everything above it, and the next plain `cargo test` rebuilds it all back: minutes
/// per run, twice. The build runs without them, as from a shell.
fn cargo_build(workspace: &Path, profile: BinaryProfile) -> anyhow::Result<()> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let args = profile.cargo_args();
    let mut command = Command::new(&cargo);
    for (name, _) in std::env::vars_os() {
        if name.to_str().is_some_and(set_by_cargo_for_a_crate) {
            command.env_remove(name);
        }
    }
    let status = command
        .current_dir(workspace)
        .args(args)
        .stdout(std::process::Stdio::null())
        .status()
        .with_context(|| format!("running {cargo} {}", args.join(" ")))?;
    anyhow::ensure!(
        status.success(),
        "cargo {} failed ({status})",
        args.join(" ")
    );
    Ok(())
}

/// Whether `name` is one of the variables Cargo sets for the crate it builds or runs (the
/// Cargo book, "Environment variables Cargo sets for crates"), rather than one that configures
/// Cargo itself (`CARGO_HOME`, `CARGO_TARGET_DIR`, `CARGO_INCREMENTAL`, …, which are kept).
fn set_by_cargo_for_a_crate(name: &str) -> bool {
    const EXACT: [&str; 8] = [
        "CARGO_MANIFEST_DIR",
        "CARGO_MANIFEST_PATH",
        "CARGO_MANIFEST_LINKS",
        "CARGO_CRATE_NAME",
        "CARGO_PRIMARY_PACKAGE",
        "CARGO_TARGET_TMPDIR",
        "CARGO_RUSTC_CURRENT_DIR",
        "OUT_DIR",
    ];
    EXACT.contains(&name) || name.starts_with("CARGO_PKG_") || name.starts_with("CARGO_BIN_")
}

#[cfg(test)]
mod tests {
    use super::set_by_cargo_for_a_crate;

    #[test]
    fn the_nested_build_drops_what_cargo_set_for_the_test_and_keeps_what_configures_cargo() {
        for dropped in [
            "CARGO_MANIFEST_DIR",
            "CARGO_PKG_NAME",
            "CARGO_PKG_VERSION_MAJOR",
            "CARGO_CRATE_NAME",
            "CARGO_BIN_EXE_minibank",
            "OUT_DIR",
        ] {
            assert!(set_by_cargo_for_a_crate(dropped), "{dropped} is dropped");
        }
        for kept in [
            "CARGO",
            "CARGO_HOME",
            "CARGO_TARGET_DIR",
            "CARGO_INCREMENTAL",
            "CARGO_BUILD_JOBS",
            "MINIBANK_IMAGES_PROFILE",
        ] {
            assert!(!set_by_cargo_for_a_crate(kept), "{kept} is kept");
        }
    }
}
