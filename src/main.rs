//! The `provenance` binary: parse arguments, run, map the outcome to an exit code (0/1/2/3).

use std::process::ExitCode;

use clap::Parser;
use provenance::cli::{self, Cli};

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // --help and --version print and exit 0; usage errors exit 2.
            if e.use_stderr() {
                eprint!("{}", cli::error::usage(&e));
                return ExitCode::from(2);
            }
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
    };
    quiet_broken_pipe();
    match cli::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // Messages quote registry answers, paths and signed text: escaped, one line.
            eprintln!("error: {}", cli::render::esc(&e.message));
            ExitCode::from(e.class.exit_code())
        }
    }
}

/// `provenance inspect | head`: Rust ignores SIGPIPE, so a closed stdout makes `println!` panic.
/// Stop quietly instead, with the environment exit code (3), never 0: under `set -o pipefail` a
/// report cut short must not read as a pass.
fn quiet_broken_pipe() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let msg = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or_default();
        if msg.contains("failed printing to stdout") && msg.contains("Broken pipe") {
            std::process::exit(3);
        }
        default(info);
    }));
}
