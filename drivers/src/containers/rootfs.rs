//! A `FROM scratch` image's file system, assembled in memory: an executable, every shared
//! library `ldd` says it links (under the path `ldd` gives, so the dynamic loader finds them),
//! the loader itself, and any extra files. It hashes to a content tag and becomes the tar
//! build context the Docker API takes.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    process::Command,
};

use anyhow::Context as _;
use sha2::{Digest, Sha256};

/// One file of the image: its bytes and permission bits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Content.
    pub bytes: Vec<u8>,
    /// Unix mode bits, e.g. `0o755`.
    pub mode: u32,
}

/// The files of an image's build context, by path inside the context (no leading `/`).
#[derive(Debug, Default, Clone)]
pub struct Context {
    files: BTreeMap<String, Entry>,
}

impl Context {
    /// Adds `bytes` at `path` (inside the context) with `mode`.
    pub fn add(&mut self, path: impl Into<String>, bytes: Vec<u8>, mode: u32) {
        let path = path.into().trim_start_matches('/').to_owned();
        self.files.insert(path, Entry { bytes, mode });
    }

    /// Copies the host file `source` to `path` inside the context, following symlinks.
    pub fn copy(
        &mut self,
        source: &Path,
        path: impl Into<String>,
        mode: u32,
    ) -> anyhow::Result<()> {
        let bytes =
            std::fs::read(source).with_context(|| format!("reading {}", source.display()))?;
        self.add(path, bytes, mode);
        Ok(())
    }

    /// Adds the executable `binary` at `rootfs/<path_in_image>` and, under `rootfs/`, every
    /// shared library and the loader that `ldd` lists for it, at the paths it lists.
    pub fn add_executable(&mut self, binary: &Path, path_in_image: &str) -> anyhow::Result<()> {
        self.copy(binary, format!("rootfs/{path_in_image}"), 0o755)?;
        for library in linked_libraries(binary)? {
            let inside = format!("rootfs{}", library.display());
            self.copy(&library, inside, 0o755)?;
        }
        Ok(())
    }

    /// Paths inside the context, sorted.
    pub fn paths(&self) -> impl Iterator<Item = &str> {
        self.files.keys().map(String::as_str)
    }

    /// A hash of every path, mode and byte: equal contexts build equal images.
    pub fn content_hash(&self) -> String {
        let mut hasher = Sha256::new();
        for (path, entry) in &self.files {
            hasher.update(path.as_bytes());
            hasher.update([0]);
            hasher.update(entry.mode.to_le_bytes());
            hasher.update((entry.bytes.len() as u64).to_le_bytes());
            hasher.update(&entry.bytes);
        }
        hex::encode(hasher.finalize())
    }

    /// The context as an uncompressed tar, as `POST /build` takes it. Owned by root; the
    /// Dockerfile sets other owners with `COPY --chown`.
    pub async fn tar(&self) -> anyhow::Result<Vec<u8>> {
        let mut builder = tokio_tar::Builder::new(Vec::new());
        for (path, entry) in &self.files {
            let mut header = tokio_tar::Header::new_gnu();
            header.set_size(entry.bytes.len() as u64);
            header.set_mode(entry.mode);
            header.set_uid(0);
            header.set_gid(0);
            header.set_mtime(0);
            header.set_entry_type(tokio_tar::EntryType::Regular);
            builder
                .append_data(&mut header, path, entry.bytes.as_slice())
                .await
                .with_context(|| format!("adding {path} to the build context"))?;
        }
        builder
            .into_inner()
            .await
            .context("finishing the build context tar")
    }
}

/// The absolute paths of the shared libraries and dynamic loader `ldd` lists for `binary`.
/// Fails, naming them, when a library is not found on this machine.
pub fn linked_libraries(binary: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let output = Command::new("ldd")
        .arg(binary)
        .output()
        .context("running ldd (needed to find the libraries an image must contain)")?;
    let text = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        anyhow::bail!(
            "ldd {} failed: {}{}",
            binary.display(),
            text,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    parse_ldd(&text).with_context(|| format!("libraries of {}", binary.display()))
}

/// The paths in `ldd` output: `name => /path (addr)` and `/loader (addr)` lines; the vDSO
/// has no file and is skipped.
fn parse_ldd(text: &str) -> anyhow::Result<Vec<PathBuf>> {
    let mut paths = Vec::new();
    let mut missing = Vec::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if line.contains("not found") {
            missing.push(line.split_whitespace().next().unwrap_or(line).to_owned());
            continue;
        }
        let path = match line.split_once("=>") {
            Some((_, rest)) => rest.split_whitespace().next(),
            None => line.split_whitespace().next(),
        };
        if let Some(path) = path.filter(|p| p.starts_with('/')) {
            paths.push(PathBuf::from(path));
        }
    }
    anyhow::ensure!(
        missing.is_empty(),
        "not found on this machine: {}",
        missing.join(", ")
    );
    Ok(paths)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ldd_output_gives_libraries_and_the_loader_but_not_the_vdso() {
        let text = "\tlinux-vdso.so.1 (0x00007ffd)\n\
                    \tlibgcc_s.so.1 => /lib/x86_64-linux-gnu/libgcc_s.so.1 (0x00007f)\n\
                    \tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f)\n\
                    \t/lib64/ld-linux-x86-64.so.2 (0x00007f)\n";
        let paths = parse_ldd(text).unwrap();
        assert_eq!(
            paths,
            [
                "/lib/x86_64-linux-gnu/libgcc_s.so.1",
                "/lib/x86_64-linux-gnu/libc.so.6",
                "/lib64/ld-linux-x86-64.so.2"
            ]
            .map(PathBuf::from)
        );
    }

    #[test]
    fn a_missing_library_is_named() {
        let err = parse_ldd("\tlibpython3.11.so.1.0 => not found\n").unwrap_err();
        assert!(err.to_string().contains("libpython3.11.so.1.0"), "{err}");
    }

    #[test]
    fn the_hash_changes_with_content_and_mode_only() {
        let mut a = Context::default();
        a.add("rootfs/x", b"1".to_vec(), 0o755);
        let mut b = a.clone();
        assert_eq!(a.content_hash(), b.content_hash());
        b.add("rootfs/x", b"1".to_vec(), 0o644);
        assert_ne!(a.content_hash(), b.content_hash());
        b.add("rootfs/x", b"2".to_vec(), 0o755);
        assert_ne!(a.content_hash(), b.content_hash());
    }

    #[tokio::test]
    async fn the_tar_holds_every_file_with_its_mode() {
        let mut context = Context::default();
        context.add("Dockerfile", b"FROM scratch\n".to_vec(), 0o644);
        context.add("/rootfs/bin/x", b"#!".to_vec(), 0o755);
        let tar = context.tar().await.unwrap();
        let mut archive = tokio_tar::Archive::new(tar.as_slice());
        let mut entries = archive.entries().unwrap();
        let mut seen = Vec::new();
        use futures::StreamExt as _;
        while let Some(entry) = entries.next().await {
            let entry = entry.unwrap();
            seen.push((
                entry.path().unwrap().display().to_string(),
                entry.header().mode().unwrap(),
            ));
        }
        assert_eq!(
            seen,
            [
                ("Dockerfile".to_owned(), 0o644),
                ("rootfs/bin/x".to_owned(), 0o755)
            ]
        );
    }
}
