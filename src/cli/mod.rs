//! The command line: clap definitions (`args`), command bodies (`commands`) and output rendering.
//! Only this module and `main.rs` know about exit codes as numbers and about user-facing wording.

pub mod args;
pub mod audit;
mod commands;
pub(crate) mod oci;
mod progress;
pub mod render;
mod signer;
mod trust;

use std::fmt;

use crate::Class;

pub use args::Cli;

/// A user-facing failure: its class (exit code) and a message that ends with a next step.
pub struct CliError {
    /// Exit-code class.
    pub class: Class,
    /// The message (already including the hint).
    pub message: String,
}

impl CliError {
    /// A usage error with a message.
    pub fn input(message: impl Into<String>) -> Self {
        Self {
            class: Class::Input,
            message: message.into(),
        }
    }

    /// An environment error with a message.
    pub fn environment(message: impl Into<String>) -> Self {
        Self {
            class: Class::Environment,
            message: message.into(),
        }
    }
}

impl fmt::Debug for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

macro_rules! classified {
    ($($t:ty),* $(,)?) => {$(
        impl From<$t> for CliError {
            fn from(e: $t) -> Self {
                Self { class: e.class(), message: e.to_string() }
            }
        }
    )*};
}

classified!(
    crate::keys::Error,
    crate::formats::bundle::Error,
    crate::model::Error,
    crate::hashing::Error,
    crate::formats::statement::Error,
    crate::sign::Error,
    crate::certificate::Error,
    crate::trust::root::Error,
);

impl From<crate::formats::dsse::Error> for CliError {
    fn from(e: crate::formats::dsse::Error) -> Self {
        Self::input(e.to_string())
    }
}

/// Runs a parsed command line; `Ok` means exit 0.
pub fn run(cli: Cli) -> Result<(), CliError> {
    use args::Command;
    match cli.command {
        Command::Keygen(a) => commands::keygen(a),
        Command::Sign(a) => commands::sign(a),
        Command::Verify(a) => commands::verify(a),
        Command::Inspect(a) => commands::inspect(a),
        Command::Push(a) => oci::push(a),
        Command::Pull(a) => oci::pull(a),
        Command::Audit(a) => audit::run(a),
    }
}
