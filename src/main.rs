//! The `portcullis` binary: runs the command line and turns any failure into one line on
//! stderr and a non-zero exit code.

use std::process::ExitCode;

fn main() -> ExitCode {
    match portcullis::cli::run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
