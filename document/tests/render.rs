//! Rendered invoices read back with poppler (`pdftotext -layout`, `pdffonts`, `pdfinfo`),
//! which the README's test command installs: every amount, the totals and the number must
//! be in the text, and the fonts embedded.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write;
use std::process::Command;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use stackbill_document::{
    Branding, Colour, Group, Invoice, Line, Party, format_money, render_html, render_pdf,
};

fn dec(s: &str) -> Decimal {
    s.parse().unwrap()
}

fn line(i: usize, amount: &str) -> Line {
    Line {
        description: format!("Standard storage meter {i}"),
        unit: "GB-month".into(),
        sku: Some(format!("STD-{i:03}")),
        quantity: Some(dec("12.5")),
        unit_rate: Some(dec("0.0240")),
        price_list: "platform-2026".into(),
        fx_rate: None,
        amount: dec(amount),
    }
}

fn invoice(groups: Vec<Group>, currency: &str, decimals: u32) -> Invoice {
    let subtotal: Decimal = groups.iter().flat_map(|g| &g.lines).map(|l| l.amount).sum();
    let tax = (subtotal * dec("0.1")).round_dp(decimals);
    Invoice {
        title: "Invoice".into(),
        preview: false,
        number: Some("INV-2026-000042".into()),
        issue_date: NaiveDate::from_ymd_opt(2026, 11, 3),
        due_date: NaiveDate::from_ymd_opt(2026, 12, 3),
        period: "1 Oct 2026 – 31 Oct 2026 (Europe/Berlin)".into(),
        seller: Party {
            name: "Contoso Cloud".into(),
            lines: vec!["1 Harbour Street".into(), "Sydney NSW 2000".into()],
        },
        bill_to: Party {
            name: "Fabrikam Ltd".into(),
            lines: vec![
                "billing@fabrikam.example".into(),
                "Main St 5, Berlin".into(),
            ],
        },
        currency: currency.into(),
        decimals,
        groups,
        subtotal,
        tax_label: "Tax (10%)".into(),
        tax,
        total: subtotal + tax,
        payment_details: Some(
            "IBAN DE89 3704 0044 0532 0130 00\nReference: your invoice number".into(),
        ),
        branding: Branding {
            header_background: Colour(0x0F, 0x6C, 0xBD),
            header_font: Colour(255, 255, 255),
            ..Branding::default()
        },
    }
}

fn poppler(tool: &str, args: &[&str], pdf: &[u8]) -> String {
    let mut file = tempfile();
    file.1.write_all(pdf).unwrap();
    let out = Command::new(tool)
        .args(args)
        .arg(&file.0)
        .args(if tool == "pdftotext" {
            vec!["-"]
        } else {
            vec![]
        })
        .output()
        .unwrap_or_else(|e| panic!("{tool} (poppler-utils, installed by scripts/test): {e}"));
    assert!(
        out.status.success(),
        "{tool}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let _ = std::fs::remove_file(&file.0);
    String::from_utf8(out.stdout).unwrap()
}

fn tempfile() -> (std::path::PathBuf, std::fs::File) {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let path = std::env::temp_dir().join(format!("stackbill-doc-{}-{n}.pdf", std::process::id()));
    let file = std::fs::File::create(&path).unwrap();
    (path, file)
}

fn text_of(pdf: &[u8]) -> String {
    poppler("pdftotext", &["-layout"], pdf)
}

#[test]
fn two_hundred_lines_run_over_pages_with_every_amount_and_the_header_repeated() {
    let lines: Vec<Line> = (0..200)
        .map(|i| line(i, &format!("{}.{:02}", 1000 + i * 37, i % 100)))
        .collect();
    let (a, b) = lines.split_at(120);
    let inv = invoice(
        vec![
            Group {
                heading: "Production (0b5e…-01)".into(),
                lines: a.to_vec(),
            },
            Group {
                heading: "Test (0b5e…-02)".into(),
                lines: b.to_vec(),
            },
        ],
        "EUR",
        2,
    );
    let pdf = render_pdf(&inv).unwrap();
    let text = text_of(&pdf);
    let pages: Vec<&str> = text
        .split('\u{c}')
        .filter(|p| !p.trim().is_empty())
        .collect();
    assert!(
        pages.len() >= 4,
        "200 lines take several pages, got {}",
        pages.len()
    );
    for (i, page) in pages.iter().enumerate() {
        if page.contains("Standard storage meter") {
            assert!(
                page.contains("Description") && page.contains("Amount"),
                "header on page {}",
                i + 1
            );
        }
        assert!(page.contains(&format!("Page {} of {}", i + 1, pages.len())));
        assert!(page.contains("INV-2026-000042"));
    }
    for l in &inv.groups.iter().flat_map(|g| &g.lines).collect::<Vec<_>>() {
        assert!(text.contains(&format_money(l.amount, 2)), "{}", l.amount);
    }
    for total in [inv.subtotal, inv.tax, inv.total] {
        assert!(text.contains(&format_money(total, 2)), "{total}");
    }
    let fonts = poppler("pdffonts", &[], &pdf);
    let rows: Vec<&str> = fonts.lines().skip(2).collect();
    assert_eq!(rows.len(), 2, "{fonts}");
    for row in rows {
        assert!(row.contains("DejaVuSans"), "{row}");
        let cols: Vec<&str> = row.split_whitespace().collect();
        let n = cols.len();
        assert_eq!(
            &cols[n - 5..n - 2],
            &["yes", "yes", "yes"],
            "emb sub uni: {row}"
        );
    }
    assert_eq!(
        render_pdf(&inv).unwrap(),
        pdf,
        "the same invoice gives the same bytes"
    );
}

#[test]
fn credits_fx_adjustments_and_kwd_show_with_their_own_digits() {
    let mut fx = line(1, "84.375");
    fx.fx_rate = Some(dec("0.3075"));
    fx.price_list = "usd-list".into();
    let credit = Line {
        description: "Credit: onboarding".into(),
        unit: String::new(),
        sku: None,
        quantity: None,
        unit_rate: None,
        price_list: "platform-2026".into(),
        fx_rate: None,
        amount: dec("-10.000"),
    };
    let mut adj = line(2, "1.250");
    adj.description = "Standard storage — adjustment for 2026-09".into();
    let inv = invoice(
        vec![
            Group {
                heading: "Production".into(),
                lines: vec![fx, line(3, "1234567.891")],
            },
            Group {
                heading: "Account credits".into(),
                lines: vec![credit],
            },
            Group {
                heading: "Adjustments to 2026-09".into(),
                lines: vec![adj],
            },
        ],
        "KWD",
        3,
    );
    let text = text_of(&render_pdf(&inv).unwrap());
    for needle in [
        "84.375",
        "0.3075",
        "1,234,567.891",
        "-10.000",
        "1.250",
        "Adjustments to 2026-09",
        "adjustment for 2026-09",
        "Tax (10%)",
        "KWD",
        "IBAN DE89",
    ] {
        assert!(text.contains(needle), "{needle} in\n{text}");
    }
    assert!(text.contains(&format_money(inv.total, 3)));
    let html = render_html(&inv);
    assert!(html.contains("1,234,567.891") && html.contains(&format_money(inv.total, 3)));
}

#[test]
fn right_to_left_names_are_drawn_in_reading_order_and_markup_is_escaped() {
    let mut inv = invoice(
        vec![Group {
            heading: "Main".into(),
            lines: vec![line(1, "5.00")],
        }],
        "ILS",
        2,
    );
    inv.bill_to.name = "שלום מחשוב בע\"מ".into();
    inv.seller.name = "<script>alert(1)</script> Cloud".into();
    let text = text_of(&render_pdf(&inv).unwrap());
    // pdftotext gives visual order per run; the Hebrew words must be there, each intact.
    assert!(text.contains("שלום") || text.contains("םולש"), "{text}");
    assert!(text.contains("מחשוב") || text.contains("בושחמ"), "{text}");
    let html = render_html(&inv);
    assert!(html.contains("&lt;script&gt;") && !html.contains("<script>"));
    assert!(html.contains("שלום מחשוב"));
}

#[test]
fn a_preview_says_so_on_every_page_and_has_no_number() {
    let lines: Vec<Line> = (0..90).map(|i| line(i, "1.00")).collect();
    let mut inv = invoice(
        vec![Group {
            heading: "Main".into(),
            lines,
        }],
        "EUR",
        2,
    );
    inv.preview = true;
    inv.number = None;
    inv.issue_date = None;
    inv.due_date = None;
    let text = text_of(&render_pdf(&inv).unwrap());
    let pages: Vec<&str> = text
        .split('\u{c}')
        .filter(|p| !p.trim().is_empty())
        .collect();
    assert!(pages.len() >= 2);
    assert!(pages.iter().all(|p| p.contains("PREVIEW")));
    assert!(!text.contains("INV-"));
    assert!(render_html(&inv).contains("PREVIEW"));
}
