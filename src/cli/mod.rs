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
    crate::formats::x509::Error,
    crate::trust::root::Error,
);

impl From<crate::formats::dsse::Error> for CliError {
    fn from(e: crate::formats::dsse::Error) -> Self {
        Self::input(e.to_string())
    }
}

thread_local! {
    /// The JSON result a command produced, wrapped and printed once by [`run`].
    static DOCUMENT: std::cell::RefCell<Option<serde_json::Value>> = const { std::cell::RefCell::new(None) };
}

/// Records a command's JSON result (an object); [`run`] adds the envelope and prints it.
pub(crate) fn document(v: serde_json::Value) {
    DOCUMENT.with(|d| *d.borrow_mut() = Some(v));
}

/// The JSON contract's schema version (docs/json.md).
pub const SCHEMA_VERSION: u64 = 1;

/// The envelope every JSON document has: `schema_version`, `command`, `ok`, `exit_code`, the
/// command's own fields, and on failure `error {class, message, hint}`.
pub fn envelope(
    command: &str,
    result: Option<serde_json::Value>,
    outcome: &Result<(), CliError>,
) -> serde_json::Value {
    let mut doc = match result {
        Some(serde_json::Value::Object(m)) => m,
        Some(other) => {
            let mut m = serde_json::Map::new();
            m.insert("result".into(), other);
            m
        }
        None => serde_json::Map::new(),
    };
    doc.insert("schema_version".into(), SCHEMA_VERSION.into());
    doc.insert("command".into(), command.into());
    doc.insert("ok".into(), outcome.is_ok().into());
    let code = outcome.as_ref().err().map_or(0, |e| e.class.exit_code());
    doc.insert("exit_code".into(), code.into());
    if let Err(e) = outcome {
        let (class, hint) = match e.class {
            Class::NotTrusted => (
                "not_trusted",
                "do not use this model: the failed check names what did not verify",
            ),
            Class::Input => (
                "input",
                "fix the flag, path or file named in the message (see `provenance <command> --help`)",
            ),
            Class::Environment => (
                "environment",
                "check the registry, the network and the disk named in the message, then retry",
            ),
        };
        doc.insert(
            "error".into(),
            serde_json::json!({"class": class, "message": e.message, "hint": hint}),
        );
    }
    serde_json::Value::Object(doc)
}

/// Runs a parsed command line; `Ok` means exit 0. With JSON output, exactly one document goes
/// to stdout, also on failure.
pub fn run(cli: Cli) -> Result<(), CliError> {
    use args::Command;
    let (name, json) = match &cli.command {
        Command::Keygen(a) => ("keygen", a.common.output() == args::Output::Json),
        Command::Sign(a) => ("sign", a.common.output() == args::Output::Json),
        Command::Verify(a) => ("verify", a.common.output() == args::Output::Json),
        Command::Inspect(a) => ("inspect", a.common.output() == args::Output::Json),
        Command::Push(a) => ("push", a.common.output() == args::Output::Json),
        Command::Pull(a) => ("pull", a.common.format == args::Output::Json),
        Command::Audit(a) => (
            "audit",
            a.output_alias.unwrap_or(a.format) == audit::AuditOutput::Json,
        ),
    };
    let outcome = match cli.command {
        Command::Keygen(a) => commands::keygen(a),
        Command::Sign(a) => commands::sign(a),
        Command::Verify(a) => commands::verify(a),
        Command::Inspect(a) => commands::inspect(a),
        Command::Push(a) => oci::push(a),
        Command::Pull(a) => oci::pull(a),
        Command::Audit(a) => audit::run(a),
    };
    if json {
        let result = DOCUMENT.with(|d| d.borrow_mut().take());
        let doc = envelope(name, result, &outcome);
        println!(
            "{}",
            serde_json::to_string_pretty(&doc).unwrap_or_else(|_| doc.to_string())
        );
    }
    outcome
}
