//! `login HOST` / `logout HOST` (library: `oci::login`).

use serde_json::json;

use super::args::{LoginArgs, LogoutArgs, Output};
use super::error::CliError;
use super::render::{esc, print_json};

/// `host[:port]` from what the user typed (`ghcr.io`, `oci://localhost:5000`), through the
/// reference parser so a host means the same here as in a REF.
fn host(typed: &str) -> Result<String, CliError> {
    let bare = typed.trim_end_matches('/');
    let parsed = super::oci::parse_reference(&format!("{bare}/x"))?;
    match parsed.registry() {
        Some(h) if !bare.contains('/') || bare.starts_with("oci://") => Ok(h.to_string()),
        _ => Err(CliError::input(format!(
            "{} is not a registry host; name one as host[:port], e.g. ghcr.io or localhost:5000",
            esc(typed)
        ))),
    }
}

/// `login`.
pub fn login(a: LoginArgs) -> Result<(), CliError> {
    let registry = host(&a.host)?;
    let Some(credentials) = super::oci::credentials(&a.registry)? else {
        return Err(CliError::input(format!(
            "login needs --username USER --password-stdin, e.g. `printf %s \"$TOKEN\" | provenance login {} --username USER --password-stdin`",
            esc(&registry)
        )));
    };
    let opts = super::oci::registry_options(&a.registry, None);
    let done = crate::oci::login::login(&registry, credentials, opts)?;
    match a.common.output() {
        Output::Json => print_json(&json!(done)),
        Output::Text => {
            println!("Login succeeded for {}", esc(&done.registry));
            match &done.helper {
                Some(h) => println!(
                    "Credentials stored by docker-credential-{}; {} lists the host",
                    esc(h),
                    done.config.display()
                ),
                None => {
                    println!("Credentials saved in {}", done.config.display());
                    if !a.common.quiet {
                        eprintln!(
                            "note: they are base64-encoded there, not encrypted (mode 0600); configure a credential helper (credsStore) to keep them in a keychain"
                        );
                    }
                }
            }
        }
    }
    Ok(())
}

/// `logout`.
pub fn logout(a: LogoutArgs) -> Result<(), CliError> {
    let registry = host(&a.host)?;
    let done = crate::oci::login::logout(&registry)?;
    match a.common.output() {
        Output::Json => print_json(&json!(done)),
        Output::Text if done.removed => {
            println!(
                "Removed login for {} from {}",
                esc(&registry),
                done.config.display()
            )
        }
        Output::Text => println!("Not logged in to {}", esc(&registry)),
    }
    Ok(())
}
