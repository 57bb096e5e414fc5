//! Runs the `totp` example as outside tools do: `cargo test` builds the examples next
//! to the test binaries' folder.

use std::path::PathBuf;
use std::process::{Command, Output};

/// Where `cargo test` put the `totp` example.
pub fn totp_binary() -> PathBuf {
    let mut path = std::env::current_exe().expect("test binary path");
    path.pop();
    if path.ends_with("deps") {
        path.pop();
    }
    path.join("examples").join(format!("totp{}", std::env::consts::EXE_SUFFIX))
}

/// The `totp` command run with `args`.
pub fn totp(args: &[&str]) -> Output {
    Command::new(totp_binary()).args(args).output().expect("run the totp example")
}
