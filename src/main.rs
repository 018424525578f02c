//! The taproll binary: parses the command line, runs it (`launch`), and
//! prints the one error it ends on.

use clap::Parser;
use std::io::Write;
use std::process::ExitCode;
use taproll::cli_error::CliError;
use taproll::console;

fn main() -> ExitCode {
    let cli = match taproll::cli::Cli::try_parse() {
        Ok(cli) => cli,
        // --help, --version or a usage error, printed here: clap's own exit
        // would ignore a failure to print them.
        Err(usage) => {
            let code = ExitCode::from(u8::try_from(usage.exit_code()).unwrap_or(1));
            return match usage.print().and_then(|()| std::io::stdout().flush()) {
                Ok(()) => code,
                Err(e) if console::is_closed_pipe(&e) || usage.use_stderr() => code,
                Err(e) => fail(&CliError::Output(e)),
            };
        }
    };
    match taproll::launch::main(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) if error.is_closed_pipe() => ExitCode::SUCCESS,
        // Its report said it all (doctor, risk); the status is for scripts.
        Err(CliError::Status(status)) => ExitCode::from(status),
        Err(error) => fail(&error),
    }
}

fn fail(error: &CliError) -> ExitCode {
    // Not eprintln!: with standard error gone too, it would panic.
    // Errors can quote names and paths from files: made safe to show.
    let message = taproll::text::sanitize_lines_for_terminal(&error.to_string());
    let _ = writeln!(std::io::stderr(), "taproll: {message}");
    ExitCode::FAILURE
}
