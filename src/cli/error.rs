//! The one user-facing failure type: an exit-code class and a message that ends with a next step.
//! Every library error converts into it by its own `class()`.

use std::fmt;

use crate::Class;

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
    crate::sign::metadata::Error,
);

impl From<crate::formats::dsse::Error> for CliError {
    fn from(e: crate::formats::dsse::Error) -> Self {
        Self::input(e.to_string())
    }
}

impl From<crate::oci::Error> for CliError {
    fn from(e: crate::oci::Error) -> Self {
        let class = match e.kind() {
            crate::oci::ErrorKind::Verification => crate::Class::NotTrusted,
            crate::oci::ErrorKind::Input => crate::Class::Input,
            _ => crate::Class::Environment,
        };
        Self {
            class,
            message: format!("{e}{}", e.next_step()),
        }
    }
}

impl From<crate::sign::reference::Error> for CliError {
    fn from(e: crate::sign::reference::Error) -> Self {
        match e {
            crate::sign::reference::Error::Oci(e) => e.into(),
            other => Self {
                class: other.class(),
                message: other.to_string(),
            },
        }
    }
}

impl From<crate::verify::Error> for CliError {
    fn from(e: crate::verify::Error) -> Self {
        match e {
            crate::verify::Error::Oci(e) => e.into(),
            other => Self {
                class: other.class(),
                message: other.to_string(),
            },
        }
    }
}

impl From<crate::audit::Error> for CliError {
    fn from(e: crate::audit::Error) -> Self {
        Self {
            class: e.class(),
            message: e.to_string(),
        }
    }
}

/// A usage error as clap renders it, with its suggestion kept inside the trust mode the user
/// asked for: a mistyped key flag (`--keyfile`) is pointed at `--key`, never at `--keyless`
/// (which would start a public Sigstore signing), and hidden model_signing spellings
/// (`--private_key`) are suggested in their documented form.
pub fn usage(e: &clap::Error) -> String {
    use clap::error::{ContextKind, ContextValue};
    let text = e.render().to_string();
    let typed = match e.get(ContextKind::InvalidArg) {
        Some(ContextValue::String(s)) => s.clone(),
        _ => String::new(),
    };
    let mut out = text
        .replace("'--private_key'", "'--private-key'")
        .replace("'--public_key'", "'--public-key'");
    if !typed.starts_with("--keyl") && out.contains("a similar argument exists: '--keyless'") {
        out = out
            .replace(
                "a similar argument exists: '--keyless'",
                "a similar argument exists: '--key'",
            )
            .replace(" --keyless <", " --key <FILE> <");
    }
    out
}
