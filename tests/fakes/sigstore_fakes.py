#!/usr/bin/env python3
"""Local Fulcio and Rekor fakes for the keyless signing tests.

Both speak the real HTTP protocols (Fulcio API v2 `signingCert`, Rekor API v1 `log/entries` with
`dsse` 0.0.1 entries) with real cryptography, so the bundles signed against them are checked by
the real sigstore-python verifier. What they fake:

- Fulcio does NOT verify the identity token's signature (there is no OIDC provider to fetch keys
  from); it does check that the token is a JWT with `iss`, `sub`, `exp` in the future and audience
  `sigstore`, and it checks the proof of possession (a CSR's signature, or a signature over the
  token's subject). It issues a 10-minute leaf from a test root + intermediate with the SAN and
  issuer extensions from the token's claims and an embedded SCT signed by a fake CT log key.
- Rekor keeps an RFC 6962 Merkle tree in memory; it verifies the envelope's signature against the
  posted certificate, and returns the entry with a signed checkpoint, an inclusion proof and a
  signed entry timestamp (SET).

Usage: sigstore_fakes.py DIR. Writes DIR/trust_config.json (sigstore's ClientTrustConfig: the
signing config names these fakes, the trusted root names their CA, CT log and Rekor keys) and
DIR/trusted_root.json, then prints one JSON line {"fulcio": URL, "rekor": URL, ...} on stdout and
serves until killed. Needs only `cryptography` (in the tests' venv).
"""

import base64
import datetime
import hashlib
import json
import os
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier

OID_ISSUER_V1 = ObjectIdentifier("1.3.6.1.4.1.57264.1.1")
OID_ISSUER_V2 = ObjectIdentifier("1.3.6.1.4.1.57264.1.8")
OID_SCT_LIST = ObjectIdentifier("1.3.6.1.4.1.11129.2.4.2")
MAX_BODY = 1 << 20


def b64(b):
    return base64.b64encode(b).decode()


def spki_der(key):
    return key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def canonical(obj):
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


def der_len(n):
    if n < 0x80:
        return bytes([n])
    out = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(out)]) + out


def der_utf8(s):
    b = s.encode()
    return b"\x0c" + der_len(len(b)) + b


def der_octets(b):
    return b"\x04" + der_len(len(b)) + b


def now():
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)


class CA:
    """A test root, an intermediate, and a CT log key; issues Fulcio-shaped leaves."""

    def __init__(self):
        self.root_key = ec.generate_private_key(ec.SECP384R1())
        self.inter_key = ec.generate_private_key(ec.SECP384R1())
        self.ct_key = ec.generate_private_key(ec.SECP256R1())
        start = now() - datetime.timedelta(days=1)
        end = start + datetime.timedelta(days=365)
        root_name = x509.Name(
            [
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "provenance-test"),
                x509.NameAttribute(NameOID.COMMON_NAME, "fake-fulcio-root"),
            ]
        )
        inter_name = x509.Name(
            [
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "provenance-test"),
                x509.NameAttribute(NameOID.COMMON_NAME, "fake-fulcio-intermediate"),
            ]
        )
        ca_usage = x509.KeyUsage(
            digital_signature=False, content_commitment=False, key_encipherment=False,
            data_encipherment=False, key_agreement=False, key_cert_sign=True,
            crl_sign=True, encipher_only=False, decipher_only=False,
        )
        rb = (
            x509.CertificateBuilder()
            .subject_name(root_name)
            .issuer_name(root_name)
            .public_key(self.root_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(end)
            .add_extension(x509.BasicConstraints(ca=True, path_length=1), critical=True)
            .add_extension(ca_usage, critical=True)
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(self.root_key.public_key()),
                critical=False,
            )
        )
        self.root = rb.sign(self.root_key, hashes.SHA384())
        ib = (
            x509.CertificateBuilder()
            .subject_name(inter_name)
            .issuer_name(root_name)
            .public_key(self.inter_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(end)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(ca_usage, critical=True)
            .add_extension(
                x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]), critical=False
            )
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(self.inter_key.public_key()),
                critical=False,
            )
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.root_key.public_key()),
                critical=False,
            )
        )
        self.inter = ib.sign(self.root_key, hashes.SHA384())
        self.ct_log_id = hashlib.sha256(spki_der(self.ct_key)).digest()

    def issue(self, public_key, identity, issuer):
        """A 10-minute leaf for `public_key` with an embedded SCT (RFC 6962 precertificate flow)."""
        start = now()
        if "@" in identity and "://" not in identity:
            san = x509.RFC822Name(identity)
        else:
            san = x509.UniformResourceIdentifier(identity)
        serial = x509.random_serial_number()

        def builder():
            return (
                x509.CertificateBuilder()
                .subject_name(x509.Name([]))
                .issuer_name(self.inter.subject)
                .public_key(public_key)
                .serial_number(serial)
                .not_valid_before(start)
                .not_valid_after(start + datetime.timedelta(minutes=10))
                .add_extension(
                    x509.KeyUsage(
                        digital_signature=True, content_commitment=False,
                        key_encipherment=False, data_encipherment=False, key_agreement=False,
                        key_cert_sign=False, crl_sign=False, encipher_only=False,
                        decipher_only=False,
                    ),
                    critical=True,
                )
                .add_extension(
                    x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]), critical=False
                )
                .add_extension(
                    x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False
                )
                .add_extension(
                    x509.AuthorityKeyIdentifier.from_issuer_public_key(
                        self.inter_key.public_key()
                    ),
                    critical=False,
                )
                .add_extension(x509.SubjectAlternativeName([san]), critical=True)
                .add_extension(
                    x509.UnrecognizedExtension(OID_ISSUER_V1, issuer.encode()), critical=False
                )
                .add_extension(
                    x509.UnrecognizedExtension(OID_ISSUER_V2, der_utf8(issuer)), critical=False
                )
            )

        # The precertificate TBS is the final TBS without the SCT list: sign a throwaway cert
        # with the same fields to get it, then sign the SCT over it.
        tbs = builder().sign(self.inter_key, hashes.SHA384()).tbs_certificate_bytes
        ts_ms = int(time.time() * 1000)
        issuer_key_hash = hashlib.sha256(spki_der(self.inter_key)).digest()
        signed = (
            struct.pack(">BBQH", 0, 0, ts_ms, 1)
            + issuer_key_hash
            + len(tbs).to_bytes(3, "big")
            + tbs
            + struct.pack(">H", 0)
        )
        sig = self.ct_key.sign(signed, ec.ECDSA(hashes.SHA256()))
        sct = (
            bytes([0])
            + self.ct_log_id
            + struct.pack(">QH", ts_ms, 0)
            + bytes([4, 3])  # sha256, ecdsa
            + struct.pack(">H", len(sig))
            + sig
        )
        sct_list = struct.pack(">H", len(sct) + 2) + struct.pack(">H", len(sct)) + sct
        leaf = (
            builder()
            .add_extension(
                x509.UnrecognizedExtension(OID_SCT_LIST, der_octets(sct_list)), critical=False
            )
            .sign(self.inter_key, hashes.SHA384())
        )
        assert leaf.tbs_precertificate_bytes == tbs
        return leaf


class Log:
    """An RFC 6962 Merkle tree with a P-256 log key: signed checkpoints, inclusion proofs, SETs."""

    def __init__(self, origin):
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.log_id = hashlib.sha256(spki_der(self.key)).digest()
        self.origin = origin
        self.leaves = []
        self.lock = threading.Lock()

    @staticmethod
    def leaf_hash(data):
        return hashlib.sha256(b"\x00" + data).digest()

    @staticmethod
    def node(left, right):
        return hashlib.sha256(b"\x01" + left + right).digest()

    def root(self, leaves):
        if len(leaves) == 1:
            return leaves[0]
        k = 1
        while k * 2 < len(leaves):
            k *= 2
        return self.node(self.root(leaves[:k]), self.root(leaves[k:]))

    def path(self, m, leaves):
        """RFC 6962 2.1.1 PATH(m, D[n]), leaf to root."""
        if len(leaves) <= 1:
            return []
        k = 1
        while k * 2 < len(leaves):
            k *= 2
        if m < k:
            return self.path(m, leaves[:k]) + [self.root(leaves[k:])]
        return self.path(m - k, leaves[k:]) + [self.root(leaves[:k])]

    def sign(self, data):
        return self.key.sign(data, ec.ECDSA(hashes.SHA256()))

    def append(self, body):
        with self.lock:
            index = len(self.leaves)
            self.leaves.append(self.leaf_hash(body))
            leaves = list(self.leaves)
        integrated = int(time.time())
        size = len(leaves)
        root = self.root(leaves)
        note = f"{self.origin}\n{size}\n{b64(root)}\n"
        note_sig = self.log_id[:4] + self.sign(note.encode())
        checkpoint = f"{note}\n\u2014 {self.origin.split(' ')[0]} {b64(note_sig)}\n"
        set_payload = canonical(
            {
                "body": b64(body),
                "integratedTime": integrated,
                "logID": self.log_id.hex(),
                "logIndex": index,
            }
        )
        return {
            "body": b64(body),
            "integratedTime": integrated,
            "logID": self.log_id.hex(),
            "logIndex": index,
            "verification": {
                "inclusionProof": {
                    "checkpoint": checkpoint,
                    "hashes": [h.hex() for h in self.path(index, leaves)],
                    "logIndex": index,
                    "rootHash": root.hex(),
                    "treeSize": size,
                },
                "signedEntryTimestamp": b64(self.sign(set_payload)),
            },
        }


class ClientError(Exception):
    def __init__(self, status, message):
        super().__init__(message)
        self.status = status
        self.message = message


def jwt_claims(header):
    if not header or not header.startswith("Bearer "):
        raise ClientError(401, "missing bearer token")
    parts = header[len("Bearer "):].split(".")
    if len(parts) != 3:
        raise ClientError(401, "the token is not a JWT")
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except ValueError:
        raise ClientError(401, "the token's claims are not JSON")
    for c in ("iss", "sub", "exp"):
        if c not in claims:
            raise ClientError(401, f"the token has no {c} claim")
    if "untrusted" in str(claims["iss"]):
        # Real Fulcio only accepts the issuers it is configured with.
        raise ClientError(401, f"unsupported issuer {claims['iss']}")
    if claims["exp"] < time.time():
        raise ClientError(401, "the token has expired")
    aud = claims.get("aud")
    if aud != "sigstore" and not (isinstance(aud, list) and "sigstore" in aud):
        raise ClientError(401, "the token's audience is not sigstore")
    return claims


GHA_REQUEST_TOKEN = "gha-request-token"


def unsigned_jwt(claims):
    """A JWT with a dummy signature: nothing here checks token signatures."""
    enc = lambda d: base64.urlsafe_b64encode(json.dumps(d).encode()).decode().rstrip("=")
    return enc({"alg": "RS256", "typ": "JWT"}) + "." + enc(claims) + ".c2lnbmF0dXJl"


def identity_of(claims):
    """The proof-of-possession challenge, as Fulcio: the email where there is one, else `sub`."""
    return claims.get("email") or claims["sub"]


def san_of(claims):
    """What the certificate names, as Fulcio: GitHub Actions tokens certify the workflow URL."""
    if claims["iss"] == "https://token.actions.githubusercontent.com" and "job_workflow_ref" in claims:
        return "https://github.com/" + claims["job_workflow_ref"]
    return identity_of(claims)


class Handler(BaseHTTPRequestHandler):
    server_version = "sigstore-fake"

    def log_message(self, fmt, *args):  # quiet
        if os.environ.get("FAKES_VERBOSE"):
            super().log_message(fmt, *args)

    def reply(self, status, obj):
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def read_json(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n > MAX_BODY:
            raise ClientError(413, "request too large")
        try:
            return json.loads(self.rfile.read(n))
        except ValueError:
            raise ClientError(400, "request body is not JSON")

    def do_GET(self):
        if self.path == "/oidc/.well-known/openid-configuration":
            # model_signing's sigstore signer fetches the signing config's OIDC discovery
            # document even when it is handed a token; nothing here issues tokens.
            base = f"http://127.0.0.1:{self.server.server_address[1]}/oidc"
            self.reply(200, {"issuer": base, "authorization_endpoint": base + "/auth",
                             "token_endpoint": base + "/token"})
            return
        if self.path.startswith("/gha/token"):
            # The GitHub Actions OIDC token service, as runners see it through
            # ACTIONS_ID_TOKEN_REQUEST_URL/_TOKEN; the audience comes from the query.
            if self.headers.get("Authorization") != "Bearer " + GHA_REQUEST_TOKEN:
                self.reply(401, {"message": "bad request token"})
                return
            query = dict(p.split("=", 1) for p in self.path.partition("?")[2].split("&") if "=" in p)
            claims = {
                "iss": "https://token.actions.githubusercontent.com",
                "sub": "repo:acme/models:ref:refs/heads/main",
                "job_workflow_ref": "acme/models/.github/workflows/sign.yml@refs/heads/main",
                "aud": query.get("audience", ""),
                "iat": int(time.time()),
                "exp": int(time.time()) + 300,
            }
            self.reply(200, {"value": unsigned_jwt(claims)})
            return
        if self.path.rstrip("/") == "/api/v1/log":
            log = self.server.log
            with log.lock:
                size = len(log.leaves)
                root = log.root(log.leaves) if size else hashlib.sha256(b"").digest()
            self.reply(200, {"treeSize": size, "rootHash": root.hex(), "treeID": "1"})
            return
        self.reply(404, {"message": "not found"})

    def do_POST(self):
        try:
            if self.path == "/api/v2/signingCert" and self.server.role == "fulcio":
                self.reply(200, self.fulcio())
            elif self.path == "/api/v1/log/entries" and self.server.role == "rekor":
                entry = self.rekor()
                self.reply(201, {hashlib.sha256(base64.b64decode(entry["body"])).hexdigest(): entry})
            else:
                self.reply(404, {"message": "not found"})
        except ClientError as e:
            self.reply(e.status, {"code": e.status, "message": e.message})

    def fulcio(self):
        claims = jwt_claims(self.headers.get("Authorization"))
        req = self.read_json()
        identity = identity_of(claims)
        if "certificateSigningRequest" in req:  # sigstore-python
            try:
                csr = x509.load_pem_x509_csr(base64.b64decode(req["certificateSigningRequest"]))
            except ValueError:
                raise ClientError(400, "malformed CSR")
            if not csr.is_signature_valid:
                raise ClientError(400, "the CSR signature does not verify")
            public_key = csr.public_key()
        elif "publicKeyRequest" in req:  # cosign, sigstore-go, provenance
            pkr = req["publicKeyRequest"]
            try:
                public_key = serialization.load_pem_public_key(pkr["publicKey"]["content"].encode())
                proof = base64.b64decode(pkr["proofOfPossession"])
                public_key.verify(proof, identity.encode(), ec.ECDSA(hashes.SHA256()))
            except (KeyError, ValueError, TypeError):
                raise ClientError(400, "malformed publicKeyRequest")
            except InvalidSignature:
                raise ClientError(400, "the proof of possession does not verify")
        else:
            raise ClientError(400, "no certificateSigningRequest or publicKeyRequest")
        leaf = self.server.ca.issue(public_key, san_of(claims), claims["iss"])
        pems = [
            c.public_bytes(serialization.Encoding.PEM).decode()
            for c in (leaf, self.server.ca.inter, self.server.ca.root)
        ]
        return {"signedCertificateEmbeddedSct": {"chain": {"certificates": pems}}}

    def rekor(self):
        req = self.read_json()
        if req.get("kind") != "dsse" or req.get("apiVersion") != "0.0.1":
            raise ClientError(400, "this fake accepts dsse 0.0.1 entries only")
        try:
            content = req["spec"]["proposedContent"]
            envelope_text = content["envelope"]
            env = json.loads(envelope_text)
            verifiers = content["verifiers"]
            cert = x509.load_pem_x509_certificate(base64.b64decode(verifiers[0]))
            payload = base64.b64decode(env["payload"])
            ptype = env["payloadType"].encode()
            pae = b"DSSEv1 %d %s %d %s" % (len(ptype), ptype, len(payload), payload)
            sigs = []
            for s in env["signatures"]:
                raw = base64.b64decode(s["sig"])
                cert.public_key().verify(raw, pae, ec.ECDSA(hashes.SHA256()))
                sigs.append({"signature": b64(raw), "verifier": verifiers[0]})
        except (KeyError, ValueError, TypeError, IndexError):
            raise ClientError(400, "malformed dsse entry")
        except InvalidSignature:
            raise ClientError(400, "the envelope signature does not verify with the verifier")
        body = canonical(
            {
                "apiVersion": "0.0.1",
                "kind": "dsse",
                "spec": {
                    "envelopeHash": {
                        "algorithm": "sha256",
                        "value": hashlib.sha256(envelope_text.encode()).hexdigest(),
                    },
                    "payloadHash": {
                        "algorithm": "sha256",
                        "value": hashlib.sha256(payload).hexdigest(),
                    },
                    "signatures": sigs,
                },
            }
        )
        return self.server.log.append(body)


def serve(role, ca, log):
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    srv.role, srv.ca, srv.log = role, ca, log
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv, f"http://127.0.0.1:{srv.server_address[1]}"


def main():
    out_dir = sys.argv[1]
    ca = CA()
    log = Log("rekor.fake.local - 1")
    _, fulcio_url = serve("fulcio", ca, None)
    _, rekor_url = serve("rekor", ca, log)
    start = (now() - datetime.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")

    def key_entry(key, url, log_id):
        return {
            "baseUrl": url,
            "hashAlgorithm": "SHA2_256",
            "publicKey": {
                "rawBytes": b64(spki_der(key)),
                "keyDetails": "PKIX_ECDSA_P256_SHA_256",
                "validFor": {"start": start},
            },
            "logId": {"keyId": b64(log_id)},
        }

    trusted_root = {
        "mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
        "tlogs": [key_entry(log.key, rekor_url, log.log_id)],
        "certificateAuthorities": [
            {
                "subject": {"organization": "provenance-test", "commonName": "fake-fulcio"},
                "uri": fulcio_url,
                "certChain": {
                    "certificates": [
                        {"rawBytes": b64(c.public_bytes(serialization.Encoding.DER))}
                        for c in (ca.inter, ca.root)
                    ]
                },
                "validFor": {"start": start},
            }
        ],
        "ctlogs": [key_entry(ca.ct_key, fulcio_url + "/ct", ca.ct_log_id)],
        "timestampAuthorities": [],
    }

    def service(url):
        return {"url": url, "majorApiVersion": 1, "validFor": {"start": start}, "operator": "provenance-test"}

    signing_config = {
        "mediaType": "application/vnd.dev.sigstore.signingconfig.v0.2+json",
        "caUrls": [service(fulcio_url)],
        "oidcUrls": [service(fulcio_url + "/oidc")],
        "rekorTlogUrls": [service(rekor_url)],
        "tsaUrls": [],
        "rekorTlogConfig": {"selector": "ANY"},
        "tsaConfig": {"selector": "ANY"},
    }
    trust_config = {
        "mediaType": "application/vnd.dev.sigstore.clienttrustconfig.v0.1+json",
        "trustedRoot": trusted_root,
        "signingConfig": signing_config,
    }
    paths = {}
    for name, doc in (("trusted_root.json", trusted_root), ("trust_config.json", trust_config)):
        p = os.path.join(out_dir, name)
        with open(p + ".tmp", "w") as f:
            json.dump(doc, f, indent=2)
        os.replace(p + ".tmp", p)
        paths[name] = p
    print(
        json.dumps(
            {
                "fulcio": fulcio_url,
                "rekor": rekor_url,
                "trust_config": paths["trust_config.json"],
                "trusted_root": paths["trusted_root.json"],
                "gha_token_url": fulcio_url + "/gha/token?api-version=2.0",
                "gha_request_token": GHA_REQUEST_TOKEN,
            }
        ),
        flush=True,
    )
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
