//! Where cargo put the binaries, and where the tests write their logs.

use std::path::{Path, PathBuf};

/// The repository root (this crate lives in `crates/testkit`), without `..`
/// in it: ChromeDriver, for one, cannot use a profile path that has some.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("the workspace root exists")
}

/// Cargo's target directory: `CARGO_TARGET_DIR` if set, else `target/` in the workspace.
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"))
}

/// A cargo profile's output directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    Debug,
    Release,
}

impl Profile {
    fn dir_name(self) -> &'static str {
        match self {
            Self::Debug => "debug",
            Self::Release => "release",
        }
    }

    fn build_command(self) -> &'static str {
        match self {
            Self::Debug => "cargo build --workspace --bins",
            Self::Release => "cargo build --release --workspace --bins",
        }
    }
}

/// A workspace binary of `profile`; panics with the build command if it is not built.
///
/// A test executable lives in `<target>/<profile>/deps`, so the directory
/// above it is looked in first: it is right even for a target directory that
/// `CARGO_TARGET_DIR` no longer names.
pub fn binary(profile: Profile, name: &str) -> PathBuf {
    let beside_tests = std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.parent()?.to_path_buf()))
        .filter(|dir| dir.file_name().is_some_and(|n| n == profile.dir_name()));
    let candidates: Vec<PathBuf> = beside_tests
        .into_iter()
        .chain([target_dir().join(profile.dir_name())])
        .map(|dir| dir.join(name))
        .collect();
    match candidates.iter().find(|path| path.is_file()) {
        Some(path) => path.clone(),
        None => panic!(
            "{name} is not built (looked for {}): run `{}` first",
            candidates
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
            profile.build_command()
        ),
    }
}

/// A fresh, empty `target/test-logs/<name>` for the output of one test's processes.
pub fn log_dir(name: &str) -> PathBuf {
    let dir = target_dir().join("test-logs").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)
        .unwrap_or_else(|error| panic!("create {}: {error}", dir.display()));
    // Absolute and without `..`, whatever CARGO_TARGET_DIR says.
    dir.canonicalize().expect("the log directory exists")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_target_dir_is_in_the_workspace_unless_cargo_says_otherwise() {
        if std::env::var_os("CARGO_TARGET_DIR").is_none() {
            assert_eq!(target_dir(), workspace_root().join("target"));
        }
        assert!(workspace_root().join("Cargo.toml").is_file());
    }

    #[test]
    #[should_panic(expected = "run `cargo build --workspace --bins` first")]
    fn a_missing_binary_names_the_build_command() {
        binary(Profile::Debug, "no-such-binary");
    }
}
