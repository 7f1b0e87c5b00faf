"""Builds a keyless Sigstore bundle and the trusted_root.json that vouches for it, offline.

A private "Sigstore" made in the test: a Fulcio-like root and intermediate, a CT log key, a Rekor
key. The leaf certificate carries an embedded SCT (signed over the precertificate TBS), the Fulcio
issuer extensions and a SAN; the DSSE envelope is logged as a dsse 0.0.1 entry with a SET and an
RFC 6962 inclusion proof in a 5-leaf tree under a signed checkpoint. With --check, sigstore-python
(the reference verifier) must accept the bundle with that trusted root, so the fixture follows the
real protocol, not our reading of it.

usage: keyless_fixture.py OUT_DIR PAYLOAD_FILE IDENTITY ISSUER [--expired] [--check] [--intoto]
                          [--late-time] [--foreign-log-key] [--other-body]
(--intoto logs the envelope as an intoto 0.0.2 entry, as older cosign/Rekor did; sigstore-python
does not verify that kind, so it is not combined with --check). Attacks, each otherwise valid:
--late-time logs the entry 20 minutes after the 10-minute certificate expired; --foreign-log-key
signs the SET and checkpoint with a key that is not the trusted root's (same log id);
--other-body logs a body recording another payload hash and signature.
writes OUT_DIR/bundle.json, OUT_DIR/trusted_root.json
"""

import base64
import datetime
import hashlib
import json
import pathlib
import struct
import sys

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier

b64 = lambda b: base64.b64encode(b).decode()
sha256 = lambda b: hashlib.sha256(b).digest()


def spki(key):
    return key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def sign(key, msg):
    return key.sign(msg, ec.ECDSA(hashes.SHA256()))


def canonical(obj):
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


def der_len(n):
    if n < 128:
        return bytes([n])
    b = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(b)]) + b


def ca_cert(name, key, issuer_name, issuer_key, not_before, pathlen):
    return (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer_name)]))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_before + datetime.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=pathlen), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False
        )
        .sign(issuer_key, hashes.SHA256())
    )


# RFC 6962 Merkle tree helpers.
def leaf_hash(d):
    return sha256(b"\x00" + d)


def node_hash(l, r):
    return sha256(b"\x01" + l + r)


def mth(leaves):
    if len(leaves) == 1:
        return leaves[0]
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return node_hash(mth(leaves[:k]), mth(leaves[k:]))


def path(m, leaves):
    if len(leaves) == 1:
        return []
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    if m < k:
        return path(m, leaves[:k]) + [mth(leaves[k:])]
    return path(m - k, leaves[k:]) + [mth(leaves[:k])]


def main():
    out, payload_file, identity, issuer = sys.argv[1:5]
    expired = "--expired" in sys.argv
    out = pathlib.Path(out)
    payload = pathlib.Path(payload_file).read_bytes()
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    start = now - datetime.timedelta(days=2 if expired else 0, minutes=1)

    root_key = ec.generate_private_key(ec.SECP384R1())
    int_key = ec.generate_private_key(ec.SECP384R1())
    ct_key = ec.generate_private_key(ec.SECP256R1())
    rekor_key = ec.generate_private_key(ec.SECP256R1())
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    epoch = now - datetime.timedelta(days=30)
    root = ca_cert("test-fulcio-root", root_key, "test-fulcio-root", root_key, epoch, 1)
    inter = ca_cert("test-fulcio-intermediate", int_key, "test-fulcio-root", root_key, epoch, 0)

    # The leaf: first without the SCT (the precertificate TBS), then with it appended last.
    serial = x509.random_serial_number()
    issuer_der = b"\x0c" + der_len(len(issuer.encode())) + issuer.encode()
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([]))
        .issuer_name(inter.subject)
        .public_key(leaf_key.public_key())
        .serial_number(serial)
        .not_valid_before(start)
        .not_valid_after(start + datetime.timedelta(minutes=10))
        .add_extension(
            x509.KeyUsage(True, False, False, False, False, False, False, False, False),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]), critical=False)
        .add_extension(
            x509.SubjectAlternativeName([x509.RFC822Name(identity)]), critical=True
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(int_key.public_key()),
            critical=False,
        )
        .add_extension(
            x509.UnrecognizedExtension(ObjectIdentifier("1.3.6.1.4.1.57264.1.1"), issuer.encode()),
            critical=False,
        )
        .add_extension(
            x509.UnrecognizedExtension(ObjectIdentifier("1.3.6.1.4.1.57264.1.8"), issuer_der),
            critical=False,
        )
    )
    precert = builder.sign(int_key, hashes.SHA256())
    tbs = precert.tbs_certificate_bytes
    ts_ms = int((start + datetime.timedelta(seconds=5)).timestamp() * 1000)
    signed = (
        b"\x00\x00"
        + struct.pack(">Q", ts_ms)
        + b"\x00\x01"
        + sha256(spki(int_key))
        + len(tbs).to_bytes(3, "big")
        + tbs
        + b"\x00\x00"
    )
    sct_sig = sign(ct_key, signed)
    sct = (
        b"\x00"
        + sha256(spki(ct_key))
        + struct.pack(">Q", ts_ms)
        + b"\x00\x00"
        + b"\x04\x03"
        + struct.pack(">H", len(sct_sig))
        + sct_sig
    )
    sct_list = struct.pack(">H", len(sct) + 2) + struct.pack(">H", len(sct)) + sct
    octet = b"\x04" + der_len(len(sct_list)) + sct_list
    leaf = builder.add_extension(
        x509.UnrecognizedExtension(ObjectIdentifier("1.3.6.1.4.1.11129.2.4.2"), octet),
        critical=False,
    ).sign(int_key, hashes.SHA256())
    leaf_pem = leaf.public_bytes(serialization.Encoding.PEM)

    # DSSE envelope.
    ptype = b"application/vnd.in-toto+json"
    pae = b"DSSEv1 %d %s %d %s" % (len(ptype), ptype, len(payload), payload)
    sig = sign(leaf_key, pae)
    envelope = {
        "payload": b64(payload),
        "payloadType": ptype.decode(),
        "signatures": [{"sig": b64(sig)}],
    }

    # The Rekor entry, its SET, and an inclusion proof at index 2 of a 5-leaf tree.
    intoto = "--intoto" in sys.argv
    logged_payload, logged_sig, logged_envelope = payload, sig, envelope
    if "--other-body" in sys.argv:
        logged_payload = payload + b" "
        logged_sig = sign(leaf_key, b"DSSEv1 %d %s %d %s" % (len(ptype), ptype, len(logged_payload), logged_payload))
        logged_envelope = dict(envelope, payload=b64(logged_payload), signatures=[{"sig": b64(logged_sig)}])
    body = canonical(
        {
            "apiVersion": "0.0.2",
            "kind": "intoto",
            "spec": {
                "content": {
                    "envelope": {
                        "payloadType": ptype.decode(),
                        "signatures": [
                            {"publicKey": b64(leaf_pem), "sig": b64(b64(sig).encode())}
                        ],
                    },
                    "hash": {"algorithm": "sha256", "value": sha256(canonical(envelope)).hex()},
                    "payloadHash": {"algorithm": "sha256", "value": sha256(logged_payload).hex()},
                }
            },
        }
    ) if intoto else canonical(
        {
            "apiVersion": "0.0.1",
            "kind": "dsse",
            "spec": {
                "envelopeHash": {"algorithm": "sha256", "value": sha256(canonical(logged_envelope)).hex()},
                "payloadHash": {"algorithm": "sha256", "value": sha256(logged_payload).hex()},
                "signatures": [{"signature": b64(logged_sig), "verifier": b64(leaf_pem)}],
            },
        }
    )
    log_id = sha256(spki(rekor_key))
    late = datetime.timedelta(minutes=30) if "--late-time" in sys.argv else datetime.timedelta(0)
    integrated = int((start + datetime.timedelta(seconds=10) + late).timestamp())
    signing_log_key = ec.generate_private_key(ec.SECP256R1()) if "--foreign-log-key" in sys.argv else rekor_key
    log_index = 7
    set_sig = sign(
        signing_log_key,
        canonical(
            {
                "body": b64(body),
                "integratedTime": integrated,
                "logID": log_id.hex(),
                "logIndex": log_index,
            }
        ),
    )
    leaves = [leaf_hash(b"other %d" % i) for i in range(5)]
    leaves[2] = leaf_hash(body)
    root_hash = mth(leaves)
    origin = "rekor.test - 42"
    note = f"{origin}\n5\n{b64(root_hash)}\n"
    cp_sig = sign(signing_log_key, note.encode())
    checkpoint = note + "\n" + f"\u2014 rekor.test {b64(log_id[:4] + cp_sig)}\n"
    bundle = {
        "mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
        "verificationMaterial": {
            "certificate": {"rawBytes": b64(leaf.public_bytes(serialization.Encoding.DER))},
            "tlogEntries": [
                {
                    "logIndex": str(log_index),
                    "logId": {"keyId": b64(log_id)},
                    "kindVersion": {"kind": "intoto", "version": "0.0.2"}
                    if intoto
                    else {"kind": "dsse", "version": "0.0.1"},
                    "integratedTime": str(integrated),
                    "inclusionPromise": {"signedEntryTimestamp": b64(set_sig)},
                    "inclusionProof": {
                        "logIndex": "2",
                        "rootHash": b64(root_hash),
                        "treeSize": "5",
                        "hashes": [b64(h) for h in path(2, leaves)],
                        "checkpoint": {"envelope": checkpoint},
                    },
                    "canonicalizedBody": b64(body),
                }
            ],
        },
        "dsseEnvelope": envelope,
    }
    valid = {"start": (epoch).strftime("%Y-%m-%dT%H:%M:%SZ")}
    der = lambda c: b64(c.public_bytes(serialization.Encoding.DER))
    trusted_root = {
        "mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
        "tlogs": [
            {
                "baseUrl": "http://rekor.test",
                "hashAlgorithm": "SHA2_256",
                "publicKey": {
                    "rawBytes": b64(spki(rekor_key)),
                    "keyDetails": "PKIX_ECDSA_P256_SHA_256",
                    "validFor": valid,
                },
                "logId": {"keyId": b64(log_id)},
            }
        ],
        "certificateAuthorities": [
            {
                "subject": {"organization": "test", "commonName": "test-fulcio"},
                "uri": "http://fulcio.test",
                "certChain": {"certificates": [{"rawBytes": der(inter)}, {"rawBytes": der(root)}]},
                "validFor": valid,
            }
        ],
        "ctlogs": [
            {
                "baseUrl": "http://ctfe.test",
                "hashAlgorithm": "SHA2_256",
                "publicKey": {
                    "rawBytes": b64(spki(ct_key)),
                    "keyDetails": "PKIX_ECDSA_P256_SHA_256",
                    "validFor": valid,
                },
                "logId": {"keyId": b64(sha256(spki(ct_key)))},
            }
        ],
        "timestampAuthorities": [],
    }
    (out / "bundle.json").write_text(json.dumps(bundle, indent=2))
    (out / "trusted_root.json").write_text(json.dumps(trusted_root, indent=2))

    if "--check" in sys.argv:
        from sigstore.models import Bundle, TrustedRoot
        from sigstore.verify import Verifier, policy

        verifier = Verifier(trusted_root=TrustedRoot.from_file(str(out / "trusted_root.json")))
        ptype, got = verifier.verify_dsse(
            Bundle.from_json((out / "bundle.json").read_text()),
            policy.Identity(identity=identity, issuer=issuer),
        )
        assert got == payload
        print("sigstore-python: OK")


if __name__ == "__main__":
    main()
