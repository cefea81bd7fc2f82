//! Entry points for the fuzz targets in `fuzz/` (not a stable API): what the server
//! reads from untrusted bytes, without the HTTP around it.

use super::secrets::{AccessClaims, Keys};
use super::wire::parse_body;

/// Parses `bytes` as the request body of one of the main endpoints (chosen by `kind`),
/// then applies the checks the handler applies first. Returns whether it was accepted;
/// what matters is that it returns at all.
pub fn request_body(kind: u8, bytes: &[u8]) -> bool {
    match kind % 8 {
        0 => parse_body::<super::auth::TokenRequest>(bytes).is_ok(),
        1 => parse_body::<super::auth::MfaConfirmRequest>(bytes).is_ok(),
        2 => parse_body::<super::people::UserIn>(bytes).is_ok(),
        3 => parse_body::<super::people::UserChange>(bytes).is_ok(),
        4 => parse_body::<super::hierarchy::TenantIn>(bytes).is_ok(),
        5 => parse_body::<super::pricing::PriceListIn>(bytes).is_ok(),
        6 => parse_body::<super::billing::GenerateIn>(bytes).is_ok(),
        _ => parse_body::<super::usage::IngestIn>(bytes).is_ok_and(|batch| {
            batch
                .records
                .into_iter()
                .enumerate()
                .all(|(i, r)| super::usage::record_row(i, r).is_ok())
        }),
    }
}

/// The server's keys from 64 bytes.
#[derive(Debug)]
pub struct FuzzKeys(Keys);

impl FuzzKeys {
    /// Keys from `bytes`.
    pub fn new(bytes: &[u8; 64]) -> Self {
        FuzzKeys(Keys::from_bytes(bytes))
    }

    /// Seals `plain` (as MFA secrets are).
    pub fn seal(&self, plain: &[u8]) -> Option<String> {
        self.0.seal(plain).ok()
    }

    /// Unseals untrusted text.
    pub fn unseal(&self, sealed: &str) -> Option<Vec<u8>> {
        self.0.unseal(sealed)
    }

    /// Verifies an untrusted access token; returns its subject.
    pub fn verify(&self, token: &str) -> Option<String> {
        self.0.verify(token).map(|c| c.sub)
    }

    /// Signs a token for `subject`, valid now.
    pub fn sign(&self, subject: &str) -> Option<String> {
        let now = chrono::Utc::now().timestamp();
        self.0
            .sign(&AccessClaims {
                sub: subject.to_owned(),
                iss: super::secrets::ISSUER.into(),
                aud: super::secrets::AUDIENCE.into(),
                iat: now,
                nbf: now,
                exp: now.saturating_add(600),
                rst: None,
                sep: 0,
            })
            .ok()
    }
}

/// An e-mail address as the server would store it, or `None` when refused.
pub fn email(text: &str) -> Option<String> {
    super::email::valid("emailAddress", text).ok()
}
