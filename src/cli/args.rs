//! Raw clap definitions: what the user typed. Resolved into library objects in `cli::commands`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

const EXIT_CODES: &str = "Exit codes:\n  0  success / verified\n  1  not trusted: a digest, signature, identity, policy or revocation check failed\n  2  usage or input error: bad flag, unreadable key, malformed signature, unknown tag\n  3  environment error: registry unreachable, I/O error, out of space";

/// Verifiable chain of custody for AI models: sign, push, verify and pull models with OMS
/// signatures (Sigstore bundles) and OCI registries.
#[derive(Debug, Parser)]
#[command(name = "provenance", version, about, after_help = EXIT_CODES)]
pub struct Cli {
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// Output format.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum Output {
    /// Human-readable text.
    #[default]
    Text,
    /// One JSON document on stdout.
    Json,
}

/// Options every command takes.
#[derive(Clone, Debug, Args)]
pub struct Common {
    /// Output format: text, or one JSON document on stdout (docs/json.md), also on failure.
    #[arg(long, value_enum, default_value_t = Output::Text)]
    pub format: Output,
    /// Same as --format (kept for scripts written before --format).
    #[arg(long = "output", short = 'o', value_enum, hide = true)]
    pub output_alias: Option<Output>,
    /// No progress bars or notes on stderr.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

impl Common {
    /// The format asked for (`--format`, or its alias `--output`).
    pub fn output(&self) -> Output {
        self.output_alias.unwrap_or(self.format)
    }
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create an ECDSA key pair: P-256, or P-384/P-521 with --curve (PKCS#8 PEM, mode 0600; SPKI PEM).
    #[command(after_help = EXIT_CODES)]
    Keygen(KeygenArgs),
    /// Sign a model on disk (a path, or --model) or a model in an OCI registry or the local store (REF).
    #[command(after_help = EXIT_CODES)]
    Sign(SignArgs),
    /// Verify a model on disk (a path, or --model) or in an OCI registry or the local store (REF).
    #[command(after_help = EXIT_CODES)]
    Verify(VerifyArgs),
    /// Push a model folder or file to an OCI registry (or the local store) as a ModelPack artifact.
    #[command(after_help = EXIT_CODES)]
    Push(PushArgs),
    /// Verify a model in a registry (or the local store), then download it; nothing lands unless it verifies.
    #[command(after_help = EXIT_CODES)]
    Pull(PullArgs),
    /// Show what a signature claims (signer, subject, metadata, resources) without verifying it;
    /// for a REF, the model manifest and every signature attached to it.
    #[command(after_help = EXIT_CODES)]
    Inspect(InspectArgs),
    /// A model in a registry (or the local store) and the signatures attached to it, as a tree
    /// (unverified; as `oras discover --format tree`).
    #[command(after_help = EXIT_CODES)]
    Tree(TreeArgs),
    /// Print the OMS root digest (`sha256:<hex>`) of a file or folder: what `sign` records as
    /// the subject digest, with the same ignore rules; e.g. a dataset's `training_data_hash`.
    #[command(after_help = EXIT_CODES)]
    Digest(DigestArgs),
    /// Chain-of-custody report over many signatures, for incident response
    Audit(AuditArgs),
    /// The local store's models: repository, tags, digest, signatures attached, size.
    Ls(LsArgs),
    /// Remove a model (repo:tag or repo@sha256:...) and its signatures from the local store;
    /// `provenance prune` then frees the space.
    Rm(RmArgs),
    /// Delete blobs of the local store that nothing refers to any more (--dry-run to count).
    Prune(PruneArgs),
    /// Copy a model with its signatures between registries and the local store (digests kept,
    /// tag last); with --key/--policy/--certificate-identity, only if the source verifies.
    #[command(after_help = EXIT_CODES)]
    Copy(CopyArgs),
    /// Log in to a registry: the credentials are checked, then kept in the docker config (or
    /// its credential helper) that docker, oras, cosign and provenance all read.
    Login(LoginArgs),
    /// Remove a registry login from the docker config (and its credential helper).
    Logout(LogoutArgs),
    /// Print a shell completion script: `provenance completion bash > /etc/bash_completion.d/provenance`.
    Completion(CompletionArgs),
    /// Write man pages (provenance.1 and one per command) into a folder.
    Man(ManArgs),
}

/// `copy`.
#[derive(Debug, Args)]
pub struct CopyArgs {
    /// The model to copy: `host[:port]/repo[:tag|@sha256:...]`, `repo:tag` in the local store,
    /// or `oci:DIR[:TAG]`.
    #[arg(value_name = "SRC")]
    pub source: String,
    /// Where to: `host[:port]/repo[:tag]`, `repo[:tag]` in the local store, or `oci:DIR[:TAG]`
    /// (an image layout folder, created if missing). Tag: the source's when none is given.
    #[arg(value_name = "DST")]
    pub destination: String,
    /// Promotion gate: trusted public key (repeatable; `--key` is the same flag). Nothing is
    /// written unless the source verifies.
    #[arg(
        long,
        short = 'p',
        visible_alias = "key",
        alias = "public_key",
        value_name = "FILE"
    )]
    pub public_key: Vec<PathBuf>,
    /// Promotion gate: trust policy (docs/policy.md); nothing is written unless it passes.
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub certificates: CertificateTrustArgs,
    /// Blobs copied at once.
    #[arg(long, default_value_t = crate::oci::DEFAULT_CONCURRENCY)]
    pub concurrency: usize,
    /// How to reach the registries (credentials: from `provenance login` / the docker config
    /// of each host; --username applies only when both sides are one registry).
    #[command(flatten)]
    pub registry: RegistryArgs,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub common: Common,
}

/// `login`.
#[derive(Debug, Args)]
pub struct LoginArgs {
    /// Registry host, `host[:port]` (e.g. ghcr.io, localhost:5000).
    #[arg(value_name = "HOST")]
    pub host: String,
    /// How to reach the registry, and `--username USER --password-stdin` (required).
    #[command(flatten)]
    pub registry: RegistryArgs,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub common: Common,
}

/// `logout`.
#[derive(Debug, Args)]
pub struct LogoutArgs {
    /// Registry host, `host[:port]`.
    #[arg(value_name = "HOST")]
    pub host: String,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub common: Common,
}

/// `ls`.
#[derive(Debug, Args)]
pub struct LsArgs {
    #[command(flatten)]
    #[allow(missing_docs)]
    pub common: Common,
}

/// `rm`.
#[derive(Debug, Args)]
pub struct RmArgs {
    /// What to remove from the local store: `repo:tag` (the tag; the model too once no tag
    /// names it) or `repo@sha256:...` (the model and all its tags).
    #[arg(value_name = "REF", required = true)]
    pub references: Vec<String>,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub common: Common,
}

/// `prune`.
#[derive(Debug, Args)]
pub struct PruneArgs {
    /// Count what would be deleted; delete nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Also delete unreferenced blobs written in the last hour (kept by default: a push running
    /// beside the prune may be about to refer to them).
    #[arg(long)]
    pub now: bool,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub common: Common,
}

/// `completion`.
#[derive(Debug, Args)]
pub struct CompletionArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// `man`.
#[derive(Debug, Args)]
pub struct ManArgs {
    /// Folder to write the pages into (created if missing), e.g. /usr/local/share/man/man1.
    #[arg(long, value_name = "DIR", default_value = "man")]
    pub dir: PathBuf,
}

/// `keygen`.
#[derive(Debug, Args)]
pub struct KeygenArgs {
    /// Where to write the private key.
    #[arg(long, default_value = "provenance_private.pem")]
    pub private: PathBuf,
    /// Where to write the public key.
    #[arg(long, default_value = "provenance_public.pem")]
    pub public: PathBuf,
    /// Encrypt the private key with the passphrase held in this environment variable.
    #[arg(long, value_name = "VAR")]
    pub password_env: Option<String>,
    /// Overwrite existing key files.
    #[arg(long)]
    pub force: bool,
    /// The curve: p256 (default), p384 or p521 (OMS v1.0 names all three).
    #[arg(long, default_value = "p256", value_name = "CURVE")]
    pub curve: crate::keys::Curve,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub common: Common,
}

/// How the model on disk is read (shared by sign and verify).
#[derive(Clone, Debug, Args)]
pub struct ModelArgs {
    /// Model file or folder on disk (the same as giving its path as the first argument).
    #[arg(long, short = 'm', value_name = "PATH")]
    pub model: Option<PathBuf>,
    /// Signature file (Sigstore bundle). Default: `<model>.sig` beside the model. `--manifest`
    /// is the same flag (the original toolkit guide's name).
    #[arg(long = "signature", visible_alias = "manifest", value_name = "FILE")]
    pub signature: Option<PathBuf>,
}

/// `sign`.
#[derive(Debug, Args)]
pub struct SignArgs {
    /// A model file or folder on disk (an existing path, or one written `./m`, `/m`, `m/`), or
    /// an OCI reference to sign in place (`host/repo:tag`, or `repo:tag` for the local store).
    #[arg(value_name = "MODEL_OR_REF", conflicts_with = "model")]
    pub reference: Option<String>,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub model: ModelArgs,
    /// Private key (PKCS#8 or SEC1 PEM; P-256, P-384 or P-521). `--key` is the same flag (cosign).
    #[arg(
        long,
        short = 'k',
        visible_alias = "key",
        alias = "private_key",
        value_name = "FILE",
        conflicts_with = "keyless"
    )]
    pub private_key: Option<PathBuf>,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub keyless: KeylessArgs,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub registry: RegistryArgs,
    /// Environment variable holding the private key's passphrase.
    #[arg(long, value_name = "VAR")]
    pub password_env: Option<String>,
    /// Signed metadata `key=value` (repeatable), e.g. author, training_data_hash, framework;
    /// `key=@digest:PATH` (or `@digest:REF`) signs the digest of a dataset folder (or a model
    /// in a registry) and `key.method` beside it.
    #[arg(long, value_name = "KEY=VALUE")]
    pub metadata: Vec<String>,
    /// Path inside the model not to sign (repeatable; relative to the model folder).
    #[arg(long, value_name = "PATH")]
    pub ignore_paths: Vec<PathBuf>,
    /// Sign .git, .gitattributes, .github and .gitignore too.
    #[arg(long)]
    pub no_ignore_git_paths: bool,
    /// Follow symbolic links (a Hugging Face cache snapshot is links into ../../blobs); a link
    /// to a file outside the model is followed with a warning.
    #[arg(long)]
    pub allow_symlinks: bool,
    /// Certificate method (private PKI): the signing certificate (PEM) for --private-key; the
    /// bundle carries it and --certificate-chain, as `model_signing sign certificate` writes it.
    #[arg(long, value_name = "FILE")]
    pub signing_certificate: Option<PathBuf>,
    /// With --signing-certificate: the certificates above it (PEM, repeatable), in order.
    #[arg(long, value_name = "FILE", requires = "signing_certificate")]
    pub certificate_chain: Vec<PathBuf>,
    /// Use the `shards` serialization with pieces of N bytes (default method: `files`).
    #[arg(long, value_name = "N", num_args = 0..=1, default_missing_value = "1000000000")]
    pub shard_size: Option<u64>,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub common: Common,
}

/// `digest`.
#[derive(Debug, Args)]
pub struct DigestArgs {
    /// A file or folder (a model, a dataset).
    #[arg(value_name = "PATH")]
    pub path: PathBuf,
    /// Use the `shards` serialization with pieces of N bytes (default method: `files`).
    #[arg(long, value_name = "N", num_args = 0..=1, default_missing_value = "1000000000")]
    pub shard_size: Option<u64>,
    /// Path inside the folder to leave out (repeatable; relative to the folder), as `sign`.
    #[arg(long, value_name = "PATH")]
    pub ignore_paths: Vec<PathBuf>,
    /// Hash .git, .gitattributes, .github and .gitignore too.
    #[arg(long)]
    pub no_ignore_git_paths: bool,
    /// Follow symbolic links, as `sign --allow-symlinks`.
    #[arg(long)]
    pub allow_symlinks: bool,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub common: Common,
}

/// `verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// A model file or folder on disk (an existing path, or one written `./m`, `/m`, `m/`), or
    /// an OCI reference (`host/repo:tag`, `host/repo@sha256:...`, or `repo:tag` locally).
    #[arg(value_name = "MODEL_OR_REF", conflicts_with = "model")]
    pub reference: Option<String>,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub model: ModelArgs,
    /// Trusted public key (repeatable: passes if any one verifies; `--key` is the same flag). With --policy: key material,
    /// trusted only where the policy rule lists no trusted_signers.
    #[arg(
        long,
        short = 'p',
        visible_alias = "key",
        alias = "public_key",
        value_name = "FILE"
    )]
    pub public_key: Vec<PathBuf>,
    /// Trust policy (YAML or JSON, docs/policy.md): the rule covering the model decides
    /// (trusted signers, min_signatures, required_metadata, revoked keys).
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
    /// Path inside the model not to check (repeatable; relative to the model, or an absolute
    /// path inside it), added to the signature's own ignore list, as model_signing verify.
    #[arg(long, value_name = "PATH")]
    pub ignore_paths: Vec<PathBuf>,
    /// Ignore .git, .gitattributes, .github and .gitignore (the default).
    #[arg(long, overrides_with = "no_ignore_git_paths")]
    pub ignore_git_paths: bool,
    /// Check .git, .gitattributes, .github and .gitignore too.
    #[arg(long, overrides_with = "ignore_git_paths")]
    pub no_ignore_git_paths: bool,
    /// Follow symbolic links (as the signature's `allow_symlinks` does); a link out of the model
    /// is followed with a warning.
    #[arg(long)]
    pub allow_symlinks: bool,
    /// Tolerate files on disk that the signature does not list; they are named in the report.
    #[arg(long)]
    pub ignore_unsigned_files: bool,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub certificates: CertificateTrustArgs,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub registry: RegistryArgs,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub common: Common,
}

/// Trust for certificate-bearing signatures: keyless (Sigstore) identities and the trusted root,
/// or a private PKI's roots.
#[derive(Clone, Debug, Default, Args)]
pub struct CertificateTrustArgs {
    /// Keyless: the identity the signing certificate must name (SAN e-mail or URI), exactly.
    #[arg(
        long,
        value_name = "ID",
        conflicts_with = "certificate_identity_regexp"
    )]
    pub certificate_identity: Option<String>,
    /// Keyless: a regular expression one SAN identity must match (unanchored, as cosign: use ^...$).
    #[arg(long, value_name = "REGEX")]
    pub certificate_identity_regexp: Option<String>,
    /// Keyless: the OIDC issuer the certificate must name, e.g. https://token.actions.githubusercontent.com
    #[arg(long, value_name = "URL")]
    pub certificate_oidc_issuer: Option<String>,
    /// Certificate method (private PKI): trusted CA certificates (PEM, repeatable); the signing
    /// certificate must chain to one of them.
    #[arg(long, value_name = "FILE")]
    pub certificate_chain: Vec<PathBuf>,
    /// Keyless: pin this Sigstore trusted_root.json (private deployment) instead of the embedded
    /// public-good root; never refreshed.
    #[arg(long, value_name = "FILE")]
    pub trust_root: Option<PathBuf>,
    /// Keyless: no TUF refresh of the public-good trusted root; use the cached copy only if it
    /// re-verifies against TUF metadata signed under the embedded TUF root, else the embedded copy.
    #[arg(long)]
    pub offline: bool,
    /// Keyless: accept ANY Sigstore identity and issuer (the chain, log and signature are still
    /// checked). Insecure: anyone can get a certificate.
    #[arg(long)]
    pub insecure_skip_identity_check: bool,
}

/// `inspect`.
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// A signature file, a model on disk (its `<model>.sig` is shown), or an OCI reference (its
    /// manifest and every signature attached to it).
    #[arg(value_name = "SIGNATURE_OR_MODEL_OR_REF", conflicts_with = "signature")]
    pub target: Option<String>,
    /// Signature file to show. `--manifest` is the same flag (the original toolkit guide's name).
    #[arg(long = "signature", visible_alias = "manifest", value_name = "FILE")]
    pub signature: Option<PathBuf>,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub registry: RegistryArgs,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub common: Common,
}

/// `tree`.
#[derive(Debug, Args)]
pub struct TreeArgs {
    /// The model: `host[:port]/repo[:tag|@sha256:...]`, `repo:tag` for the local store, or
    /// `oci:DIR[:TAG]` for an image layout folder.
    #[arg(value_name = "REF")]
    pub reference: String,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub registry: RegistryArgs,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub common: Common,
}

/// Keyless signing with Sigstore (Fulcio certificate + Rekor entry) instead of a key file.
#[derive(Clone, Debug, Default, Args)]
pub struct KeylessArgs {
    /// Sign with an OIDC identity: an ephemeral key, a Fulcio certificate, a Rekor entry.
    #[arg(long)]
    pub keyless: bool,
    /// OIDC identity token (audience `sigstore`). Default: $SIGSTORE_ID_TOKEN, else GitHub
    /// Actions' ambient token (ACTIONS_ID_TOKEN_REQUEST_URL/_TOKEN).
    #[arg(long, value_name = "TOKEN", requires = "keyless")]
    pub identity_token: Option<String>,
    /// Fulcio base URL (default https://fulcio.sigstore.dev, or the trust config's).
    #[arg(long, value_name = "URL", requires = "keyless")]
    pub fulcio_url: Option<String>,
    /// Rekor base URL (default https://rekor.sigstore.dev, or the trust config's).
    #[arg(long, value_name = "URL", requires = "keyless")]
    pub rekor_url: Option<String>,
    /// Refuse tokens from any other OIDC issuer (checked before anything is sent).
    #[arg(long, value_name = "URL", requires = "keyless")]
    pub oidc_issuer: Option<String>,
    /// Sigstore ClientTrustConfig JSON of a private deployment (signingConfig service URLs).
    #[arg(long, value_name = "FILE", requires = "keyless")]
    pub trust_config: Option<PathBuf>,
}

/// How to reach a registry (ignored for the local store).
#[derive(Clone, Debug, Default, Args)]
pub struct RegistryArgs {
    /// Log each registry request on stderr: method, URL (without its query), status and time;
    /// never a header or credential.
    #[arg(long, short = 'v')]
    pub verbose: bool,
    /// Use plain HTTP for a non-loopback registry (loopback registries always use HTTP).
    #[arg(long)]
    pub plain_http: bool,
    /// Registry user name (with --password-stdin); default: ~/.docker/config.json or $DOCKER_CONFIG.
    #[arg(long, value_name = "USER")]
    pub username: Option<String>,
    /// Read the registry password or token from standard input.
    #[arg(long)]
    pub password_stdin: bool,
    /// Seconds the registry may send nothing before a request fails (exit 3); default 30.
    #[arg(long, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..=86400))]
    pub timeout: Option<u64>,
    /// Seconds one metadata request (manifest, index, signature) may take in all (exit 3);
    /// the signatures of one model, listed and read, share 2.5 times this; default 120.
    #[arg(long, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..=86400))]
    pub deadline: Option<u64>,
    /// A blob download slower than this many bytes per second over --speed-time fails (exit 3);
    /// default 1024.
    #[arg(long, value_name = "BYTES", value_parser = clap::value_parser!(u64).range(1..))]
    pub speed_limit: Option<u64>,
    /// Seconds over which --speed-limit is averaged; default 30.
    #[arg(long, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..=86400))]
    pub speed_time: Option<u64>,
}

/// `push`.
#[derive(Debug, Args)]
pub struct PushArgs {
    /// Model folder or file.
    #[arg(value_name = "MODEL")]
    pub model: PathBuf,
    /// Where to push: `host[:port]/repo[:tag]`, or `repo[:tag]` for the local store.
    #[arg(value_name = "REF")]
    pub reference: String,
    /// Sign in the same step (needs --private-key or --keyless).
    #[arg(long)]
    pub sign: bool,
    /// Private key for --sign (PKCS#8 or SEC1 PEM; P-256, P-384 or P-521). `--key` is the same flag.
    #[arg(
        long,
        short = 'k',
        visible_alias = "key",
        alias = "private_key",
        value_name = "FILE",
        conflicts_with = "keyless"
    )]
    pub private_key: Option<PathBuf>,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub keyless: KeylessArgs,
    /// Environment variable holding the private key's passphrase.
    #[arg(long, value_name = "VAR")]
    pub password_env: Option<String>,
    /// Signed metadata `key=value` for --sign (repeatable; `key=@digest:PATH|REF` as in `sign`).
    #[arg(long, value_name = "KEY=VALUE")]
    pub metadata: Vec<String>,
    /// Follow symbolic links in the model folder (a Hugging Face cache snapshot): their
    /// contents are pushed.
    #[arg(long)]
    pub allow_symlinks: bool,
    /// Attach a signature made on disk before (`provenance sign MODEL`); push refuses one that
    /// does not bind exactly the files being pushed.
    #[arg(long, value_name = "FILE", conflicts_with = "sign")]
    pub signature: Option<PathBuf>,
    /// The model's name in the ModelPack config (default: the folder or file name).
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    /// Blobs uploaded at once.
    #[arg(long, default_value_t = crate::oci::DEFAULT_CONCURRENCY)]
    pub concurrency: usize,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub registry: RegistryArgs,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub common: Common,
}

/// `pull`.
#[derive(Debug, Args)]
pub struct PullArgs {
    /// What to pull: `host[:port]/repo[:tag|@sha256:...]`, `repo:tag` for the local store, or
    /// `oci:DIR[:TAG]` for an image layout folder.
    #[arg(value_name = "REF")]
    pub reference: String,
    /// Folder to create (must not exist, or be empty).
    #[arg(long = "output", short = 'o', value_name = "DIR")]
    pub dir: PathBuf,
    /// Trusted public key (repeatable; `--key` is the same flag). With --policy: key material, trusted only where the
    /// policy rule lists no trusted_signers.
    #[arg(
        long,
        short = 'p',
        visible_alias = "key",
        alias = "public_key",
        value_name = "FILE"
    )]
    pub public_key: Vec<PathBuf>,
    /// Trust policy (YAML or JSON, docs/policy.md); nothing is written unless it passes.
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub certificates: CertificateTrustArgs,
    /// Where to save the verified signature bundle (default `<DIR>.sig` beside the folder), so
    /// `provenance verify --model DIR` and `model_signing verify` work on the copy offline.
    #[arg(long, value_name = "FILE")]
    pub signature: Option<PathBuf>,
    /// Blobs downloaded at once.
    #[arg(long, default_value_t = crate::oci::DEFAULT_CONCURRENCY)]
    pub concurrency: usize,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub registry: RegistryArgs,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub common: PullCommon,
}

/// Output options of `pull` (`--output` names its folder there, so the format is `--format`).
#[derive(Clone, Debug, Args)]
pub struct PullCommon {
    /// Output format.
    #[arg(long, value_enum, default_value_t = Output::Text)]
    pub format: Output,
    /// No progress bars or notes on stderr.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

/// Report format.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum AuditOutput {
    /// A table on stdout.
    #[default]
    Text,
    /// `{"entries": [...], "summary": {...}}` on stdout.
    Json,
    /// One self-contained HTML page (a section per model, custody graph) on stdout.
    Html,
}

/// `audit`.
#[derive(Debug, Args)]
#[command(
    after_help = "Exit codes:\n  0  every entry verified\n  1  some entry is failed, revoked, unknown-signer or unsigned\n  2  bad input: unreadable path, unknown repository, bad policy, bad revocation list, bad flag\n  3  a registry or the local store cannot be read (unreachable, credentials refused, I/O)\n\nKey age (--max-key-age) is measured from the public key file's modification time."
)]
pub struct AuditArgs {
    /// Signature files (Sigstore bundles), folders scanned for them (*.sig, *.json,
    /// *.sigstore.json), model files/folders with `<model>.sig` beside them, or repositories:
    /// `host[:port]/repo` (a registry) or `repo` (the local store), every tag, or `repo:tag` for
    /// one. A path that exists on disk is read as a path.
    #[arg(value_name = "PATH_OR_REF", required = true)]
    pub paths: Vec<PathBuf>,
    /// Trusted public key (repeatable; `--key` is the same flag).
    #[arg(
        long,
        short = 'p',
        visible_alias = "key",
        alias = "public_key",
        value_name = "FILE"
    )]
    pub public_key: Vec<PathBuf>,
    /// Trust policy file (YAML or JSON, see docs/policy.md).
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
    /// Revoked key: a public key file or a hex key id (repeatable).
    #[arg(long, value_name = "KEY_OR_KEYID")]
    pub revoked: Vec<String>,
    /// File of revoked keys: lines `<key id or public key path> [RFC 3339 time]`, `#` comments.
    #[arg(long, value_name = "FILE")]
    pub revocation_list: Vec<PathBuf>,
    /// Keep only entries whose signed metadata has KEY=VALUE (repeatable: all must match), plus
    /// the models derived from them (metadata `base_model`).
    #[arg(long = "match", value_name = "KEY=VALUE")]
    pub matches: Vec<String>,
    /// Keep only models trained on this dataset: signed metadata `training_data_hash` (or any
    /// key ending in it) equal to DIGEST (`sha256:<hex>`, from `provenance digest DATASET`),
    /// plus the models derived from them (repeatable: any).
    #[arg(long, value_name = "DIGEST")]
    pub data: Vec<String>,
    /// Flag signing keys older than DAYS (by the public key file's modification time).
    #[arg(long, value_name = "DAYS")]
    pub max_key_age: Option<u64>,
    /// Verify keyless (Sigstore) bundles against this trusted_root.json instead of the embedded
    /// public-good root. Keyless bundles are verified when this is given or when --policy names
    /// `identity`/`issuer` signers; the policy decides which identities are trusted.
    #[arg(long, value_name = "FILE")]
    pub trust_root: Option<PathBuf>,
    /// No TUF refresh of the public-good trusted root.
    #[arg(long)]
    pub offline: bool,
    /// Report format: a table, one JSON document (docs/json.md), or one HTML page.
    #[arg(long, value_enum, default_value_t = AuditOutput::Text)]
    pub format: AuditOutput,
    /// Same as --format (kept for scripts written before --format).
    #[arg(long = "output", short = 'o', value_enum, hide = true)]
    pub output_alias: Option<AuditOutput>,
    /// No notes on stderr.
    #[arg(long, short = 'q')]
    pub quiet: bool,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub registry: RegistryArgs,
}
