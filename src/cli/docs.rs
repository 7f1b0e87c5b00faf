//! Shell completions and man pages, generated from the same clap definitions as `--help`
//! (clap_complete, clap_mangen), so they cannot drift from the flags.

use std::path::Path;

use clap::CommandFactory;

use super::args::{Cli, CompletionArgs, ManArgs};
use super::error::CliError;

/// `completion SHELL`: the script on stdout.
pub fn completion(a: CompletionArgs) -> Result<(), CliError> {
    let mut cmd = Cli::command();
    clap_complete::generate(a.shell, &mut cmd, "provenance", &mut std::io::stdout());
    Ok(())
}

/// `man --dir DIR`: `provenance.1` and `provenance-<command>.1`, each written atomically.
pub fn man(a: ManArgs) -> Result<(), CliError> {
    std::fs::create_dir_all(&a.dir)
        .map_err(|e| CliError::environment(format!("cannot create {}: {e}", a.dir.display())))?;
    let cmd = Cli::command();
    write_page(&a.dir, "provenance", cmd.clone())?;
    let mut written = 1;
    for sub in cmd.get_subcommands() {
        let name = format!("provenance-{}", sub.get_name());
        write_page(&a.dir, &name, sub.clone().name(name.clone()))?;
        written += 1;
    }
    println!("Wrote {written} man pages to {}", a.dir.display());
    Ok(())
}

fn write_page(dir: &Path, name: &str, cmd: clap::Command) -> Result<(), CliError> {
    let mut page = Vec::new();
    clap_mangen::Man::new(cmd)
        .render(&mut page)
        .map_err(|e| CliError::environment(format!("cannot render the {name} man page: {e}")))?;
    let path = dir.join(format!("{name}.1"));
    crate::io::write_atomic(&path, &page, Some(0o644), true)
        .map_err(|e| CliError::environment(format!("cannot write {}: {e}", path.display())))
}
