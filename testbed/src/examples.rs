//! The repository's example manifests, for the tests that check them.

use std::path::PathBuf;

/// The directory `examples/kubernetes/<name>` of the repository.
pub fn kubernetes_examples_dir(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../examples/kubernetes")
        .join(name)
}

/// The `*.yaml` files of `examples/kubernetes/<name>`, sorted. Panics (a test setup error)
/// when the directory cannot be read.
pub fn kubernetes_manifests(name: &str) -> Vec<PathBuf> {
    let dir = kubernetes_examples_dir(name);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|entry| Some(entry.ok()?.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    files
}
