//! The listing options for verifying a signature: what the signature recorded combined with
//! the verifier's own options.

use std::path::{Path, PathBuf};

use super::listing::is_ignored;
use super::{GIT_PATHS, Options, normalize_rel};
use crate::formats::statement::{Resource, Serialization};

/// The listing options for verifying a signature, and a sentence saying where they came from
/// (for the `model` check's detail: which ignore list was used).
#[derive(Clone, Debug)]
pub struct VerifyOptions {
    /// Options to pass to [`list`](super::list).
    pub options: Options,
    /// Where the ignore list and the symlink policy came from.
    pub explanation: String,
}

/// Combines what the signature recorded with the verifier's own model options, as
/// model_signing 1.1's verify does (OMS §6.2, §8):
/// - ignored: the signature's `ignore_paths` (those inside the model; `..` and absolute ones
///   are dropped) plus the verifier's `--ignore-paths` (relative to the model, or absolute
///   inside it), plus the git paths unless `--no-ignore-git-paths` or the signature itself
///   signs a git path (then ignoring them would report signed files as missing);
/// - symlinks are followed when the signature records `allow_symlinks` or the verifier passes
///   `--allow-symlinks`;
/// - the signature file is never part of the model.
pub fn verify_options(
    signed: &Serialization,
    signed_resources: &[Resource],
    user: &Options,
    signature_path: Option<PathBuf>,
) -> VerifyOptions {
    let mut ignore_paths: Vec<PathBuf> = signed
        .ignore_paths
        .iter()
        .filter(|p| normalize_rel(Path::new(p.as_str())).is_some())
        .map(PathBuf::from)
        .collect();
    ignore_paths.extend(user.ignore_paths.iter().cloned());
    let signs_git = signed_resources.iter().any(|r| {
        let name = r.name.split(':').next().unwrap_or_default();
        is_ignored(name, &GIT_PATHS.map(str::to_owned))
    });
    let ignore_git = user.ignore_git && !signs_git;
    let allow_symlinks = signed.allow_symlinks || user.allow_symlinks;
    let explanation = format!(
        "ignored: {} path(s) recorded in the signature{}, {} from --ignore-paths, git paths {}; symlinks {}",
        signed.ignore_paths.len(),
        if signed.ignore_paths.is_empty() {
            String::new()
        } else {
            format!(" ({})", signed.ignore_paths.join(", "))
        },
        user.ignore_paths.len(),
        if ignore_git {
            "ignored"
        } else if signs_git {
            "signed (the signature lists them)"
        } else {
            "not ignored (--no-ignore-git-paths)"
        },
        match (signed.allow_symlinks, user.allow_symlinks) {
            (true, _) => "followed (recorded in the signature)",
            (false, true) => "followed (--allow-symlinks)",
            (false, false) => "refused",
        }
    );
    VerifyOptions {
        options: Options {
            ignore_paths,
            ignore_git,
            allow_symlinks,
            signature_path,
        },
        explanation,
    }
}
#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;
    use crate::formats::statement::SerializationMethod;

    #[test]
    fn verify_options_add_the_signed_ignore_paths_to_the_verifiers_and_say_so() {
        let signed = Serialization {
            method: SerializationMethod::Files,
            hash_type: "sha256".into(),
            allow_symlinks: true,
            ignore_paths: vec!["logs".into(), "../outside".into()],
        };
        let user = Options {
            ignore_paths: vec![PathBuf::from("tmp")],
            ..Options::default()
        };
        let v = verify_options(&signed, &[], &user, None);
        assert_eq!(
            v.options.ignore_paths,
            [PathBuf::from("logs"), PathBuf::from("tmp")]
        );
        assert!(v.options.allow_symlinks && v.options.ignore_git);
        assert!(
            v.explanation
                .contains("2 path(s) recorded in the signature"),
            "{}",
            v.explanation
        );
        assert!(v.explanation.contains("1 from --ignore-paths"));
        assert!(v.explanation.contains("recorded in the signature"));
        // A signature that signs git files keeps them.
        let git = [Resource {
            name: ".gitattributes".into(),
            algorithm: "sha256".into(),
            digest: "00".repeat(32),
        }];
        assert!(
            !verify_options(&signed, &git, &user, None)
                .options
                .ignore_git
        );
    }
}
