//! The custody graph of a report: models linked to their signer keys, to the datasets they were
//! trained on (`training_data_hash`), and to their declared base models (`base_model`).
//!
//! Signers and datasets are hub nodes rather than model-to-model edges, so the graph stays linear
//! in the number of entries (a thousand models sharing one key are a thousand edges, not half a
//! million) while models that share a signer or dataset are still visibly linked through the hub.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{AuditReport, Status};

/// What a node stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum NodeKind {
    /// A report entry (a signature or an unsigned model).
    Model,
    /// A signer key.
    Signer,
    /// A dataset, by its `training_data_hash`.
    Dataset,
}

/// A node.
#[derive(Clone, Debug, Serialize)]
pub struct Node {
    /// What it is.
    pub kind: NodeKind,
    /// Short label.
    pub label: String,
    /// Longer text (tooltip).
    pub detail: String,
    /// Status, for model nodes.
    pub status: Option<Status>,
    /// Index into the report's entries, for model nodes.
    pub entry: Option<usize>,
}

/// What an edge means.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum EdgeKind {
    /// Model -> signer key.
    SignedBy,
    /// Model -> dataset.
    TrainedOn,
    /// Model -> its base model.
    DerivedFrom,
}

/// An edge between two node indices.
#[derive(Clone, Debug, Serialize)]
pub struct Edge {
    /// From node.
    pub from: usize,
    /// To node.
    pub to: usize,
    /// Meaning.
    pub kind: EdgeKind,
}

/// Nodes (models first, in report order, then signers, then datasets) and edges.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Graph {
    /// Nodes.
    pub nodes: Vec<Node>,
    /// Edges.
    pub edges: Vec<Edge>,
}

/// Builds the graph of a report.
pub fn build(report: &AuditReport) -> Graph {
    let mut g = Graph::default();
    for (i, e) in report.entries.iter().enumerate() {
        g.nodes.push(Node {
            kind: NodeKind::Model,
            label: e.subject.clone().unwrap_or_else(|| e.origin.display()),
            detail: format!(
                "{} [{}] {}",
                e.subject.as_deref().unwrap_or("?"),
                e.status.as_str(),
                e.origin.display()
            ),
            status: Some(e.status),
            entry: Some(i),
        });
    }
    let mut signers: BTreeMap<String, usize> = BTreeMap::new();
    let mut datasets: BTreeMap<String, usize> = BTreeMap::new();
    let mut pending = Vec::new();
    for (i, e) in report.entries.iter().enumerate() {
        if let Some(s) = e.signer_label() {
            let next = signers.len();
            let n = *signers.entry(s).or_insert(next);
            pending.push((i, NodeKind::Signer, n));
        }
        if let Some(h) = e.metadata.get("training_data_hash") {
            let next = datasets.len();
            let n = *datasets.entry(h.clone()).or_insert(next);
            pending.push((i, NodeKind::Dataset, n));
        }
    }
    let signer_base = g.nodes.len();
    let mut signer_list: Vec<(&String, &usize)> = signers.iter().collect();
    signer_list.sort_by_key(|(_, n)| **n);
    for (s, _) in signer_list {
        g.nodes.push(Node {
            kind: NodeKind::Signer,
            label: format!("key {}", s.get(..12).unwrap_or(s)),
            detail: format!("signer {s}"),
            status: None,
            entry: None,
        });
    }
    let dataset_base = g.nodes.len();
    let mut names: BTreeMap<&str, &str> = BTreeMap::new();
    for e in &report.entries {
        if let (Some(h), Some(n)) = (e.metadata.get("training_data_hash"), e.dataset()) {
            names.entry(h.as_str()).or_insert(n);
        }
    }
    let mut dataset_list: Vec<(&String, &usize)> = datasets.iter().collect();
    dataset_list.sort_by_key(|(_, n)| **n);
    for (h, _) in dataset_list {
        let label = match names.get(h.as_str()) {
            Some(n) => format!("{n} ({})", h.get(..19).unwrap_or(h)),
            None => h.get(..19).unwrap_or(h).to_owned(),
        };
        g.nodes.push(Node {
            kind: NodeKind::Dataset,
            label,
            detail: format!("dataset {h}"),
            status: None,
            entry: None,
        });
    }
    for (i, kind, n) in pending {
        let (to, kind) = match kind {
            NodeKind::Signer => (signer_base + n, EdgeKind::SignedBy),
            _ => (dataset_base + n, EdgeKind::TrainedOn),
        };
        g.edges.push(Edge { from: i, to, kind });
    }
    for (c, ps) in super::parents(&report.entries).into_iter().enumerate() {
        for p in ps {
            g.edges.push(Edge {
                from: c,
                to: p,
                kind: EdgeKind::DerivedFrom,
            });
        }
    }
    g
}
