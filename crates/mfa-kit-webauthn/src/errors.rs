//! What webauthn-rs's refusal of a browser response means to mfa-kit.

use mfa_kit::flow::security_key::CeremonyError;
use webauthn_rs_core::error::WebauthnError;

/// The [`CeremonyError`] for webauthn-rs's refusal of a response.
///
/// Only a response that could not be parsed is [`CeremonyError::Malformed`] (not
/// counted towards the lockout): anything refused after it was parsed was checked
/// against the challenge, the site or the key, and counts. An error this crate does not
/// know (a variant added to webauthn-rs) is [`CeremonyError::BadSignature`].
pub(crate) fn ceremony_error(error: &WebauthnError) -> CeremonyError {
    use WebauthnError as W;
    match error {
        // Not a WebAuthn response: base64, CBOR, JSON or authenticator data that does
        // not parse, or parts missing.
        W::ParseBase64Failure(_)
        | W::ParseCBORFailure(_)
        | W::ParseJSONFailure(_)
        | W::ParseNOMFailure
        | W::ParseInsufficientBytesAvailable
        | W::MissingAttestationCredentialData => CeremonyError::Malformed,

        // Made for another site: a look-alike origin, another relying-party id, an
        // embedding frame of another origin.
        W::InvalidRPOrigin | W::InvalidRPIDHash | W::CredentialCrossOrigin => CeremonyError::WrongOrigin,

        // Another challenge, or another kind of ceremony (webauthn.get for .create).
        W::MismatchedChallenge | W::InvalidClientDataType | W::ChallengeNotFound => {
            CeremonyError::WrongChallenge
        }

        W::CredentialNotFound => CeremonyError::UnknownCredential,

        // No user verification where the policy or the key's registration needs it;
        // no user presence (the authenticator signed without a touch) is refused the
        // same way.
        W::UserNotVerified | W::UserNotPresent => CeremonyError::UserNotVerified,

        // The signature, the attestation or the key does not hold up.
        W::AuthenticationFailure
        | W::SignatureInvalid
        | W::AttestationNotSupported
        | W::AttestationStatementMapInvalid
        | W::AttestationStatementResponseMissing
        | W::X509DerInvalid
        | W::AttestationStatementResponseInvalid
        | W::AttestationStatementSigMissing
        | W::AttestationStatementSigInvalid
        | W::AttestationStatementVerMissing
        | W::AttestationStatementVerInvalid
        | W::AttestationStatementVerUnsupported
        | W::AttestationStatementX5CMissing
        | W::AttestationStatementX5CInvalid
        | W::AttestationStatementAlgMissing
        | W::AttestationStatementCertInfoMissing
        | W::AttestationStatementMissingExtension
        | W::AttestationStatementPubAreaMissing
        | W::AttestationStatementAlgMismatch
        | W::AttestationStatementAlgInvalid
        | W::AttestationTrustFailure
        | W::AttestationCertificateAAGUIDMismatch
        | W::AttestationCertificateNonceMismatch
        | W::AttestationTpmStInvalid
        | W::AttestationTpmPubAreaMismatch
        | W::AttestationTpmExtraDataInvalid
        | W::AttestationTpmExtraDataMismatch
        | W::AttestationTpmPubAreaHashUnknown
        | W::AttestationTpmPubAreaHashInvalid
        | W::AttestationTpmAttestCertifyInvalid
        | W::AttestationCertificateRequirementsNotMet
        | W::AttestationCredentialSubjectKeyMismatch
        | W::CertificatePublicKeyInvalid
        | W::CertificatePublicKeyAlgorthimMismatch
        | W::COSEKeyInvalidCBORValue
        | W::COSEKeyInvalidType
        | W::COSEKeyEDUnsupported
        | W::COSEKeyECDSAXYInvalid
        | W::COSEKeyRSANEInvalid
        | W::COSEKeyECDSAInvalidCurve
        | W::COSEKeyEDDSAXInvalid
        | W::COSEKeyEDDSAInvalidCurve
        | W::COSEKeyInvalidAlgorithm
        | W::EcdsaPointInvalid
        | W::RsaParametersInvalid
        | W::CredentialAlteredAlgFromRequest
        | W::CredentialExcludedFromRequest
        | W::CredentialMayNotBeHardwareBound
        | W::CredentialInsecureCryptography
        | W::CredentialBackupEligibilityInconsistent
        | W::CredentialPossibleCompromise => CeremonyError::BadSignature,

        // Anything else, including variants added later: the response was refused
        // after it was parsed.
        _ => CeremonyError::BadSignature,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_failures_are_malformed_and_checks_are_not() {
        assert_eq!(ceremony_error(&WebauthnError::ParseNOMFailure), CeremonyError::Malformed);
        assert_eq!(ceremony_error(&WebauthnError::InvalidRPIDHash), CeremonyError::WrongOrigin);
        assert_eq!(ceremony_error(&WebauthnError::InvalidClientDataType), CeremonyError::WrongChallenge);
        assert_eq!(ceremony_error(&WebauthnError::CredentialNotFound), CeremonyError::UnknownCredential);
        assert_eq!(ceremony_error(&WebauthnError::UserNotVerified), CeremonyError::UserNotVerified);
        assert_eq!(ceremony_error(&WebauthnError::AuthenticationFailure), CeremonyError::BadSignature);
        assert_eq!(ceremony_error(&WebauthnError::Configuration), CeremonyError::BadSignature);
    }
}
