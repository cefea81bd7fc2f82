//! Issued invoices archived to Azure Blob storage (Invoice Settings → Store Invoices In
//! Azure Storage), on the stamp's storage account.
//!
//! A thin Shared Key client over the server's reqwest rather than a storage SDK: Azure
//! Stack Hub storage accepts older REST versions than public Azure, so the `x-ms-version`
//! sent is a setting (`azureStorageApiVersion`), and the SDKs at hand pin a newer one. Only
//! two calls are needed: create the container, and put a block blob only if it is absent
//! (`If-None-Match: *`), so an invoice is uploaded once and a retry after an unclear
//! failure finds it there instead of overwriting it.

use base64::Engine;
use hmac::{Hmac, Mac};
use reqwest::{Method, StatusCode};
use sha2::Sha256;
use stackbill_collector::Secret;

/// The REST version sent unless Invoice Settings name another: one Azure Stack Hub
/// storage has long accepted, and Azurite too.
pub(crate) const DEFAULT_VERSION: &str = "2019-07-07";

/// The settings of one archive.
#[derive(Debug, Clone)]
pub(crate) struct BlobArchive {
    /// The blob service endpoint: `https://ACCOUNT.blob.REGION.FQDN`, or a path-style one
    /// such as Azurite's `http://127.0.0.1:10000/ACCOUNT`.
    pub endpoint: reqwest::Url,
    /// Storage account name.
    pub account: String,
    /// The account key (base64, as the portal shows it).
    pub key: Secret,
    /// Container the invoices go to.
    pub container: String,
    /// The REST version every request names.
    pub version: String,
}

/// What a create-only upload found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Upload {
    /// The blob was written.
    Created,
    /// A blob of that name was already there (an earlier attempt's); it was left alone.
    AlreadyThere,
}

/// Why a request failed; `retryable` when a later attempt may succeed.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub(crate) struct ArchiveError {
    pub message: String,
    pub retryable: bool,
}

fn fail(message: String, retryable: bool) -> ArchiveError {
    ArchiveError { message, retryable }
}

impl BlobArchive {
    fn url(&self, path: &str) -> Result<reqwest::Url, ArchiveError> {
        let base = self.endpoint.as_str().trim_end_matches('/');
        reqwest::Url::parse(&format!("{base}/{path}"))
            .map_err(|e| fail(format!("blob URL {base}/{path}: {e}"), false))
    }

    /// The Shared Key signature of a request (Blob service, versions since 2015-02-21:
    /// an empty Content-Length when there is no body).
    fn authorization(
        &self,
        method: &Method,
        url: &reqwest::Url,
        headers: &[(&str, String)],
        content_length: usize,
        content_type: &str,
    ) -> Result<String, ArchiveError> {
        let header = |name: &str| {
            headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_str())
                .unwrap_or("")
        };
        let mut ms: Vec<(String, &str)> = headers
            .iter()
            .filter(|(n, _)| n.to_ascii_lowercase().starts_with("x-ms-"))
            .map(|(n, v)| (n.to_ascii_lowercase(), v.trim()))
            .collect();
        ms.sort();
        let canonical_headers: String = ms.iter().map(|(n, v)| format!("{n}:{v}\n")).collect();
        let mut resource = format!("/{}{}", self.account, url.path());
        let mut query: Vec<(String, String)> = url
            .query_pairs()
            .map(|(k, v)| (k.to_ascii_lowercase(), v.into_owned()))
            .collect();
        query.sort();
        for (k, v) in query {
            resource.push_str(&format!("\n{k}:{v}"));
        }
        let length = if content_length == 0 {
            String::new()
        } else {
            content_length.to_string()
        };
        let to_sign = format!(
            "{method}\n\n\n{length}\n\n{content_type}\n\n\n\n{}\n\n\n{canonical_headers}{resource}",
            header("If-None-Match"),
        );
        let key = base64::engine::general_purpose::STANDARD
            .decode(self.key.expose().trim())
            .map_err(|_| fail("the storage account key is not base64".into(), false))?;
        let mut mac = Hmac::<Sha256>::new_from_slice(&key)
            .map_err(|_| fail("the storage account key is empty".into(), false))?;
        mac.update(to_sign.as_bytes());
        let signature =
            base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
        Ok(format!("SharedKey {}:{signature}", self.account))
    }

    async fn send(
        &self,
        client: &reqwest::Client,
        method: Method,
        url: reqwest::Url,
        extra: &[(&str, String)],
        body: Vec<u8>,
        content_type: &str,
    ) -> Result<(StatusCode, String), ArchiveError> {
        let date = chrono::Utc::now()
            .format("%a, %d %b %Y %H:%M:%S GMT")
            .to_string();
        let mut headers: Vec<(&str, String)> =
            vec![("x-ms-date", date), ("x-ms-version", self.version.clone())];
        headers.extend(extra.iter().cloned());
        let auth = self.authorization(&method, &url, &headers, body.len(), content_type)?;
        let mut request = client
            .request(method, url.clone())
            .header("Authorization", auth)
            .header("Content-Length", body.len());
        if !content_type.is_empty() {
            request = request.header("Content-Type", content_type);
        }
        for (name, value) in headers {
            request = request.header(name, value);
        }
        let response = request
            .body(body)
            .send()
            .await
            .map_err(|e| fail(format!("{url}: {e}"), true))?;
        let status = response.status();
        let code = response
            .headers()
            .get("x-ms-error-code")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        Ok((status, code))
    }

    /// Creates the container (nothing if it exists).
    async fn create_container(&self, client: &reqwest::Client) -> Result<(), ArchiveError> {
        let url = self.url(&format!("{}?restype=container", self.container))?;
        let (status, code) = self
            .send(client, Method::PUT, url, &[], Vec::new(), "")
            .await?;
        if status.is_success() || code == "ContainerAlreadyExists" {
            return Ok(());
        }
        Err(fail(
            format!(
                "creating container {:?}: HTTP {status} {code}",
                self.container
            ),
            status.is_server_error(),
        ))
    }

    /// Uploads `content` as blob `name` unless one of that name exists; creates the
    /// container on first use.
    pub(crate) async fn put_if_absent(
        &self,
        client: &reqwest::Client,
        name: &str,
        content_type: &str,
        content: &[u8],
    ) -> Result<Upload, ArchiveError> {
        let url = self.url(&format!("{}/{name}", self.container))?;
        let headers = [
            ("x-ms-blob-type", "BlockBlob".to_owned()),
            ("If-None-Match", "*".to_owned()),
        ];
        for first in [true, false] {
            let (status, code) = self
                .send(
                    client,
                    Method::PUT,
                    url.clone(),
                    &headers,
                    content.to_vec(),
                    content_type,
                )
                .await?;
            match (status, code.as_str()) {
                (s, _) if s.is_success() => return Ok(Upload::Created),
                (StatusCode::CONFLICT, "BlobAlreadyExists") => return Ok(Upload::AlreadyThere),
                (StatusCode::NOT_FOUND, "ContainerNotFound") if first => {
                    self.create_container(client).await?;
                }
                (s, code) => {
                    return Err(fail(
                        format!("uploading {name}: HTTP {s} {code}"),
                        s.is_server_error() || s == StatusCode::TOO_MANY_REQUESTS,
                    ));
                }
            }
        }
        Err(fail(
            format!("uploading {name}: the container could not be created"),
            true,
        ))
    }

    /// Reads a blob back: its content type and bytes, `None` if there is none (the tests
    /// check what landed in the container with it).
    #[cfg(test)]
    pub(crate) async fn get(
        &self,
        client: &reqwest::Client,
        name: &str,
    ) -> Result<Option<(String, Vec<u8>)>, ArchiveError> {
        let url = self.url(&format!("{}/{name}", self.container))?;
        let date = chrono::Utc::now()
            .format("%a, %d %b %Y %H:%M:%S GMT")
            .to_string();
        let headers = vec![("x-ms-date", date), ("x-ms-version", self.version.clone())];
        let auth = self.authorization(&Method::GET, &url, &headers, 0, "")?;
        let mut request = client.get(url).header("Authorization", auth);
        for (n, v) in headers {
            request = request.header(n, v);
        }
        let response = request
            .send()
            .await
            .map_err(|e| fail(e.to_string(), true))?;
        if response.status() == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if !response.status().is_success() {
            return Err(fail(
                format!("reading {name}: HTTP {}", response.status()),
                false,
            ));
        }
        let kind = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let bytes = response
            .bytes()
            .await
            .map_err(|e| fail(e.to_string(), true))?;
        Ok(Some((kind, bytes.to_vec())))
    }
}
