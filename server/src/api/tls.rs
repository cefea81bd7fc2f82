//! `stackbill serve --tls-cert FILE --tls-key FILE`: HTTPS straight from the process
//! (TLS 1.2 and 1.3, rustls), for deployments without a proxy in front.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use axum::extract::ConnectInfo;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tower::ServiceExt;

use super::AppState;

/// The certificate a process serves: what the expiry check needs of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Served {
    /// Its subject (`CN=portal.example`), naming the alert.
    pub subject: String,
    /// The end of its validity (Unix seconds).
    pub not_after: i64,
}

/// Reads the subject and expiry of a DER certificate.
fn served(der: &[u8]) -> Result<Served, String> {
    use x509_cert::der::Decode;
    let cert = x509_cert::Certificate::from_der(der).map_err(|e| e.to_string())?;
    let tbs = &cert.tbs_certificate;
    let not_after = i64::try_from(tbs.validity.not_after.to_unix_duration().as_secs())
        .map_err(|e| e.to_string())?;
    Ok(Served {
        subject: tbs.subject.to_string(),
        not_after,
    })
}

/// The server's TLS settings from a PEM certificate chain and its PEM private key, and
/// the served (first) certificate's subject and expiry.
pub(crate) fn config(
    cert: &Path,
    key: &Path,
) -> Result<(Arc<rustls::ServerConfig>, Served), String> {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .map_err(|e| format!("--tls-cert {}: {e}", cert.display()))?
        .collect::<Result<_, _>>()
        .map_err(|e| format!("--tls-cert {}: {e}", cert.display()))?;
    if chain.is_empty() {
        return Err(format!(
            "--tls-cert {}: no certificate in the file",
            cert.display()
        ));
    }
    let leaf = chain
        .first()
        .map(|c| served(c.as_ref()))
        .transpose()
        .map_err(|e| format!("--tls-cert {}: {e}", cert.display()))?
        .ok_or_else(|| format!("--tls-cert {}: no certificate", cert.display()))?;
    let key = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| format!("--tls-key {}: {e}", key.display()))?;
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| e.to_string())?
    .with_no_client_auth()
    .with_single_cert(chain, key)
    .map_err(|e| format!("the certificate and key do not go together: {e}"))?;
    Ok((Arc::new(config), leaf))
}

/// Serves HTTPS until interrupted.
pub(crate) async fn serve(
    state: AppState,
    bind: SocketAddr,
    config: Arc<rustls::ServerConfig>,
) -> Result<(), String> {
    let listener = tokio::net::TcpListener::bind(bind)
        .await
        .map_err(|e| format!("cannot listen on {bind}: {e}"))?;
    let local = listener.local_addr().map_err(|e| e.to_string())?;
    println!("stackbill: listening on https://{local} (API /api/v1, docs /swagger)");
    let acceptor = tokio_rustls::TlsAcceptor::from(config);
    let app = super::app(state);
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = tokio::signal::ctrl_c() => return Ok(()),
        };
        let Ok((tcp, peer)) = accepted else {
            continue;
        };
        let (acceptor, app) = (acceptor.clone(), app.clone());
        tokio::spawn(async move {
            // A client that fails the handshake gets nothing more.
            let Ok(tls) = acceptor.accept(tcp).await else {
                return;
            };
            let service = hyper::service::service_fn(
                move |mut req: hyper::Request<hyper::body::Incoming>| {
                    req.extensions_mut().insert(ConnectInfo(peer));
                    let req = super::normalise(req.map(axum::body::Body::new));
                    app.clone().oneshot(req)
                },
            );
            hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(tls), service)
                .await
                .ok();
        });
    }
}
