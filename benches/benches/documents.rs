//! Invoice documents: one 20-line invoice as PDF and as HTML, and the PDFs of a month-end
//! run for 2,000 tenants rendered one after another on one core.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::hint::black_box;

use chrono::NaiveDate;
use criterion::{Criterion, criterion_group, criterion_main};
use rust_decimal::Decimal;
use stackbill_document::{Branding, Group, Invoice, Line, Party, render_html, render_pdf};

/// A tenant's invoice with `lines` lines over two subscriptions.
fn invoice(tenant: usize, lines: usize) -> Invoice {
    let charge = |n: usize| Line {
        description: format!("Virtual machine, D{} series", 2 + n % 4),
        unit: "vCPU-hour".into(),
        sku: Some(format!("D{}v3", 2 + n % 4)),
        quantity: Some(Decimal::new(7_440 + n as i64 * 13, 1)),
        unit_rate: Some(Decimal::new(48, 3)),
        price_list: format!("tenant-{tenant:05}-2026"),
        fx_rate: None,
        amount: Decimal::new(357_120 + n as i64 * 624, 4).round_dp(2),
    };
    let all: Vec<Line> = (0..lines).map(charge).collect();
    let (a, b) = all.split_at(lines / 2);
    let subtotal: Decimal = all.iter().map(|l| l.amount).sum();
    let tax = (subtotal / Decimal::TEN).round_dp(2);
    Invoice {
        title: "Invoice".into(),
        preview: false,
        number: Some(format!("INV-2026-{tenant:06}")),
        issue_date: NaiveDate::from_ymd_opt(2026, 11, 3),
        due_date: NaiveDate::from_ymd_opt(2026, 12, 3),
        period: "1 Oct 2026 – 31 Oct 2026 (Australia/Sydney)".into(),
        seller: Party {
            name: "Contoso Cloud".into(),
            lines: vec!["billing@contoso.example".into()],
        },
        bill_to: Party {
            name: format!("Tenant {tenant:05} Pty Ltd"),
            lines: vec![
                format!("ap@tenant{tenant}.example"),
                "1 George St, Sydney".into(),
            ],
        },
        currency: "AUD".into(),
        decimals: 2,
        groups: vec![
            Group {
                heading: "Production".into(),
                lines: a.to_vec(),
            },
            Group {
                heading: "Test".into(),
                lines: b.to_vec(),
            },
        ],
        subtotal,
        tax_label: "Tax (10%)".into(),
        tax,
        total: subtotal + tax,
        payment_details: Some("BSB 062-000, account 1234 5678".into()),
        branding: Branding::default(),
    }
}

fn documents(c: &mut Criterion) {
    let one = invoice(1, 20);
    c.bench_function("document/pdf_20_lines", |b| {
        b.iter(|| render_pdf(black_box(&one)).unwrap())
    });
    c.bench_function("document/html_20_lines", |b| {
        b.iter(|| render_html(black_box(&one)))
    });
    let month: Vec<Invoice> = (0..2_000).map(|t| invoice(t, 20)).collect();
    let mut group = c.benchmark_group("document");
    group.sample_size(10);
    group.bench_function("pdf_2000_tenants", |b| {
        b.iter(|| {
            let bytes: usize = month.iter().map(|i| render_pdf(i).unwrap().len()).sum();
            black_box(bytes)
        })
    });
    group.finish();
}

criterion_group!(benches, documents);
criterion_main!(benches);
