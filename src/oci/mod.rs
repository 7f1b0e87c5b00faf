//! OCI storage: models as CNCF ModelPack artifacts, signatures as OCI 1.1 referrers, in a remote
//! registry ([`RegistryStore`]) or a local OCI image layout ([`LayoutStore`]) behind one
//! synchronous [`Store`] trait (DESIGN.md 1.2-1.4).
//!
//! Errors are one [`Error`] enum whose [`Error::exit_code`] gives the CLI's exit code.

mod copy;
pub mod credentials;
mod error;
pub mod housekeeping;
pub mod layout;
pub mod login;
pub mod modelpack;
mod ops;
pub mod reference;
pub mod referrers;
pub mod registry;
pub mod store;

pub use copy::{CopyOptions, CopyStats, copy_model};
pub use error::{Error, ErrorKind, Result};
pub use housekeeping::{Pruned, Removed, StoreInventory, StoredModel};
pub use layout::{LayoutStore, default_store_dir};
pub use modelpack::{
    BuiltManifest, ModelConfig, ModelFile, ModelLayer, ModelManifest, build_model_manifest,
    parse_model_manifest,
};
pub use ops::{
    DEFAULT_CONCURRENCY, ProgressEvent, ProgressFn, PullOptions, PushFile, PushOptions,
    STALE_PULL_AGE, Sidecar, TransferOptions, attach_referrer, build_referrer_manifest,
    list_referrers, pull_model, pull_model_with_sidecar, push_model,
};
pub use reference::Reference;
pub use registry::{Credentials, RegistryOptions, RegistryStore, RequestLog, RequestRecord};
pub use store::{
    Descriptor, FetchedManifest, MAX_MANIFEST_SIZE, MAX_REFERRER_BLOB_SIZE,
    MAX_REFERRER_MANIFEST_SIZE, MAX_REFERRERS, ReferrerList, Store,
};

/// Open the store a reference points to: its registry, an `oci:DIR` image layout folder, or the
/// local store at [`default_store_dir`] when it names no host.
pub fn open_store(reference: &Reference, opts: RegistryOptions) -> Result<Box<dyn Store>> {
    if let Some(dir) = reference.layout() {
        return Ok(Box::new(LayoutStore::open_plain(dir)?));
    }
    match reference.registry() {
        Some(host) => Ok(Box::new(RegistryStore::new(host, opts)?)),
        None => Ok(Box::new(LayoutStore::open_default()?)),
    }
}
