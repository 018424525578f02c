use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = taproll::cli::Cli::parse();
    match taproll::launch::main(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("taproll: {error}");
            ExitCode::FAILURE
        }
    }
}
