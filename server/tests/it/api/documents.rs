//! Invoice documents over real HTTP on the demo month, read back with poppler: a preview
//! renders on request and says PREVIEW; an issued invoice's document is kept at issue and
//! served byte for byte after its branding changes; every line's amount and the totals are
//! in the PDF's text; scope, content negotiation and a bad setting answer the API's errors;
//! `stackbill invoice render` writes the same bytes.

use std::io::Write;
use std::process::Command;

use serde_json::{Value, json};
use stackbill_document::format_money;

use super::{Db, Server, bill_demo_month, fetch};

/// `pdftotext -layout` of a PDF (poppler-utils, installed by scripts/test).
pub(crate) fn pdf_text(dir: &std::path::Path, pdf: &[u8]) -> String {
    let path = dir.join("read-back.pdf");
    std::fs::File::create(&path)
        .unwrap()
        .write_all(pdf)
        .unwrap();
    let out = Command::new("pdftotext")
        .args(["-layout"])
        .arg(&path)
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils) is installed by scripts/test");
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()
}

fn decimals(currency: &str) -> u32 {
    match currency {
        "JPY" => 0,
        "KWD" | "BHD" | "OMR" => 3,
        _ => 2,
    }
}

/// Every amount of `invoice`'s lines and its totals, as the document writes them.
fn amounts(invoice: &Value) -> Vec<String> {
    let d = decimals(invoice["currency"].as_str().unwrap());
    let money = |v: &Value| format_money(v.as_str().unwrap().parse().unwrap(), d);
    let doc = &invoice["document"];
    let mut out: Vec<String> = doc["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| money(&l["amount"]))
        .collect();
    out.extend(["subtotal", "tax", "total"].iter().map(|k| money(&doc[*k])));
    out
}

#[test]
fn invoice_documents_render_previews_keep_issued_ones_and_are_scoped() {
    let server = Server::start_with(Db::Sqlite, true, &["--demo"]);
    let admin = server.admin();
    let invoices = bill_demo_month(&admin);
    // The invoice with the most lines, so the document runs over a page.
    let invoice = invoices
        .iter()
        .max_by_key(|i| i["document"]["lines"].as_array().unwrap().len())
        .unwrap()
        .clone();
    let id = invoice["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/billing/invoices/{id}/document");

    // A preview: rendered now, PREVIEW on it, every amount in its text.
    let (status, headers, preview) = fetch(&admin, &path, None);
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&preview));
    assert_eq!(headers["content-type"], "application/pdf");
    assert!(preview.starts_with(b"%PDF-"));
    let text = pdf_text(&server.dir, &preview);
    assert!(text.contains("PREVIEW"));
    assert!(
        text.contains(invoice["tenantName"].as_str().unwrap()),
        "{text}"
    );
    for amount in amounts(&invoice) {
        assert!(text.contains(&amount), "{amount} missing from\n{text}");
    }
    let (status, headers, html) = fetch(&admin, &path, Some("text/html"));
    assert_eq!(status, 200);
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(
        headers["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("default-src 'none'")
    );
    let html = String::from_utf8(html).unwrap();
    assert!(html.contains("PREVIEW") && html.contains(&amounts(&invoice)[0]));

    // Issued: the number and the totals are in it, and it is the kept document from now
    // on — changing the Invoice Settings does not change it.
    let issued = admin.ok(
        "POST",
        &format!("/api/v1/billing/invoices/{id}/issue"),
        Some(json!({})),
    );
    let number = issued["number"].as_str().unwrap().to_owned();
    let (_, headers, first) = fetch(&admin, &format!("{path}?format=pdf"), Some("text/html"));
    assert_eq!(
        headers["content-type"], "application/pdf",
        "the query wins over Accept"
    );
    assert!(
        headers["content-disposition"]
            .to_str()
            .unwrap()
            .contains(&format!("{number}.pdf"))
    );
    let text = pdf_text(&server.dir, &first);
    assert!(
        text.contains(&number) && !text.contains("PREVIEW"),
        "{text}"
    );
    for amount in amounts(&issued) {
        assert!(text.contains(&amount), "{amount} missing from\n{text}");
    }
    let mut settings = admin.ok("GET", "/api/v1/settings/invoices", None);
    settings["headerBackgroundColour"] = json!("#102030");
    settings["invoicePaymentDetails"] = json!("Pay to IBAN XX00 1234");
    admin.ok("PUT", "/api/v1/settings/invoices", Some(settings.clone()));
    let (_, _, again) = fetch(&admin, &path, Some("application/pdf"));
    assert!(again == first, "an issued invoice's document never changes");

    // A preview renders with today's settings.
    let other = invoices.iter().find(|i| i["id"] != json!(id)).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let other_path = format!("/api/v1/billing/invoices/{other}/document");
    let (_, _, fresh) = fetch(&admin, &other_path, None);
    assert!(pdf_text(&server.dir, &fresh).contains("Pay to IBAN XX00 1234"));

    // The CLI writes the kept bytes.
    let file = server.dir.join("invoice.pdf");
    let out = Command::new(env!("CARGO_BIN_EXE_stackbill"))
        .args([
            "invoice",
            "render",
            &id,
            "-o",
            file.to_str().unwrap(),
            "--database",
        ])
        .arg(server.database_url())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(std::fs::read(&file).unwrap() == first);

    // Errors: a format nobody renders, a media type nobody renders, an unusable logo.
    let (status, body) = admin.get(&format!("{path}?format=docx"));
    assert_eq!(status, 400, "{body}");
    assert!(body["errors"].to_string().contains("format"));
    let (status, _, _) = fetch(&admin, &path, Some("application/json"));
    assert_eq!(status, 406);
    // A logo the renderer could not draw is refused when it is saved, naming it.
    for bad in [
        "data:image/png;base64,bm90IGEgcG5n",
        "data:image/gif;base64,R0lGODlhAQABAAAAACw=",
        "https://example.com/logo.png",
    ] {
        settings["invoiceHeaderLogo"] = json!(bad);
        let (status, body) = admin.send("PUT", "/api/v1/settings/invoices", Some(settings.clone()));
        assert_eq!(status, 400, "{bad}: {body}");
        assert_eq!(body["errors"][0]["field"], "invoiceHeaderLogo", "{body}");
    }
    let (status, _, _) = fetch(&admin, &other_path, None);
    assert_eq!(status, 200, "nothing was saved");
    let (status, _, kept) = fetch(&admin, &path, None);
    assert!(
        status == 200 && kept == first,
        "the kept document is still served"
    );

    // Scope: another branch's reader cannot tell the invoice exists.
    let owner_partner = admin.ok(
        "GET",
        &format!("/api/v1/tenants/{}", invoice["tenantId"].as_str().unwrap()),
        None,
    )["partnerId"]
        .as_str()
        .unwrap()
        .to_owned();
    let stranger = if owner_partner == "part-000" {
        "part-001"
    } else {
        "part-000"
    };
    admin.ok(
        "POST",
        "/api/v1/users",
        Some(
            json!({"emailAddress": "reader@documents.test", "firstName": "R", "lastName": "P",
                    "password": "Documents-password-for-tests-1", "role": "PartnerReader",
                    "partnerId": stranger}),
        ),
    );
    let reader = server.login("reader@documents.test", "Documents-password-for-tests-1");
    let (status, _, body) = fetch(&reader, &path, None);
    assert_eq!(status, 404, "{}", String::from_utf8_lossy(&body));
}

/// A partner's own branding (over its distributor's, over the platform's) is on its
/// tenants' invoices and on no one else's; a bad one is refused when it is written.
#[test]
fn the_selling_partners_branding_is_on_its_tenants_invoices_only() {
    let server = Server::start_with(Db::Sqlite, true, &["--demo"]);
    let admin = server.admin();
    let invoices = bill_demo_month(&admin);
    let partner_of = |i: &Value| {
        let tenant = i["tenantId"].as_str().unwrap();
        admin.ok("GET", &format!("/api/v1/tenants/{tenant}"), None)["partnerId"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let ours = &invoices[0];
    let partner_id = partner_of(ours);
    let theirs = invoices
        .iter()
        .find(|i| partner_of(i) != partner_id)
        .expect("the demo bills tenants of several partners");
    let partner_path = format!("/api/v1/partners/{partner_id}");
    let mut partner = admin.ok("GET", &partner_path, None);
    partner["details"]["branding"] = json!({"headerBackgroundColour": "navy"});
    let (status, body) = admin.send("PUT", &partner_path, Some(partner.clone()));
    assert_eq!(status, 400, "{body}");
    assert!(
        body["errors"]
            .to_string()
            .contains("details.branding.headerBackgroundColour"),
        "{body}"
    );
    partner["details"]["branding"] = json!({"name": "Contoso Cloud",
        "paymentDetails": "BSB 062-000 Account 1234", "headerBackgroundColour": "#123456"});
    admin.ok("PUT", &partner_path, Some(partner));
    let distributor_path = format!(
        "/api/v1/distributors/{}",
        admin.ok("GET", &format!("/api/v1/partners/{partner_id}"), None)["distributorId"]
            .as_str()
            .unwrap()
    );
    let mut distributor = admin.ok("GET", &distributor_path, None);
    distributor["details"]["branding"] =
        json!({"name": "Southern Distribution", "supportEmail": "billing@southern.test"});
    admin.ok("PUT", &distributor_path, Some(distributor));

    let document = |invoice: &Value, accept: &str| {
        let id = invoice["id"].as_str().unwrap();
        let (status, _, bytes) = fetch(
            &admin,
            &format!("/api/v1/billing/invoices/{id}/document"),
            Some(accept),
        );
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&bytes));
        bytes
    };
    let html = String::from_utf8(document(ours, "text/html")).unwrap();
    for shown in [
        "Contoso Cloud",
        "BSB 062-000 Account 1234",
        "#123456",
        "billing@southern.test",
    ] {
        assert!(html.contains(shown), "{shown} missing from\n{html}");
    }
    assert!(
        !html.contains("Southern Distribution"),
        "the partner's name wins"
    );
    let text = pdf_text(&server.dir, &document(ours, "application/pdf"));
    assert!(
        text.contains("Contoso Cloud") && text.contains("BSB 062-000 Account 1234"),
        "{text}"
    );
    let html = String::from_utf8(document(theirs, "text/html")).unwrap();
    assert!(
        !html.contains("Contoso Cloud") && !html.contains("BSB 062-000"),
        "another partner's tenant keeps its own seller"
    );
}
