//! OCI commands: `push`, `pull`, and the REF forms of `sign` and `verify`.

use std::io::{IsTerminal, Read};
use std::path::Path;
use std::sync::Arc;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::json;

use super::args::{CopyArgs, Output, PullArgs, PushArgs, RegistryArgs};
use super::error::CliError;
use super::render;
use super::render::{parse_metadata, print_json};
use crate::formats::bundle::Bundle;
use crate::model;
use crate::oci::{self, Reference, Store};
use crate::sign::AnySigner;
use crate::sign::reference;
use crate::verify::Verifier;

/// Parses a reference and opens the store it points to.
pub(crate) fn open(
    reference: &str,
    r: &RegistryArgs,
) -> Result<(Reference, Box<dyn Store>), CliError> {
    let parsed = parse_reference(reference)?;
    let store = open_parsed(&parsed, r, credentials(r)?)?;
    Ok((parsed, store))
}

/// Parses a reference, with the hint on how to write one.
pub(crate) fn parse_reference(reference: &str) -> Result<Reference, CliError> {
    Reference::parse(reference).map_err(|e| {
        CliError::input(format!(
            "{e}; write it as host[:port]/repo[:tag|@sha256:...], or repo:tag for the local store"
        ))
    })
}

/// Credentials from `--username` + `--password-stdin` (stdin is read once, here).
pub(crate) fn credentials(r: &RegistryArgs) -> Result<Option<oci::Credentials>, CliError> {
    match (&r.username, r.password_stdin) {
        (Some(user), true) => {
            let mut pw = String::new();
            std::io::stdin()
                .take(64 * 1024)
                .read_to_string(&mut pw)
                .map_err(|e| CliError::input(format!("cannot read password from stdin: {e}")))?;
            Ok(Some(oci::Credentials {
                username: user.clone(),
                password: pw.trim_end_matches(['\r', '\n']).to_owned(),
            }))
        }
        (Some(_), false) => Err(CliError::input(
            "--username needs --password-stdin (passwords are never taken on the command line)",
        )),
        (None, true) => Err(CliError::input("--password-stdin needs --username")),
        (None, false) => Ok(None),
    }
}

/// Opens the store a parsed reference points to.
pub(crate) fn open_parsed(
    parsed: &Reference,
    r: &RegistryArgs,
    credentials: Option<oci::Credentials>,
) -> Result<Box<dyn Store>, CliError> {
    if r.plain_http
        && credentials.is_some()
        && parsed
            .registry()
            .is_some_and(|h| !oci::registry::is_loopback_host(h))
    {
        eprintln!(
            "warning: --plain-http sends your credentials to {} unencrypted",
            super::render::esc(parsed.registry().unwrap_or_default())
        );
    }
    Ok(oci::open_store(parsed, registry_options(r, credentials))?)
}

/// The registry options the flags ask for.
pub(crate) fn registry_options(
    r: &RegistryArgs,
    credentials: Option<oci::Credentials>,
) -> oci::RegistryOptions {
    let defaults = oci::RegistryOptions::default();
    let secs = std::time::Duration::from_secs;
    oci::RegistryOptions {
        plain_http: r.plain_http,
        credentials,
        timeout: r.timeout.map_or(defaults.timeout, secs),
        request_deadline: r.deadline.map_or(defaults.request_deadline, secs),
        // 2.5 request deadlines, as the default 300 s is of 120 s.
        referrer_deadline: r.deadline.map_or(defaults.referrer_deadline, |d| {
            secs(d.saturating_mul(5) / 2)
        }),
        speed_limit: r.speed_limit.unwrap_or(defaults.speed_limit),
        speed_time: r.speed_time.map_or(defaults.speed_time, secs),
        request_log: r.verbose.then(|| {
            oci::RequestLog(std::sync::Arc::new(|rec: &oci::RequestRecord| {
                let status = rec
                    .status
                    .map_or_else(|| "no answer".to_string(), |s| s.to_string());
                let retry = match rec.attempt {
                    0 => String::new(),
                    n => format!(" (retry {n})"),
                };
                eprintln!(
                    "> {} {} {} {} ms{retry}",
                    rec.method,
                    super::render::esc(&rec.url),
                    status,
                    rec.elapsed.as_millis()
                );
            }))
        }),
        ..defaults
    }
}

fn transfer_progress(quiet: bool, total: u64) -> Option<oci::ProgressFn> {
    if quiet || !std::io::stderr().is_terminal() {
        return None;
    }
    let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
    let bar = multi.add(ProgressBar::new(total));
    if let Ok(style) = ProgressStyle::with_template(
        "[{bar:30}] {bytes}/{total_bytes} {binary_bytes_per_sec} eta {eta} {wide_msg}",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    // The files in flight, named (escaped: a pulled model's paths come from the registry).
    let active = std::sync::Mutex::new(Vec::<String>::new());
    let show = move |bar: &ProgressBar, active: &[String]| {
        let msg = match active {
            [] => String::new(),
            [one] => render::esc(one).into_owned(),
            [first, rest @ ..] => format!("{} (+{} more)", render::esc(first), rest.len()),
        };
        bar.set_message(msg);
    };
    // With no total known up front (a verified pull learns it from the manifest), the bar
    // grows as blobs start.
    let grow = total == 0;
    Some(Arc::new(move |e: &oci::ProgressEvent| match e {
        oci::ProgressEvent::BlobStarted { path, size } => {
            if grow {
                bar.inc_length(*size);
            }
            if let Ok(mut a) = active.lock() {
                a.push(path.clone());
                show(&bar, &a);
            }
        }
        oci::ProgressEvent::BlobSkipped { size, .. } => {
            if grow {
                bar.inc_length(*size);
            }
            bar.inc(*size)
        }
        oci::ProgressEvent::BlobBytes { bytes, .. } => bar.inc(*bytes),
        oci::ProgressEvent::BlobDone { path, .. } => {
            if let Ok(mut a) = active.lock() {
                a.retain(|p| p != path);
                show(&bar, &a);
            }
        }
        oci::ProgressEvent::ManifestDone { .. } => bar.finish_and_clear(),
    }))
}

/// `push MODEL REF`.
pub fn push(a: PushArgs) -> Result<(), CliError> {
    let metadata = parse_metadata(&a.metadata, &a.registry)?;
    let signer = match a.sign {
        true => match super::signer::choose(
            a.private_key.as_deref(),
            a.password_env.as_deref(),
            None,
            &[],
            &a.keyless,
        )? {
            Some(s) => Some(s),
            None => {
                return Err(CliError::input(
                    "--sign needs --private-key KEY or --keyless (or drop --sign and run `provenance sign REF` later)",
                ));
            }
        },
        false => None,
    };
    let disk_bundle = match &a.signature {
        Some(p) => Some(Bundle::read(p)?),
        None => None,
    };
    let (reference, store) = open(&a.reference, &a.registry)?;
    let total = model::list(
        &a.model,
        &model::Options {
            allow_symlinks: a.allow_symlinks,
            ..model::Options::default()
        },
    )
    .map(|l| l.total_bytes())
    .unwrap_or(0);
    let request = reference::PushRequest {
        model: &a.model,
        allow_symlinks: a.allow_symlinks,
        name: a.name.clone(),
        metadata,
        signer: signer.as_ref().map(|s| s.as_signer()),
        attach: disk_bundle.as_ref(),
        options: oci::PushOptions {
            concurrency: a.concurrency,
            progress: transfer_progress(a.common.quiet, total),
        },
    };
    let bar = super::progress::bytes_bar(total, a.common.quiet, "hashing");
    let pushed = reference::push(store.as_ref(), &reference, &request, &|n| bar.inc(n));
    bar.finish_and_clear();
    let pushed = pushed.map_err(|e| match e {
        reference::PushError::Flow(e) => CliError::from(e),
        other => CliError {
            class: other.class(),
            message: other.to_string(),
        },
    })?;
    super::render::print_warnings(&pushed.warnings, a.common.quiet);
    let signed = pushed.signature_referrer.clone();
    match a.common.output() {
        Output::Json => print_json(&json!(pushed)),
        Output::Text => {
            println!(
                "Pushed {} ({} files) to {}",
                a.model.display(),
                pushed.layers,
                reference
            );
            println!("Digest: {}", pushed.digest);
            if let Some(r) = signed {
                println!("Signature attached as referrer {r}");
            }
        }
    }
    Ok(())
}

/// `sign REF`.
pub fn sign_reference(
    reference: &str,
    registry: &RegistryArgs,
    signer: &AnySigner,
    metadata: std::collections::BTreeMap<String, String>,
    output: Output,
    quiet: bool,
) -> Result<(), CliError> {
    let (r, store) = open(reference, registry)?;
    let signed = reference::sign(store.as_ref(), &r, signer.as_signer(), metadata)?;
    match output {
        Output::Json => print_json(&json!(signed)),
        Output::Text => {
            println!(
                "Signed {} ({} layers) with {}",
                r.pinned(&signed.digest),
                signed.resources,
                signer.label()
            );
            if let Some(note) = signer.log_note() {
                println!("{note}");
            }
            println!(
                "Signature attached as referrer {}",
                signed.signature_referrer
            );
        }
    }
    if !quiet && r.digest().is_none() {
        eprintln!(
            "note: tags are mutable; the signature binds digest {}, so `verify` fails if the tag moves. Pin it as {}",
            signed.digest,
            r.pinned(&signed.digest)
        );
    }
    Ok(())
}

/// `verify REF`.
pub fn verify_reference(
    reference: &str,
    registry: &RegistryArgs,
    evaluator: &Verifier,
    output: Output,
) -> Result<(), CliError> {
    let (r, store) = open(reference, registry)?;
    let (verdict, _) = crate::verify::reference(evaluator, store.as_ref(), &r)?;
    render::verdict(&verdict, output);
    if verdict.verified {
        Ok(())
    } else {
        Err(render::not_trusted(&verdict, "do not deploy this model"))
    }
}

/// `pull REF --output DIR`: verify first, then stream every blob through SHA-256 into a temp folder
/// beside DIR and rename it into place only when every digest and path checks out.
pub fn pull(a: PullArgs) -> Result<(), CliError> {
    let evaluator = super::trust::verifier(
        &super::trust::spec(&a.public_key, &a.certificates, a.policy.as_deref()),
        a.common.quiet,
    )?;
    let (r, store) = open(&a.reference, &a.registry)?;
    // The total for the progress bar comes from the same verified manifest the library pulls;
    // a bar without a total is fine before it is known.
    let request = crate::verify::PullRequest {
        output: Path::new(&a.dir),
        signature: a.signature.clone(),
        options: oci::PullOptions {
            concurrency: a.concurrency,
            progress: transfer_progress(a.common.quiet, 0),
        },
    };
    let pulled = crate::verify::pull(&evaluator, store.as_ref(), &r, &request)?;
    let verdict = &pulled.verification;
    let Some(done) = &pulled.written else {
        if a.common.format == Output::Text {
            render::verdict(verdict, a.common.format);
        } else {
            print_json(&json!(pulled));
        }
        return Err(render::not_trusted(verdict, "nothing was pulled"));
    };
    let total = done.bytes;
    let written = done.signature.clone();
    match a.common.format {
        Output::Json => print_json(&json!(pulled)),
        Output::Text => {
            println!(
                "Provenance verified; pulled {} files ({} bytes) of {} into {}",
                done.files,
                total,
                r.with_digest(&done.digest),
                a.dir.display()
            );
            match &written {
                Some(p) => println!("Signature saved to {}", p.display()),
                None => println!("No signature saved: no counted signature carried a bundle"),
            }
        }
    }
    Ok(())
}

/// `copy SRC DST`.
pub fn copy(a: CopyArgs) -> Result<(), CliError> {
    let c = &a.certificates;
    let gated = !a.public_key.is_empty()
        || a.policy.is_some()
        || c.certificate_identity.is_some()
        || c.certificate_identity_regexp.is_some()
        || !c.certificate_chain.is_empty()
        || c.insecure_skip_identity_check;
    let gate = match gated {
        true => Some(super::trust::verifier(
            &super::trust::spec(&a.public_key, c, a.policy.as_deref()),
            a.common.quiet,
        )?),
        false => None,
    };
    let src_ref = parse_reference(&a.source)?;
    let dst_ref = parse_reference(&a.destination)?;
    let creds = credentials(&a.registry)?;
    if creds.is_some() && src_ref.registry() != dst_ref.registry() {
        return Err(CliError::input(
            "--username applies to one registry, and SRC and DST name two; log in to each (provenance login HOST) and drop --username",
        ));
    }
    let src = open_parsed(&src_ref, &a.registry, creds.clone())?;
    let dst = open_parsed(&dst_ref, &a.registry, creds)?;
    let done = crate::verify::copy(
        gate.as_ref(),
        src.as_ref(),
        &src_ref,
        dst.as_ref(),
        &dst_ref,
        &oci::CopyOptions {
            concurrency: a.concurrency,
        },
    )?;
    let Some(stats) = &done.copied else {
        let verdict = done.verification.as_ref();
        if a.common.output() == Output::Json {
            print_json(&json!(done));
        } else if let Some(v) = verdict {
            render::verdict(v, Output::Text);
        }
        return Err(match verdict {
            Some(v) => render::not_trusted(v, "nothing was copied"),
            None => CliError::input("nothing was copied"),
        });
    };
    match a.common.output() {
        Output::Json => print_json(&json!(done)),
        Output::Text => {
            println!(
                "Copied {} to {} ({} blobs copied, {} mounted, {} already there, {} bytes; {} signature{})",
                render::esc(&done.source),
                render::esc(&done.destination),
                stats.blobs_copied,
                stats.blobs_mounted,
                stats.blobs_present,
                stats.bytes_copied,
                stats.referrers,
                if stats.referrers == 1 { "" } else { "s" }
            );
            if stats.referrers_left_out > 0 {
                println!(
                    "warning: {} more referrers were listed past the cap of {} and not copied",
                    stats.referrers_left_out,
                    oci::MAX_REFERRERS
                );
            }
            if done.verified {
                println!("The source verified before anything was written.");
            } else if !a.common.quiet {
                eprintln!(
                    "note: copied as it is, unverified; add --key KEY (or --policy) to copy only what verifies"
                );
            }
        }
    }
    Ok(())
}
