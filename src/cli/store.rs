//! `ls`, `rm`, `prune`: housekeeping of the local store (library: `oci::housekeeping`).

use serde_json::json;

use super::args::{LsArgs, Output, PruneArgs, RmArgs};
use super::error::CliError;
use super::render::{esc, print_json, short_source};
use crate::oci::{LayoutStore, Reference};

/// `1.4 MiB`: binary units, one decimal.
fn human(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    match unit {
        0 => format!("{n} B"),
        _ => format!("{v:.1} {}", UNITS.get(unit).copied().unwrap_or("B")),
    }
}

/// `ls`.
pub fn ls(a: LsArgs) -> Result<(), CliError> {
    let store = LayoutStore::open_default()?;
    let inv = store.inventory()?;
    if a.common.output() == Output::Json {
        print_json(&json!(inv));
        return Ok(());
    }
    println!(
        "Local store {} ({} blobs, {})",
        inv.store.display(),
        inv.blobs,
        human(inv.bytes)
    );
    if inv.models.is_empty() {
        println!("No models yet: provenance push MODEL REPO:TAG");
        return Ok(());
    }
    let rows: Vec<[String; 5]> = inv
        .models
        .iter()
        .map(|m| {
            [
                esc(&m.repository).into_owned(),
                if m.tags.is_empty() {
                    "-".to_string()
                } else {
                    esc(&m.tags.join(",")).into_owned()
                },
                short_source(&m.digest),
                m.referrers.to_string(),
                human(m.size),
            ]
        })
        .collect();
    let head = ["REPOSITORY", "TAGS", "DIGEST", "SIGNATURES", "SIZE"];
    let mut width = head.map(str::len);
    for r in &rows {
        for (w, c) in width.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cells: [&str; 5]| {
        let mut s = String::new();
        for (i, (c, w)) in cells.iter().zip(width).enumerate() {
            if i + 1 == cells.len() {
                s.push_str(c);
            } else {
                s.push_str(&format!("{c:<w$}  "));
            }
        }
        println!("{}", s.trim_end());
    };
    line(head);
    for r in &rows {
        line([&r[0], &r[1], &r[2], &r[3], &r[4]]);
    }
    println!("Signatures are counted, not verified: provenance verify REPO:TAG --key KEY");
    Ok(())
}

/// `rm REF...`.
pub fn rm(a: RmArgs) -> Result<(), CliError> {
    let mut parsed = Vec::new();
    for r in &a.references {
        let p = super::oci::parse_reference(r)?;
        if p.layout().is_some() {
            return Err(CliError::input(format!(
                "rm edits the local store only, and {} is an image layout folder; remove the folder itself",
                esc(r)
            )));
        }
        if let Some(host) = p.registry() {
            return Err(CliError::input(format!(
                "rm edits the local store only, and {} names registry {}; delete from a registry with its own tools (oras manifest delete, skopeo delete)",
                esc(r),
                esc(host)
            )));
        }
        parsed.push(p);
    }
    let store = LayoutStore::open_default()?;
    let mut done = Vec::new();
    for p in &parsed {
        let target = p.digest().or(p.tag()).unwrap_or("latest");
        let mut removed = store.remove(p.repository(), target)?;
        removed.reference = p.to_string();
        if a.common.output() == Output::Text {
            print_removed(p, &removed);
        }
        done.push(removed);
    }
    match a.common.output() {
        Output::Json => print_json(&json!({ "removed": done })),
        Output::Text => println!("Blobs stay until `provenance prune` frees the space."),
    }
    Ok(())
}

fn print_removed(p: &Reference, r: &crate::oci::Removed) {
    let what = if r.manifest_removed {
        let sigs = match r.referrers_removed {
            0 => String::new(),
            1 => " and its signature".to_string(),
            n => format!(" and its {n} signatures"),
        };
        format!("model {}{sigs}", short_source(&r.digest))
    } else {
        format!(
            "the tag; model {} stays under its other tags",
            short_source(&r.digest)
        )
    };
    println!("Removed {}: {what}", esc(&p.to_string()));
}

/// `prune`.
pub fn prune(a: PruneArgs) -> Result<(), CliError> {
    let store = LayoutStore::open_default()?;
    let p = store.prune(a.dry_run, a.now)?;
    if a.common.output() == Output::Json {
        print_json(&json!(p));
        return Ok(());
    }
    let verb = if p.dry_run { "Would delete" } else { "Deleted" };
    println!(
        "{verb} {} unreferenced blob{} ({})",
        p.blobs,
        if p.blobs == 1 { "" } else { "s" },
        human(p.bytes)
    );
    if p.kept_recent > 0 {
        println!(
            "Kept {} unreferenced blob{} written in the last hour (a push may be using them); --now deletes them too",
            p.kept_recent,
            if p.kept_recent == 1 { "" } else { "s" }
        );
    }
    Ok(())
}
