//! The command line: clap definitions (`args`), command bodies (`commands`) and output rendering.
//! Only this module and `main.rs` know about exit codes as numbers and about user-facing wording.

pub mod args;
pub mod audit;
mod audit_html;
mod commands;
mod docs;
pub mod error;
mod login;
pub(crate) mod oci;
mod progress;
pub mod render;
mod signer;
mod store;
mod trust;

pub use args::Cli;
pub use error::CliError;

/// Runs a parsed command line; `Ok` means exit 0. With JSON output, exactly one document goes
/// to stdout, also on failure.
pub fn run(cli: Cli) -> Result<(), CliError> {
    use args::Command;
    let (name, json) = match &cli.command {
        Command::Keygen(a) => ("keygen", a.common.output() == args::Output::Json),
        Command::Sign(a) => ("sign", a.common.output() == args::Output::Json),
        Command::Verify(a) => ("verify", a.common.output() == args::Output::Json),
        Command::Inspect(a) => ("inspect", a.common.output() == args::Output::Json),
        Command::Tree(a) => ("tree", a.common.output() == args::Output::Json),
        Command::Digest(a) => ("digest", a.common.output() == args::Output::Json),
        Command::Copy(a) => ("copy", a.common.output() == args::Output::Json),
        Command::Login(a) => ("login", a.common.output() == args::Output::Json),
        Command::Logout(a) => ("logout", a.common.output() == args::Output::Json),
        Command::Ls(a) => ("ls", a.common.output() == args::Output::Json),
        Command::Rm(a) => ("rm", a.common.output() == args::Output::Json),
        Command::Prune(a) => ("prune", a.common.output() == args::Output::Json),
        Command::Completion(_) => ("completion", false),
        Command::Man(_) => ("man", false),
        Command::Push(a) => ("push", a.common.output() == args::Output::Json),
        Command::Pull(a) => ("pull", a.common.format == args::Output::Json),
        Command::Audit(a) => (
            "audit",
            a.output_alias.unwrap_or(a.format) == args::AuditOutput::Json,
        ),
    };
    let outcome = match cli.command {
        Command::Keygen(a) => commands::keygen(a),
        Command::Sign(a) => commands::sign(a),
        Command::Verify(a) => commands::verify(a),
        Command::Inspect(a) => commands::inspect(a),
        Command::Tree(a) => commands::tree(a),
        Command::Digest(a) => commands::digest(a),
        Command::Copy(a) => oci::copy(a),
        Command::Login(a) => login::login(a),
        Command::Logout(a) => login::logout(a),
        Command::Ls(a) => store::ls(a),
        Command::Rm(a) => store::rm(a),
        Command::Prune(a) => store::prune(a),
        Command::Completion(a) => docs::completion(a),
        Command::Man(a) => docs::man(a),
        Command::Push(a) => oci::push(a),
        Command::Pull(a) => oci::pull(a),
        Command::Audit(a) => audit::run(a),
    };
    if json {
        let doc = render::envelope(name, render::take_document(), &outcome);
        println!(
            "{}",
            serde_json::to_string_pretty(&doc).unwrap_or_else(|_| doc.to_string())
        );
    }
    outcome
}
