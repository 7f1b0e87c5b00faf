//! Findings across entries: key reuse, key age, dataset conflicts, policy thresholds and
//! lineage (which model was derived from which).

use super::evaluate::short;
use super::*;

/// One key across many subjects or many authors is a blast-radius risk: flag each of its entries.
pub(super) fn key_reuse(entries: &mut [Entry]) {
    let mut by_key: BTreeMap<String, (BTreeSet<String>, BTreeSet<String>)> = BTreeMap::new();
    for e in entries.iter() {
        let (Some(k), Some(s)) = (e.signer_label(), &e.subject) else {
            continue;
        };
        let slot = by_key.entry(k).or_default();
        slot.0.insert(s.clone());
        for field in ["author", "team"] {
            if let Some(v) = e.metadata.get(field) {
                slot.1.insert(v.clone());
            }
        }
    }
    for e in entries.iter_mut() {
        let label = e.signer_label().unwrap_or_default();
        let Some((subjects, authors)) = by_key.get(&label) else {
            continue;
        };
        if subjects.len() >= KEY_REUSE_THRESHOLD || authors.len() >= KEY_REUSE_THRESHOLD {
            let detail = format!(
                "key {} used by {} models / {} authors",
                short(&label),
                subjects.len(),
                authors.len()
            );
            e.find(FindingKind::KeyReuse, detail);
        }
    }
}

pub(super) fn key_age(entries: &mut [Entry], cfg: &AuditConfig) {
    let Some(max) = cfg.max_key_age else {
        return;
    };
    for e in entries.iter_mut() {
        let label = e.signer_label().unwrap_or_default();
        let Some(created) = cfg.key_created.get(&label) else {
            continue;
        };
        let age = cfg.now.duration_since(*created).unwrap_or_default();
        if age > max {
            let detail = format!(
                "key {} is {} days old by its public key file's modification time, older than --max-key-age {}",
                short(&label),
                age.as_secs() / 86_400,
                max.as_secs() / 86_400
            );
            e.find(FindingKind::KeyAge, detail);
        }
    }
}

/// The same dataset name with different content hashes means someone trained on a changed copy.
pub(super) fn dataset_conflicts(entries: &mut [Entry]) {
    let mut hashes: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for e in entries.iter() {
        if let (Some(name), Some(h)) = (e.dataset(), e.metadata.get("training_data_hash")) {
            hashes.entry(name.to_owned()).or_default().insert(h.clone());
        }
    }
    for e in entries.iter_mut() {
        let Some(set) = e.dataset().and_then(|n| hashes.get(n)) else {
            continue;
        };
        if set.len() > 1 {
            let detail = format!(
                "dataset `{}` appears with {} different training_data_hash values: {}",
                e.dataset().unwrap_or_default(),
                set.len(),
                set.iter().cloned().collect::<Vec<_>>().join(", ")
            );
            e.find(FindingKind::DatasetConflict, detail);
        }
    }
}

/// Whether a metadata key names a training data digest: `training_data_hash`, or any key ending
/// in it (`eval_training_data_hash`, `stage2.training_data_hash`).
pub(crate) fn is_data_hash_key(key: &str) -> bool {
    key.ends_with("training_data_hash")
}

/// A dataset digest as compared by `--data`: lower case, without the `sha256:` prefix.
fn normal_digest(d: &str) -> String {
    let d = d.trim().to_ascii_lowercase();
    d.strip_prefix("sha256:").map(str::to_owned).unwrap_or(d)
}

/// Keys that describe the signer rather than the model: two signers of one model (a training
/// team and a security review) legitimately differ there.
pub const SIGNER_KEYS: [&str; 2] = ["author", "team"];

/// One model (the same subject name and, where known, the same root digest: the same weights)
/// signed by several signatures that disagree on a metadata key's value: which data it was
/// trained on, which base model it came from. Each signature carrying the key gets a finding
/// naming the key, the values and the signatures that carry them. Keys describing the signer
/// ([`SIGNER_KEYS`]) and `KEY.method` siblings of `@digest:` values (left to their key) are not
/// compared; nor are versions of a model with different weights.
pub(super) fn metadata_conflicts(entries: &mut [Entry]) {
    type Values = BTreeMap<String, BTreeSet<String>>;
    let model_of = |e: &Entry| {
        e.subject
            .clone()
            .map(|s| (s, e.root_digest.clone().unwrap_or_default()))
    };
    let mut by_model: BTreeMap<(String, String), BTreeMap<String, Values>> = BTreeMap::new();
    for e in entries.iter() {
        let Some(m) = model_of(e) else {
            continue;
        };
        for (k, v) in &e.metadata {
            if k.ends_with(crate::formats::statement::METHOD_SUFFIX)
                || SIGNER_KEYS.contains(&k.as_str())
            {
                continue;
            }
            by_model
                .entry(m.clone())
                .or_default()
                .entry(k.clone())
                .or_default()
                .entry(v.clone())
                .or_default()
                .insert(e.origin.display());
        }
    }
    for e in entries.iter_mut() {
        let Some(keys) = model_of(e).and_then(|m| by_model.get(&m)) else {
            continue;
        };
        let mut details = Vec::new();
        for (k, values) in keys {
            if values.len() < 2 || !e.metadata.contains_key(k) {
                continue;
            }
            let listed: Vec<String> = values
                .iter()
                .map(|(v, origins)| {
                    format!(
                        "{v:?} ({})",
                        origins.iter().cloned().collect::<Vec<_>>().join(", ")
                    )
                })
                .collect();
            details.push(format!(
                "model `{}` is signed with {} different values for `{k}`: {}",
                e.subject.as_deref().unwrap_or_default(),
                values.len(),
                listed.join(", ")
            ));
        }
        for d in details {
            e.find(FindingKind::MetadataConflict, d);
        }
    }
}

/// A training data digest that is not `sha256:<64 lower-case hex>` cannot be matched against a
/// dataset: flag it, with how to record a real one.
pub(super) fn data_hash_format(entries: &mut [Entry]) {
    let well_formed = |v: &str| {
        v.strip_prefix("sha256:").is_some_and(|h| {
            h.len() == 64
                && h.bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        })
    };
    for e in entries.iter_mut() {
        let bad: Vec<String> = e
            .metadata
            .iter()
            .filter(|(k, v)| is_data_hash_key(k) && !well_formed(v))
            .map(|(k, v)| {
                format!(
                    "`{k}` is {v:?}, not sha256:<64 hex digits>; record a dataset's digest with --metadata {k}=@digest:PATH (or `provenance digest PATH`)"
                )
            })
            .collect();
        for d in bad {
            e.find(FindingKind::DataHashFormat, d);
        }
    }
}

/// The rule thresholds of a policy file over the signatures of each model (same rule, same
/// subject), decided by the evaluator; a revoked signature is reported on its own entry and fails
/// the other entries of the same model (`policy:revoked`).
pub(super) fn apply_thresholds(entries: &mut [Entry], evaluator: &Verifier) {
    let mut groups: BTreeMap<(String, String), Vec<usize>> = BTreeMap::new();
    for (i, e) in entries.iter().enumerate() {
        let Some((rule, _)) = &e.verdict else {
            continue;
        };
        let subject = e
            .root_digest
            .clone()
            .or_else(|| e.subject.clone())
            .unwrap_or_default();
        groups.entry((rule.clone(), subject)).or_default().push(i);
    }
    for ((rule_name, _), idx) in groups {
        let Some(rule) = evaluator.policy.rules.iter().find(|r| r.name == rule_name) else {
            continue;
        };
        let verdicts: Vec<&SignatureVerdict> = idx
            .iter()
            .filter_map(|i| entries.get(*i))
            .filter_map(|e| e.verdict.as_ref().map(|(_, v)| v))
            .collect();
        let failed: Vec<_> = evaluator
            .decide(rule, &verdicts)
            .into_iter()
            .filter(|o| !o.passed)
            .collect();
        for i in idx {
            let Some(e) = entries.get_mut(i) else {
                continue;
            };
            // A revoked signature's own entry already says so; its siblings are refused too,
            // since revocation refuses every model that carries the revoked key's signature.
            let own_revoked = e.status == Status::Revoked;
            for o in failed
                .iter()
                .filter(|o| !(o.name == Check::PolicyRevoked && own_revoked))
            {
                e.find(
                    FindingKind::Policy,
                    format!(
                        "policy rule `{rule_name}`: {} not met: {}",
                        o.name.as_str().trim_start_matches("policy:"),
                        o.detail
                    ),
                );
                if e.status == Status::Verified {
                    e.status = Status::Failed;
                }
            }
        }
    }
}

pub(super) fn metadata_matches(e: &Entry, matches: &[(String, String)], data: &[String]) -> bool {
    let data: Vec<String> = data.iter().map(|d| normal_digest(d)).collect();
    matches
        .iter()
        .all(|(k, v)| e.metadata.get(k).is_some_and(|m| m == v))
        && (data.is_empty()
            || e.metadata
                .iter()
                .any(|(k, v)| is_data_hash_key(k) && data.contains(&normal_digest(v))))
}

/// Parent links from `base_model` metadata: a root digest (`sha256:<hex>` or bare hex) or a
/// subject name of another entry.
pub(crate) fn parents(entries: &[Entry]) -> Vec<Vec<usize>> {
    let mut index: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, e) in entries.iter().enumerate() {
        if let Some(d) = &e.root_digest {
            index.entry(d.clone()).or_default().push(i);
            if let Some(hex) = d.strip_prefix("sha256:") {
                index.entry(hex.to_owned()).or_default().push(i);
            }
        }
        if let Some(s) = &e.subject {
            index.entry(s.clone()).or_default().push(i);
        }
    }
    entries
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let mut ps: Vec<usize> = e
                .metadata
                .get("base_model")
                .and_then(|b| index.get(b))
                .map(|v| v.iter().copied().filter(|p| *p != i).collect())
                .unwrap_or_default();
            ps.sort_unstable();
            ps.dedup();
            ps
        })
        .collect()
}

/// Applies `--match` and `--data` (keeping descendants of matching models) and orders the entries so that
/// each model is followed by the models derived from it.
pub(super) fn lineage(
    mut entries: Vec<Entry>,
    matches: &[(String, String)],
    data: &[String],
) -> Vec<Entry> {
    let selecting = !matches.is_empty() || !data.is_empty();
    let parents = parents(&entries);
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); entries.len()];
    for (c, ps) in parents.iter().enumerate() {
        for p in ps {
            if let Some(ch) = children.get_mut(*p) {
                ch.push(c);
            }
        }
    }
    // Findings about an untrusted base model, whatever is kept.
    for (c, ps) in parents.iter().enumerate() {
        let bad: Vec<String> = ps
            .iter()
            .filter_map(|p| entries.get(*p))
            .filter(|p| p.status != Status::Verified)
            .map(|p| {
                format!(
                    "base model {} ({}) is {}",
                    p.subject.as_deref().unwrap_or("?"),
                    p.origin.display(),
                    p.status.as_str()
                )
            })
            .collect();
        if let Some(e) = entries.get_mut(c) {
            for b in bad {
                e.find(FindingKind::BaseModelUntrusted, b);
            }
        }
    }
    let mut keep = vec![!selecting; entries.len()];
    if selecting {
        let mut queue = VecDeque::new();
        for (i, e) in entries.iter().enumerate() {
            if metadata_matches(e, matches, data) {
                if let Some(k) = keep.get_mut(i) {
                    *k = true;
                }
                queue.push_back(i);
            }
        }
        let mut derived: Vec<(usize, String)> = Vec::new();
        while let Some(p) = queue.pop_front() {
            for c in children.get(p).cloned().unwrap_or_default() {
                if keep.get(c).copied().unwrap_or(true) {
                    continue;
                }
                if let Some(k) = keep.get_mut(c) {
                    *k = true;
                }
                if let Some(pe) = entries.get(p) {
                    derived.push((
                        c,
                        format!(
                            "derived from {} ({})",
                            pe.subject.as_deref().unwrap_or("?"),
                            pe.origin.display()
                        ),
                    ));
                }
                queue.push_back(c);
            }
        }
        for (c, d) in derived {
            if let Some(e) = entries.get_mut(c) {
                e.find(FindingKind::DerivedFrom, d);
            }
        }
    }
    // Depth-first order: roots (no kept parent) by origin, each followed by its kept children.
    let is_kept = |i: usize| keep.get(i).copied().unwrap_or(false);
    let by_origin = |a: &usize, b: &usize| {
        let oa = entries.get(*a).map(|e| &e.origin);
        let ob = entries.get(*b).map(|e| &e.origin);
        oa.cmp(&ob)
    };
    let mut roots: Vec<usize> = (0..entries.len())
        .filter(|i| is_kept(*i))
        .filter(|i| {
            !parents
                .get(*i)
                .is_some_and(|ps| ps.iter().any(|p| is_kept(*p)))
        })
        .collect();
    roots.sort_by(by_origin);
    let mut order: Vec<(usize, usize)> = Vec::new();
    let mut seen = vec![false; entries.len()];
    let visit = |start: usize, order: &mut Vec<(usize, usize)>, seen: &mut Vec<bool>| {
        let mut stack = vec![(start, 0usize)];
        while let Some((i, depth)) = stack.pop() {
            if seen.get(i).copied().unwrap_or(true) {
                continue;
            }
            if let Some(s) = seen.get_mut(i) {
                *s = true;
            }
            order.push((i, depth));
            let mut ch: Vec<usize> = children
                .get(i)
                .map(|c| c.iter().copied().filter(|c| is_kept(*c)).collect())
                .unwrap_or_default();
            ch.sort_by(by_origin);
            for c in ch.into_iter().rev() {
                stack.push((c, depth + 1));
            }
        }
    };
    for r in roots {
        visit(r, &mut order, &mut seen);
    }
    // Entries only reachable through a cycle of base_model claims.
    let mut rest: Vec<usize> = (0..entries.len())
        .filter(|i| is_kept(*i) && !seen.get(*i).copied().unwrap_or(true))
        .collect();
    rest.sort_by(by_origin);
    for r in rest {
        visit(r, &mut order, &mut seen);
    }
    let mut slots: Vec<Option<Entry>> = entries.drain(..).map(Some).collect();
    order
        .into_iter()
        .filter_map(|(i, depth)| {
            slots.get_mut(i).and_then(Option::take).map(|mut e| {
                e.depth = depth;
                e
            })
        })
        .collect()
}
