//! Helpers shared by the host's integration tests.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// `fiberloop sim serve ...` in a child process, killed when dropped.
pub struct Server {
    child: Child,
    /// What it printed first: the pty path or the TCP address.
    pub at: String,
}

impl Server {
    /// Starts `fiberloop sim serve ARGS` and waits for its address.
    pub fn start(args: &[&str]) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_fiberloop"))
            .args(["sim", "serve"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let at = line.trim().to_string();
        assert!(!at.is_empty(), "server printed nothing");
        Server { child, at }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
