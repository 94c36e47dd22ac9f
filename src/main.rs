//! The `responder` binary: parse the command line, run, report errors once.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = responder::cli::Cli::parse();
    match responder::cli::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.is_broken_pipe() => ExitCode::SUCCESS,
        Err(e) => {
            let mut message = format!("error: {e}");
            let mut source = std::error::Error::source(&e);
            while let Some(cause) = source {
                message.push_str(&format!(": {cause}"));
                source = cause.source();
            }
            eprintln!("{message}");
            ExitCode::from(e.exit_code())
        }
    }
}
