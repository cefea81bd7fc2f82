//! The `invoices.archive` job: copies every issued invoice's kept PDF not yet archived to
//! the Azure Blob container of Invoice Settings, as `PERIOD/NUMBER.pdf`, create-only. The
//! store records each upload, so a retried or next run uploads what is left and nothing
//! twice; a blob an interrupted run already wrote is found and recorded, not rewritten.

use serde::Serialize;
use serde_json::Value;
use stackbill_store::{InvoiceStatus, StoreError};

use super::{Done, Progress};
use crate::api::AppState;
use crate::api::system::effective_settings;
use crate::api::wire::ApiError;
#[cfg(test)]
use crate::archive::DEFAULT_VERSION;
use crate::archive::{BlobArchive, Upload};

/// What one run did.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Archived {
    /// Blob names written.
    uploaded: Vec<String>,
    /// Blob names found already there (written by an interrupted run) and recorded.
    already_there: Vec<String>,
}

fn setting(invoices: &Value, key: &str) -> Result<String, ApiError> {
    invoices[key]
        .as_str()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .ok_or_else(|| {
            ApiError::Conflict(format!(
                "invoice setting {key} is not set; Store Invoices In Azure Storage needs it"
            ))
        })
}

/// The archive the Invoice Settings describe; `None` while archiving is off.
pub(crate) fn configured(invoices: &Value) -> Result<Option<BlobArchive>, ApiError> {
    if invoices["storeInvoicesInAzureStorage"].as_bool() != Some(true) {
        return Ok(None);
    }
    let endpoint = setting(invoices, "azureStorageBlobEndpoint")?;
    let reference = setting(invoices, "azureStorageAccountKeyRef")?;
    Ok(Some(BlobArchive {
        endpoint: reqwest::Url::parse(&endpoint).map_err(|e| {
            ApiError::Conflict(format!("invoice setting azureStorageBlobEndpoint: {e}"))
        })?,
        account: setting(invoices, "azureStorageAccountName")?,
        key: stackbill_collector::resolve_secret(&reference).map_err(|e| {
            ApiError::Conflict(format!("invoice setting azureStorageAccountKeyRef: {e}"))
        })?,
        container: setting(invoices, "azureStorageContainer")?,
        version: setting(invoices, "azureStorageApiVersion")?,
    }))
}

/// Runs one archive job, to the archive Invoice Settings describe.
pub(crate) async fn run(state: &AppState, job: i64, progress: &Progress) -> Result<Done, ApiError> {
    let settings = state.store().settings().await?;
    let invoices = effective_settings("invoices", settings.get("invoices"));
    match configured(&invoices)? {
        Some(archive) => run_to(state, job, progress, &archive).await,
        None => Done::of(
            job,
            "Store Invoices In Azure Storage is off: nothing archived".into(),
            &Archived {
                uploaded: Vec::new(),
                already_there: Vec::new(),
            },
        ),
    }
}

/// Uploads every kept PDF not archived yet to `archive`.
async fn run_to(
    state: &AppState,
    job: i64,
    progress: &Progress,
    archive: &BlobArchive,
) -> Result<Done, ApiError> {
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(120))
        .build()
        .map_err(|e| ApiError::internal(format!("HTTP client: {e}")))?;
    let waiting = state.store().invoice_documents_to_archive("pdf").await?;
    let total = waiting.len();
    let mut out = Archived {
        uploaded: Vec::new(),
        already_there: Vec::new(),
    };
    for (n, id) in waiting.into_iter().enumerate() {
        let row = state.store().invoice(id).await?;
        let (Some(number), true) = (&row.number, row.status != InvoiceStatus::Preview) else {
            continue;
        };
        let Some(pdf) = state.store().invoice_document(id, "pdf").await? else {
            continue;
        };
        let name = format!("{}/{number}.pdf", row.period);
        let uploaded = archive
            .put_if_absent(&client, &name, "application/pdf", &pdf)
            .await
            .map_err(|e| {
                let done = out.uploaded.len().saturating_add(out.already_there.len());
                ApiError::Unavailable(format!(
                    "{done} of {total} invoice(s) archived, then {e}; the next run retries the rest"
                ))
            })?;
        let at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        match state
            .store()
            .mark_invoice_document_archived(id, "pdf", &at)
            .await
        {
            Ok(()) | Err(StoreError::NotFound { .. }) => {}
            Err(e) => return Err(e.into()),
        }
        match uploaded {
            Upload::Created => out.uploaded.push(name),
            Upload::AlreadyThere => out.already_there.push(name),
        }
        let done = (n.saturating_add(1))
            .saturating_mul(100)
            .checked_div(total)
            .and_then(|p| i64::try_from(p).ok())
            .unwrap_or(100);
        progress.set(done, format!("archived {} of {total}", n.saturating_add(1)));
    }
    let message = format!(
        "{} invoice(s) archived to container {:?}, {} found already there",
        out.uploaded.len(),
        archive.container,
        out.already_there.len()
    );
    Done::of(job, message, &out)
}

#[cfg(test)]
mod tests {
    use std::net::TcpStream;
    use std::process::{Child, Command, Stdio};

    use serde_json::json;
    use stackbill_collector::Secret;
    use stackbill_store::{InvoiceFilter, InvoiceRow};

    use super::*;

    /// Azurite's well-known development account key (public; in its documentation).
    const DEV_KEY: &str =
        "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    /// Azurite's blob service on a free loopback port, in memory, stopped on drop.
    struct Azurite(Child, u16);

    impl Drop for Azurite {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }

    fn azurite() -> Azurite {
        let program = std::env::var("STACKBILL_AZURITE").unwrap_or_else(|_| {
            panic!(
                "STACKBILL_AZURITE names azurite-blob (npm azurite@3.35; scripts/test installs it)"
            )
        });
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .unwrap();
        let child = Command::new(program)
            .args(["--blobHost", "127.0.0.1", "--blobPort", &port.to_string()])
            .args(["--inMemoryPersistence", "--disableTelemetry", "--silent"])
            .current_dir(std::env::temp_dir())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let azurite = Azurite(child, port);
        for _ in 0..400 {
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return azurite;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        panic!("azurite did not listen on {port}");
    }

    fn archive(port: u16, version: &str, key: &str) -> BlobArchive {
        BlobArchive {
            endpoint: reqwest::Url::parse(&format!("http://127.0.0.1:{port}/devstoreaccount1"))
                .unwrap(),
            account: "devstoreaccount1".into(),
            key: Secret::new(key),
            container: "invoices".into(),
            version: version.into(),
        }
    }

    async fn issue(state: &AppState, ctx: &crate::documents::Context, id: i64) -> InvoiceRow {
        let row = state.store().issue_invoice(id, "2026-11-03").await.unwrap();
        crate::documents::keep_at_issue(state.store(), ctx, &row)
            .await
            .unwrap();
        row
    }

    fn name(row: &InvoiceRow) -> String {
        format!(
            "{}/{}.pdf",
            row.period,
            row.number.clone().unwrap_or_default()
        )
    }

    /// Issued invoices land in the container once, under PERIOD/NUMBER.pdf with their
    /// kept bytes and type; a blob an interrupted run wrote is recorded, not rewritten;
    /// the REST version is the configured one; a wrong key fails the run, saying so, and
    /// leaves the invoices waiting.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn issued_invoices_land_in_the_container_once() {
        let blob = azurite();
        let dir = crate::jobs::test_support::temp_dir("stackbill-archive");
        let state = crate::jobs::test_support::demo(&dir).await;
        stackbill_store::billing::bill(state.store(), "2026-10", None)
            .await
            .unwrap();
        let previews = state
            .store()
            .invoices(&InvoiceFilter::default())
            .await
            .unwrap();
        let ctx = crate::documents::Context::load(state.store())
            .await
            .unwrap();
        let first = issue(&state, &ctx, previews[0].id).await;
        let second = issue(&state, &ctx, previews[1].id).await;
        let client = reqwest::Client::new();
        let progress = Progress::default();

        let wrong = archive(blob.1, DEFAULT_VERSION, "d3Jvbmcga2V5");
        let refused = run_to(&state, 1, &progress, &wrong).await.unwrap_err();
        assert!(refused.to_string().contains("403"), "{refused:?}");
        assert_eq!(
            state
                .store()
                .invoice_documents_to_archive("pdf")
                .await
                .unwrap()
                .len(),
            2
        );

        let good = archive(blob.1, DEFAULT_VERSION, DEV_KEY);
        let done = run_to(&state, 2, &progress, &good).await.unwrap();
        assert_eq!(
            done.data["uploaded"],
            json!([name(&first), name(&second)]),
            "{}",
            done.data
        );
        for row in [&first, &second] {
            let kept = state.store().invoice_document(row.id, "pdf").await.unwrap();
            let (kind, bytes) = good.get(&client, &name(row)).await.unwrap().unwrap();
            assert_eq!(kind, "application/pdf");
            assert_eq!(Some(bytes), kept);
        }
        let again = run_to(&state, 3, &progress, &good).await.unwrap();
        assert_eq!(again.data["uploaded"], json!([]));

        // An interrupted run wrote the blob but did not record it: the next run finds it.
        let third = issue(&state, &ctx, previews[2].id).await;
        let newer = archive(blob.1, "2021-08-06", DEV_KEY);
        let written = newer
            .put_if_absent(
                &client,
                &name(&third),
                "application/pdf",
                b"%PDF- earlier attempt",
            )
            .await
            .unwrap();
        assert_eq!(written, Upload::Created);
        let found = run_to(&state, 4, &progress, &newer).await.unwrap();
        assert_eq!(found.data["alreadyThere"], json!([name(&third)]));
        let (_, bytes) = newer.get(&client, &name(&third)).await.unwrap().unwrap();
        assert_eq!(
            bytes, b"%PDF- earlier attempt",
            "create-only: never overwritten"
        );
        assert!(
            state
                .store()
                .invoice_documents_to_archive("pdf")
                .await
                .unwrap()
                .is_empty()
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn archiving_needs_every_setting_and_names_the_missing_one() {
        let mut settings = json!({"storeInvoicesInAzureStorage": false});
        assert!(configured(&settings).unwrap().is_none());
        settings["storeInvoicesInAzureStorage"] = json!(true);
        settings["azureStorageBlobEndpoint"] = json!("https://acct.blob.local.azurestack.external");
        let missing = configured(&settings).unwrap_err().to_string();
        assert!(missing.contains("azureStorageAccountKeyRef"), "{missing}");
    }
}
