//! The public key as the record keeps it ([`mfa_kit::record::SecurityKey::public_key`]):
//! a compact JSON object of this crate's own, from which a webauthn-rs `Credential` is
//! rebuilt for every authentication. See the crate documentation for the format.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use mfa_kit::record::SecurityKey;
use serde::{Deserialize, Serialize};
use webauthn_rs_core::proto::{
    AttestationFormat, AttestationMetadata, AuthenticatorTransport, COSEAlgorithm, COSEEC2Key, COSEKey,
    COSEKeyType, COSEOKPKey, COSERSAKey, Credential, ECDSACurve, EDDSACurve, ParsedAttestation,
    ParsedAttestationData, RegisteredExtensions, UserVerificationPolicy,
};

/// The version of the encoding this crate writes.
const VERSION: u8 = 1;

/// What the record keeps of a credential beside its id, counter and flags.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct StoredKey {
    /// The encoding's version.
    v: u8,
    /// The COSE algorithm of the key (-7 ES256, -35 ES384, -257 RS256, ...).
    alg: i32,
    /// The key itself, tagged by its COSE key type.
    #[serde(flatten)]
    key: StoredCoseKey,
    /// The user-verification policy the key was registered under: an authentication
    /// enforces it (a key registered under `required` must always verify the user).
    uv: UserVerificationPolicy,
    /// The attestation statement's format at registration (informational).
    fmt: AttestationFormat,
    /// The transports the browser reported (hints for the browser, not security).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    transports: Vec<AuthenticatorTransport>,
}

/// A COSE public key in JOSE's names, binary values in unpadded base64url.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "kty")]
enum StoredCoseKey {
    /// An elliptic-curve key (ECDSA).
    #[serde(rename = "EC2")]
    Ec2 { crv: EcCurve, x: String, y: String },
    /// An octet key pair (EdDSA).
    #[serde(rename = "OKP")]
    Okp { crv: OkpCurve, x: String },
    /// An RSA key.
    #[serde(rename = "RSA")]
    Rsa { n: String, e: String },
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
enum EcCurve {
    #[serde(rename = "P-256")]
    P256,
    #[serde(rename = "P-384")]
    P384,
    #[serde(rename = "P-521")]
    P521,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
enum OkpCurve {
    Ed25519,
    Ed448,
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn unb64(text: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(text).ok()
}

/// The record's encoding of a credential webauthn-rs just registered.
pub(crate) fn encode(credential: &Credential) -> Option<String> {
    let key = match &credential.cred.key {
        COSEKeyType::EC_EC2(ec) => StoredCoseKey::Ec2 {
            crv: match ec.curve {
                ECDSACurve::SECP256R1 => EcCurve::P256,
                ECDSACurve::SECP384R1 => EcCurve::P384,
                ECDSACurve::SECP521R1 => EcCurve::P521,
            },
            x: b64(&ec.x),
            y: b64(&ec.y),
        },
        COSEKeyType::EC_OKP(okp) => StoredCoseKey::Okp {
            crv: match okp.curve {
                EDDSACurve::ED25519 => OkpCurve::Ed25519,
                EDDSACurve::ED448 => OkpCurve::Ed448,
            },
            x: b64(&okp.x),
        },
        COSEKeyType::RSA(rsa) => StoredCoseKey::Rsa { n: b64(&rsa.n), e: b64(&rsa.e) },
    };
    let stored = StoredKey {
        v: VERSION,
        alg: credential.cred.type_ as i32,
        key,
        uv: credential.registration_policy,
        fmt: credential.attestation_format.clone(),
        transports: credential
            .transports
            .iter()
            .flatten()
            .filter(|t| **t != AuthenticatorTransport::Unknown)
            .cloned()
            .collect(),
    };
    serde_json::to_string(&stored).ok()
}

/// Why a stored key cannot be used (never the key's bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Unreadable;

/// The webauthn-rs credential to check an assertion of `key` with: its public key and
/// registration policy from the record's encoding, its flags from the record, and a
/// counter of 0 so that webauthn-rs never judges the signature counter (the record's
/// rules do).
pub(crate) fn credential(key: &SecurityKey) -> Result<Credential, Unreadable> {
    let stored: StoredKey = serde_json::from_str(key.public_key()).map_err(|_| Unreadable)?;
    if stored.v != VERSION {
        return Err(Unreadable);
    }
    let alg = COSEAlgorithm::try_from(i128::from(stored.alg)).map_err(|()| Unreadable)?;
    let key_type = match stored.key {
        StoredCoseKey::Ec2 { crv, x, y } => {
            let (curve, size) = match crv {
                EcCurve::P256 => (ECDSACurve::SECP256R1, 32),
                EcCurve::P384 => (ECDSACurve::SECP384R1, 48),
                EcCurve::P521 => (ECDSACurve::SECP521R1, 66),
            };
            let (x, y) = (unb64(&x).ok_or(Unreadable)?, unb64(&y).ok_or(Unreadable)?);
            if x.len() != size || y.len() != size {
                return Err(Unreadable);
            }
            COSEKeyType::EC_EC2(COSEEC2Key { curve, x, y })
        }
        StoredCoseKey::Okp { crv, x } => {
            let (curve, size) = match crv {
                OkpCurve::Ed25519 => (EDDSACurve::ED25519, 32),
                OkpCurve::Ed448 => (EDDSACurve::ED448, 57),
            };
            let x = unb64(&x).ok_or(Unreadable)?;
            if x.len() != size {
                return Err(Unreadable);
            }
            COSEKeyType::EC_OKP(COSEOKPKey { curve, x })
        }
        StoredCoseKey::Rsa { n, e } => {
            let n = unb64(&n).ok_or(Unreadable)?;
            let e: [u8; 3] = unb64(&e).and_then(|e| e.try_into().ok()).ok_or(Unreadable)?;
            if n.is_empty() {
                return Err(Unreadable);
            }
            COSEKeyType::RSA(COSERSAKey { n, e })
        }
    };
    Ok(Credential {
        cred_id: key.credential_id().as_bytes().to_vec(),
        cred: COSEKey { type_: alg, key: key_type },
        // Never judged by webauthn-rs: with 0 here, any counter the authenticator
        // presents passes its check, and the record's rules judge it.
        counter: 0,
        transports: (!stored.transports.is_empty()).then_some(stored.transports),
        user_verified: key.user_verified(),
        backup_eligible: key.backup_eligible(),
        backup_state: key.backup_state(),
        registration_policy: stored.uv,
        extensions: RegisteredExtensions::none(),
        attestation: ParsedAttestation {
            data: ParsedAttestationData::None,
            metadata: AttestationMetadata::None,
        },
        attestation_format: stored.fmt,
    })
}
