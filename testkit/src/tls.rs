//! A certificate for `localhost` signed by its own test CA, for HTTPS tests.

/// `(ca_pem, certificate_pem, private_key_pem)` for `localhost` and `127.0.0.1`.
pub fn localhost_certificate() -> Result<(String, String, String), rcgen::Error> {
    localhost_certificate_until(None)
}

/// As [`localhost_certificate`], valid until the start of `(year, month, day)` (UTC)
/// when given: for tests of expiry warnings.
pub fn localhost_certificate_until(
    not_after: Option<(i32, u8, u8)>,
) -> Result<(String, String, String), rcgen::Error> {
    let ca_key = rcgen::KeyPair::generate()?;
    let mut ca = rcgen::CertificateParams::new(Vec::<String>::new())?;
    ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(rcgen::DnType::CommonName, "StackBill test CA");
    let ca_cert = ca.self_signed(&ca_key)?;
    let key = rcgen::KeyPair::generate()?;
    let mut params =
        rcgen::CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])?;
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "localhost");
    if let Some((year, month, day)) = not_after {
        params.not_after = rcgen::date_time_ymd(year, month, day);
    }
    let leaf = params.signed_by(&key, &ca_cert, &ca_key)?;
    Ok((ca_cert.pem(), leaf.pem(), key.serialize_pem()))
}
