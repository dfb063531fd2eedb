//! Which feature files a run (or a check) reads: `features/` by default, or what `--input`
//! names: a file, a folder or a glob, written from the workspace root or the current folder.
//!
//! Cucumber's own `--input` takes only a glob, matched from the folder `cargo test` runs the
//! binary in (`steps/`), so `--input features/payments.feature` matched nothing and the run
//! passed having run nothing. Here a plain path is resolved and handed to cucumber as the
//! run's input; a glob stays a glob, anchored at the workspace root when it is relative.

use std::{
    ffi::OsString,
    path::{Path, PathBuf},
};

/// The workspace root (this file is built with the `steps` package, one level below).
pub const WORKSPACE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

/// The feature files, wherever the test is run from.
pub const FEATURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../features");

/// What the run reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Input {
    /// A feature file or a folder of them, handed to cucumber as the run's input.
    pub path: PathBuf,
    /// The glob given with `--input`, left in the arguments for cucumber, if any.
    pub glob: Option<String>,
    /// How the user named it, for messages.
    pub named: String,
}

impl Input {
    /// What the run reads, said for a message: `features/payments.feature`, `the glob …`.
    pub fn describe(&self) -> String {
        match &self.glob {
            Some(glob) => format!("--input {glob} (a glob)"),
            None => format!("{} ({})", self.named, self.path.display()),
        }
    }
}

fn is_glob(text: &str) -> bool {
    text.contains(['*', '?', '[', '{'])
}

/// Takes `--input X` / `--input=X` / `-i X` out of `args` when X is a plain path (resolving
/// it from the current folder or the workspace root); anchors a relative glob at the root.
///
/// # Errors
/// When a plain path names nothing that exists.
pub fn resolve(args: &mut Vec<OsString>) -> Result<Input, String> {
    let mut found: Option<(usize, usize, String)> = None;
    for (i, arg) in args.iter().enumerate() {
        let Some(text) = arg.to_str() else { continue };
        if let Some(value) = text.strip_prefix("--input=") {
            found = Some((i, 1, value.to_owned()));
        } else if text == "--input" || text == "-i" {
            let value = args
                .get(i + 1)
                .and_then(|v| v.to_str())
                .ok_or_else(|| format!("{text} needs a file, a folder or a glob"))?;
            found = Some((i, 2, value.to_owned()));
        }
    }
    let default = Input {
        path: PathBuf::from(FEATURES)
            .canonicalize()
            .unwrap_or_else(|_| PathBuf::from(FEATURES)),
        glob: None,
        named: "features/".to_owned(),
    };
    let Some((at, len, value)) = found else {
        return Ok(default);
    };
    if is_glob(&value) {
        let anchored = if Path::new(&value).is_absolute() {
            value.clone()
        } else {
            format!("{WORKSPACE}/{value}")
        };
        args.splice(
            at..at + len,
            [OsString::from("--input"), anchored.clone().into()],
        );
        return Ok(Input {
            glob: Some(anchored),
            named: value,
            ..default
        });
    }
    let given = PathBuf::from(&value);
    let path = [given.clone(), Path::new(WORKSPACE).join(&given)]
        .into_iter()
        .find(|p| p.exists())
        .ok_or_else(|| {
            format!(
                "--input {value}: no such file or folder (looked from {} and from the workspace root)",
                std::env::current_dir()
                    .map(|d| d.display().to_string())
                    .unwrap_or_default()
            )
        })?;
    args.drain(at..at + len);
    Ok(Input {
        path: path.canonicalize().unwrap_or(path),
        glob: None,
        named: value,
    })
}
