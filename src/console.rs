//! Standard output and standard error without panics.
//!
//! `print!` and `eprint!` panic when the write fails: a full disk, a closed
//! pipe (`taproll roster list | head -1`), a terminal that went away. Here
//! standard output returns the error, for the command to report in one line,
//! and standard error is best effort: when it fails there is nowhere left to
//! say so.
//!
//! A closed pipe is not a failure: whoever reads our output had enough of it
//! (`head`, `less` quit). `main` then ends quietly with status 0, as ripgrep
//! does, not 141 (the shell's status for a death by SIGPIPE), so a script
//! under `set -o pipefail` does not fail on `taproll … | head`.

use std::io::{self, Write};

/// Writes `text` to standard output, flushed: the error, if any, is now.
pub fn print(text: impl AsRef<[u8]>) -> io::Result<()> {
    let mut out = io::stdout().lock();
    out.write_all(text.as_ref())?;
    out.flush()
}

/// Writes one line to standard error, if it can.
pub fn note(line: impl std::fmt::Display) {
    let _ = writeln!(io::stderr().lock(), "{line}");
}

/// The reader of our output went away: end quietly.
pub fn is_closed_pipe(error: &io::Error) -> bool {
    error.kind() == io::ErrorKind::BrokenPipe
}
