//! The server's cryptography, in one place: argon2id password hashes, signed access
//! tokens, opaque refresh tokens (stored as SHA-256), RFC 6238 TOTP, and sealing of MFA
//! secrets at rest. Keys come from a key file created with mode 0600 on first start.

use std::path::Path;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use jsonwebtoken::{Algorithm as JwtAlgorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore;
use rand::rngs::OsRng;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Issuer and audience of the server's own access tokens.
pub(crate) const ISSUER: &str = "stackbill";
pub(crate) const AUDIENCE: &str = "stackbill-api";

/// Key material: one key signs access tokens, another seals MFA secrets.
pub(crate) struct Keys {
    signing: Vec<u8>,
    sealing: [u8; 32],
    encoding: EncodingKey,
    decoding: DecodingKey,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keys(..)")
    }
}

impl Keys {
    /// Reads the key file, creating it (64 random bytes, base64, mode 0600) if absent.
    pub(crate) fn load_or_create(path: &Path) -> Result<Self, String> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut bytes = [0u8; 64];
                OsRng.fill_bytes(&mut bytes);
                let text = STANDARD.encode(bytes);
                write_private(path, &text)
                    .map_err(|e| format!("cannot create key file {}: {e}", path.display()))?;
                text
            }
            Err(e) => return Err(format!("cannot read key file {}: {e}", path.display())),
        };
        let bytes = STANDARD
            .decode(text.trim())
            .map_err(|e| format!("key file {} is not base64: {e}", path.display()))?;
        let bytes: [u8; 64] = bytes.try_into().map_err(|b: Vec<u8>| {
            format!(
                "key file {} must hold 64 bytes, it holds {}",
                path.display(),
                b.len()
            )
        })?;
        Ok(Keys::from_bytes(&bytes))
    }

    /// Keys from 64 bytes: the first half signs, the second seals.
    pub(crate) fn from_bytes(bytes: &[u8; 64]) -> Self {
        let mut sealing = [0u8; 32];
        sealing.copy_from_slice(&bytes[32..]);
        let signing = bytes[..32].to_vec();
        Keys {
            encoding: EncodingKey::from_secret(&signing),
            decoding: DecodingKey::from_secret(&signing),
            signing,
            sealing,
        }
    }

    /// Signs an access token.
    pub(crate) fn sign(&self, claims: &AccessClaims) -> Result<String, String> {
        jsonwebtoken::encode(&Header::new(JwtAlgorithm::HS256), claims, &self.encoding)
            .map_err(|e| e.to_string())
    }

    /// Verifies an access token: HS256 only, our issuer and audience, `exp` and `nbf`
    /// with five seconds of skew.
    pub(crate) fn verify(&self, token: &str) -> Option<AccessClaims> {
        let mut v = Validation::new(JwtAlgorithm::HS256);
        v.set_issuer(&[ISSUER]);
        v.set_audience(&[AUDIENCE]);
        v.validate_nbf = true;
        v.leeway = 5;
        v.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
        jsonwebtoken::decode::<AccessClaims>(token, &self.decoding, &v)
            .ok()
            .map(|d| d.claims)
    }

    /// Encrypts `plain` (an MFA secret) for storage.
    pub(crate) fn seal(&self, plain: &[u8]) -> Result<String, String> {
        let cipher = XChaCha20Poly1305::new((&self.sealing).into());
        let mut nonce = [0u8; 24];
        OsRng.fill_bytes(&mut nonce);
        let sealed = cipher
            .encrypt(XNonce::from_slice(&nonce), plain)
            .map_err(|_| "sealing failed".to_owned())?;
        Ok(format!(
            "v1:{}:{}",
            URL_SAFE_NO_PAD.encode(nonce),
            URL_SAFE_NO_PAD.encode(sealed)
        ))
    }

    /// Decrypts what [`Keys::seal`] produced.
    pub(crate) fn unseal(&self, sealed: &str) -> Option<Vec<u8>> {
        let mut parts = sealed.split(':');
        let (Some("v1"), Some(nonce), Some(body), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return None;
        };
        let nonce = URL_SAFE_NO_PAD.decode(nonce).ok()?;
        let body = URL_SAFE_NO_PAD.decode(body).ok()?;
        if nonce.len() != 24 {
            return None;
        }
        XChaCha20Poly1305::new((&self.sealing).into())
            .decrypt(XNonce::from_slice(&nonce), body.as_slice())
            .ok()
    }

    /// A keyed hash of a client address, for throttling without keeping addresses.
    pub(crate) fn address_key(&self, address: &str) -> [u8; 32] {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.signing)
            .unwrap_or_else(|_| unreachable_hmac());
        mac.update(address.as_bytes());
        mac.finalize().into_bytes().into()
    }

    /// A keyed hash binding `parts` to `purpose` (each part length-prefixed, so no two
    /// different lists hash alike): tokens the server can check without storing them.
    pub(crate) fn bind(&self, purpose: &str, parts: &[&[u8]]) -> [u8; 32] {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.signing)
            .unwrap_or_else(|_| unreachable_hmac());
        for part in std::iter::once(purpose.as_bytes()).chain(parts.iter().copied()) {
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part);
        }
        mac.finalize().into_bytes().into()
    }
}

fn unreachable_hmac() -> Hmac<Sha256> {
    // HMAC accepts keys of any length; this is never reached.
    <Hmac<Sha256> as Mac>::new_from_slice(b"k").unwrap_or_else(|_| unreachable_hmac())
}

fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()
}

/// The claims of an access token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct AccessClaims {
    pub sub: String,
    pub iss: String,
    pub aud: String,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
    /// Set while sign-in is unfinished: `password_change` or `mfa_enrolment`. Such a token
    /// opens only the endpoints that finish it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rst: Option<String>,
    /// The user's session epoch at issue: the token is refused once it moved on.
    #[serde(default)]
    pub sep: i64,
}

/// argon2id with OWASP's parameters: 19 MiB, two passes, one lane.
fn argon2() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes a password (PHC string).
pub(crate) fn hash_password(password: &str) -> Result<String, String> {
    let salt = SaltString::generate(&mut OsRng);
    argon2()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

/// Verifies a password against a PHC hash; `None` hashes verify against a dummy so that
/// unknown accounts take as long as known ones.
pub(crate) fn verify_password(password: &str, hash: Option<&str>) -> bool {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let target = match hash {
        Some(h) => h,
        None => DUMMY.get_or_init(|| hash_password(&random_token(16)).unwrap_or_default()),
    };
    let Ok(parsed) = PasswordHash::new(target) else {
        return false;
    };
    argon2()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok()
        && hash.is_some()
}

/// Checks a new password against the policy (ASVS 5 V6.2: length, not trivially weak).
pub(crate) fn password_policy(password: &str, email: &str) -> Result<(), String> {
    let len = password.chars().count();
    if len < 12 {
        return Err("must be at least 12 characters".into());
    }
    if len > 128 {
        return Err("must be at most 128 characters".into());
    }
    if password.eq_ignore_ascii_case(email) {
        return Err("must not be the e-mail address".into());
    }
    // zxcvbn's dictionaries (the most common passwords of public breaches, English
    // words, names, keyboard walks, repeats, sequences and dates) ship in the binary;
    // anything guessable within a million tries is refused (scores 0 and 1).
    let local = email.split('@').next().unwrap_or_default();
    let strength = zxcvbn::zxcvbn(password, &[email, local, "stackbill"]);
    if strength.score() < zxcvbn::Score::Two {
        return Err(
            "is too easy to guess (a common password, a word with digits, a repeat or a sequence); use a longer passphrase"
                .into(),
        );
    }
    Ok(())
}

/// A random opaque token (refresh tokens, activation codes, generated passwords).
pub(crate) fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    OsRng.fill_bytes(&mut buf);
    URL_SAFE_NO_PAD.encode(buf)
}

/// SHA-256 hex of a token, as stored.
pub(crate) fn token_hash(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Constant-time comparison of two token hashes.
pub(crate) fn same_hash(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// RFC 6238 TOTP: HMAC-SHA1, 30-second steps, six digits.
pub(crate) mod totp {
    use super::*;

    /// Seconds per step.
    pub(crate) const STEP: i64 = 30;

    /// A new 160-bit secret.
    pub(crate) fn new_secret() -> Vec<u8> {
        let mut secret = vec![0u8; 20];
        OsRng.fill_bytes(&mut secret);
        secret
    }

    /// The code of time step `step`.
    pub(crate) fn code(secret: &[u8], step: i64) -> String {
        let Ok(mut mac) = <Hmac<sha1::Sha1> as Mac>::new_from_slice(secret) else {
            return String::new();
        };
        mac.update(&step.to_be_bytes());
        let digest = mac.finalize().into_bytes();
        let offset = usize::from(digest[19] & 0x0f);
        let bin = (u32::from(digest[offset]) & 0x7f) << 24
            | u32::from(digest[offset + 1]) << 16
            | u32::from(digest[offset + 2]) << 8
            | u32::from(digest[offset + 3]);
        format!("{:06}", bin % 1_000_000)
    }

    /// The step (within ±1 of `now`) whose code is `code`, if any.
    pub(crate) fn matching_step(secret: &[u8], code: &str, now: i64) -> Option<i64> {
        let code = code.trim();
        if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let current = now.div_euclid(STEP);
        (current.saturating_sub(1)..=current.saturating_add(1))
            .find(|&step| super::same_hash(&self::code(secret, step), code))
    }

    /// RFC 4648 base32 without padding, as authenticator apps expect.
    #[expect(
        clippy::arithmetic_side_effects,
        reason = "bits stays below 13 and the shift below 5"
    )]
    pub(crate) fn base32(bytes: &[u8]) -> String {
        const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
        let mut out = String::new();
        let (mut buffer, mut bits) = (0u32, 0u32);
        for &b in bytes {
            buffer = (buffer << 8) | u32::from(b);
            bits += 8;
            while bits >= 5 {
                bits -= 5;
                out.push(char::from(ALPHABET[((buffer >> bits) & 31) as usize]));
            }
        }
        if bits > 0 {
            out.push(char::from(ALPHABET[((buffer << (5 - bits)) & 31) as usize]));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totp_matches_rfc_6238_vectors() {
        // RFC 6238 appendix B, SHA-1 seed, last six digits.
        let secret = b"12345678901234567890";
        for (time, code) in [
            (59, "287082"),
            (1_111_111_109, "081804"),
            (1_234_567_890, "005924"),
            (2_000_000_000, "279037"),
        ] {
            assert_eq!(totp::code(secret, time / totp::STEP), code, "t={time}");
        }
        assert_eq!(totp::matching_step(secret, "287082", 59 + 30), Some(1));
        assert_eq!(totp::matching_step(secret, "287082", 59 + 90), None);
        assert_eq!(totp::base32(b"foobar"), "MZXW6YTBOI");
    }

    #[test]
    fn passwords_hash_with_argon2id_19_mib_two_passes() {
        let hash = hash_password("correct horse battery").unwrap();
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert!(verify_password("correct horse battery", Some(&hash)));
        assert!(!verify_password("wrong horse battery", Some(&hash)));
        assert!(!verify_password("correct horse battery", None));
    }

    #[test]
    fn sealing_round_trips_and_detects_tampering() {
        let dir = std::env::temp_dir().join(format!("stackbill-key-{}", std::process::id()));
        let _ = std::fs::remove_file(&dir);
        let keys = Keys::load_or_create(&dir).unwrap();
        let sealed = keys.seal(b"secret").unwrap();
        assert_eq!(keys.unseal(&sealed).as_deref(), Some(&b"secret"[..]));
        // Change the ciphertext's first character (the last may carry only padding bits,
        // and replacing it with a fixed letter was a no-op whenever it was that letter).
        let mut tampered: Vec<char> = sealed.chars().collect();
        let at = sealed.rfind(':').unwrap() + 1;
        tampered[at] = if tampered[at] == 'A' { 'B' } else { 'A' };
        let tampered: String = tampered.into_iter().collect();
        assert_ne!(tampered, sealed);
        assert_eq!(keys.unseal(&tampered), None);
        let again = Keys::load_or_create(&dir).unwrap();
        assert_eq!(again.unseal(&sealed).as_deref(), Some(&b"secret"[..]));
        let _ = std::fs::remove_file(&dir);
    }
}
