//! OMS interop helpers: the per-version model_signing venvs (created by scripts/test under
//! target/venvs/ms-X.Y.Z), openssl keys on every curve, and a verifier built from the library's
//! parts (bundle, DSSE, keys, statement, model), so key bundles on every curve are checked the
//! way the verify pipeline is to check them.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)]

use std::path::{Path, PathBuf};
use std::process::Command;

use provenance::formats::bundle::Bundle;
use provenance::formats::dsse::SignedForm;
use provenance::formats::statement::Statement;
use provenance::keys;
use provenance::model;

/// The model_signing releases with a command line (0.1.x and 0.2.0 have none).
pub const CLI_VERSIONS: [&str; 6] = ["0.3.0", "0.3.1", "1.0.0", "1.0.1", "1.1.0", "1.1.1"];

/// Folder holding one venv per model_signing release.
pub fn venvs_dir() -> PathBuf {
    std::env::var_os("PROVENANCE_MS_VENVS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target/venvs"))
}

/// The Python of the venv for `version`. Tests fail, never skip, without it.
pub fn ms_python(version: &str) -> PathBuf {
    let py = venvs_dir().join(format!("ms-{version}")).join("bin/python");
    assert!(
        py.exists(),
        "{} not found: run scripts/test (it creates one venv per model_signing release)",
        py.display()
    );
    py
}

/// Runs model_signing `version`'s command line. Releases 0.3.1 to 1.0.1 build a Sigstore
/// production signing context (a TUF refresh over the network) even to sign with a key; the
/// shim stubs those two constructors, unused by the key method, so they run offline.
pub fn ms(version: &str, cwd: &Path, args: &[&str]) -> (bool, String) {
    const SHIM: &str = "import sys\n\
try:\n    import sigstore.sign as s\n    s.SigningContext.production = classmethod(lambda cls: None)\n\
except Exception:\n    pass\n\
try:\n    import sigstore.oidc as o\n    o.Issuer.production = classmethod(lambda cls: None)\n\
except Exception:\n    pass\n\
from model_signing._cli import main\n\
sys.argv[0] = 'model_signing'\n\
main()\n";
    let out = Command::new(ms_python(version))
        .arg("-c")
        .arg(SHIM)
        .args(args)
        .current_dir(cwd)
        .output()
        .unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// openssl curve names of the three OMS curves.
pub const OPENSSL_CURVES: [&str; 3] = ["prime256v1", "secp384r1", "secp521r1"];

/// Makes `<name>.pem` (as `openssl ecparam -genkey` writes it: EC PARAMETERS + SEC1 key) and
/// `<name>.pub` (SPKI) in `dir`.
pub fn openssl_key(dir: &Path, name: &str, curve: &str) {
    let pem = dir.join(format!("{name}.pem"));
    let public = dir.join(format!("{name}.pub"));
    let run = |args: &[&str]| {
        let out = Command::new("openssl").args(args).output().unwrap();
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    run(&[
        "ecparam",
        "-genkey",
        "-name",
        curve,
        "-out",
        pem.to_str().unwrap(),
    ]);
    run(&[
        "ec",
        "-in",
        pem.to_str().unwrap(),
        "-pubout",
        "-out",
        public.to_str().unwrap(),
    ]);
}

/// What a successful library verification found.
#[derive(Debug)]
pub struct Verified {
    pub statement: Statement,
    pub form: SignedForm,
    pub key_id: String,
    pub comparison: model::Comparison,
}

/// Verifies a key-signed model on disk with the library's parts: bundle → DSSE signature with
/// the trusted key (any curve) → statement → model listed under the statement's own
/// serialization (as model_signing verify does) → digests compared.
pub fn verify_key_bundle(
    model_path: &Path,
    signature: &Path,
    public_key: &Path,
) -> Result<Verified, String> {
    let bundle = Bundle::read(signature).map_err(|e| format!("bundle: {e}"))?;
    let key = keys::load_public_key(public_key).map_err(|e| format!("key: {e}"))?;
    let form = bundle
        .dsse_envelope
        .verify_with_key(&key)
        .map_err(|e| format!("envelope: {e}"))?
        .ok_or_else(|| "signature: does not verify with the trusted key".to_string())?;
    let payload = bundle
        .dsse_envelope
        .payload_bytes()
        .map_err(|e| format!("payload: {e}"))?;
    let statement = Statement::parse(&payload).map_err(|e| format!("statement: {e}"))?;
    let opts = model::Options {
        ignore_paths: statement
            .serialization
            .ignore_paths
            .iter()
            .map(PathBuf::from)
            .collect(),
        ignore_git: true,
        allow_symlinks: statement.serialization.allow_symlinks,
        signature_path: Some(signature.to_owned()),
    };
    let listing = model::list(model_path, &opts).map_err(|e| format!("model: {e}"))?;
    let actual = model::resources(&listing, &statement.serialization.method, &|_| {})
        .map_err(|e| format!("model: {e}"))?;
    let comparison = model::compare(&statement.resources, &actual);
    if !comparison.matches(false) {
        return Err(format!("model: {:?}", comparison.problems(false)));
    }
    Ok(Verified {
        statement,
        form,
        key_id: key.id().to_owned(),
        comparison,
    })
}

/// Makes a test PKI in `dir` with openssl: `root` (P-384, self-signed CA), `inter` (P-384 CA
/// issued by root) and two leaves issued by `inter`: `leaf` (P-256, CA:FALSE) and `caleaf`
/// (P-384, CA:TRUE with digitalSignature and codeSigning, as model_signing's test PKI).
pub fn openssl_pki(dir: &Path) {
    let run = |args: &[&str]| {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    run(&[
        "req",
        "-x509",
        "-new",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-384",
        "-nodes",
        "-keyout",
        "root.key",
        "-out",
        "root.pem",
        "-subj",
        "/CN=root",
        "-days",
        "30",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
    ]);
    let issue = |name: &str, curve: &str, issuer: &str, exts: &str| {
        std::fs::write(dir.join(format!("{name}.ext")), exts).unwrap();
        run(&[
            "req",
            "-new",
            "-newkey",
            "ec",
            "-pkeyopt",
            &format!("ec_paramgen_curve:{curve}"),
            "-nodes",
            "-keyout",
            &format!("{name}.key"),
            "-out",
            &format!("{name}.csr"),
            "-subj",
            &format!("/CN={name}"),
        ]);
        run(&[
            "x509",
            "-req",
            "-in",
            &format!("{name}.csr"),
            "-CA",
            &format!("{issuer}.pem"),
            "-CAkey",
            &format!("{issuer}.key"),
            "-set_serial",
            "9",
            "-days",
            "10",
            "-extfile",
            &format!("{name}.ext"),
            "-out",
            &format!("{name}.pem"),
        ]);
    };
    issue(
        "inter",
        "P-384",
        "root",
        "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign\n",
    );
    issue(
        "leaf",
        "P-256",
        "inter",
        "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=codeSigning\n",
    );
    issue(
        "caleaf",
        "P-384",
        "inter",
        "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,digitalSignature,keyCertSign\nextendedKeyUsage=codeSigning\n",
    );
}

/// Verifies a certificate-method bundle with the library's parts: chain to `root_pem` at the
/// current time (verify::x509::verify_pki_chain), DSSE signature by the leaf's key, statement,
/// model.
pub fn verify_certificate_bundle(
    model_path: &Path,
    signature: &Path,
    root_pem: &Path,
) -> Result<provenance::verify::x509::PkiPath, String> {
    use provenance::formats::x509::Certificate;
    use provenance::verify::x509::verify_pki_chain;
    let bundle = Bundle::read(signature).map_err(|e| format!("bundle: {e}"))?;
    let chain = bundle
        .verification_material
        .x509_certificate_chain
        .as_ref()
        .ok_or("bundle: no x509CertificateChain")?;
    let certs = chain
        .certificates
        .iter()
        .map(|c| Certificate::from_base64(&c.raw_bytes, "bundle"))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| e.to_string())?;
    let (leaf, rest) = certs.split_first().ok_or("bundle: empty chain")?;
    let roots: Vec<Vec<u8>> = Certificate::read_pem_file(root_pem)
        .map_err(|e| e.to_string())?
        .iter()
        .map(|c| c.der().to_vec())
        .collect();
    let extra: Vec<Vec<u8>> = rest.iter().map(|c| c.der().to_vec()).collect();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let path = verify_pki_chain(leaf, &roots, &extra, now).map_err(|e| format!("chain: {e}"))?;
    let key = keys::PublicKey::from_spki_der(&leaf.spki_der()).map_err(|e| e.to_string())?;
    bundle
        .dsse_envelope
        .verify_with_key(&key)
        .map_err(|e| format!("envelope: {e}"))?
        .ok_or("signature: does not verify with the leaf's key")?;
    let payload = bundle
        .dsse_envelope
        .payload_bytes()
        .map_err(|e| e.to_string())?;
    let statement = Statement::parse(&payload).map_err(|e| format!("statement: {e}"))?;
    let opts = model::Options {
        ignore_paths: statement
            .serialization
            .ignore_paths
            .iter()
            .map(PathBuf::from)
            .collect(),
        ignore_git: true,
        allow_symlinks: statement.serialization.allow_symlinks,
        signature_path: Some(signature.to_owned()),
    };
    let listing = model::list(model_path, &opts).map_err(|e| format!("model: {e}"))?;
    let actual = model::resources(&listing, &statement.serialization.method, &|_| {})
        .map_err(|e| format!("model: {e}"))?;
    let c = model::compare(&statement.resources, &actual);
    if !c.matches(false) {
        return Err(format!("model: {:?}", c.problems(false)));
    }
    Ok(path)
}
