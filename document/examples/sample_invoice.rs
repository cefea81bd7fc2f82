//! Renders a sample branded invoice (logo, colours, two subscriptions, FX, a credit, an
//! adjustment, tax, payment details, a right-to-left tenant name) to PDF and HTML — what
//! `docs/invoice-*.png` show:
//!
//! ```sh
//! cargo run -p stackbill-document --example sample_invoice -- /tmp/sample
//! pdftoppm -png -r 70 /tmp/sample.pdf docs/invoice
//! ```

use chrono::NaiveDate;
use rust_decimal::Decimal;
use stackbill_document::{
    Branding, Colour, Group, Invoice, Line, Logo, Party, render_html, render_pdf,
};

fn d(text: &str) -> Decimal {
    text.parse().unwrap_or_default()
}

fn line(meter: &str, unit: &str, sku: Option<&str>, qty: &str, rate: &str, amount: &str) -> Line {
    Line {
        description: meter.into(),
        unit: unit.into(),
        sku: sku.map(str::to_owned),
        quantity: Some(d(qty)),
        unit_rate: Some(d(rate)),
        price_list: "aus-east-2026".into(),
        fx_rate: None,
        amount: d(amount),
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "sample-invoice".into());
    let mut production: Vec<Line> = (0..48)
        .map(|i| {
            let q = format!("{}.{}", 700 + i * 3, i % 10);
            let amount = d(&q) * d("0.0480");
            line(
                &format!("Virtual machine cores, D{}s v3", 2 + i % 4),
                "vCPU-hour",
                Some(&format!("D{}sv3", 2 + i % 4)),
                &q,
                "0.0480",
                &amount.round_dp(2).to_string(),
            )
        })
        .collect();
    let mut fx = line(
        "Premium storage (P30)",
        "GB-month",
        Some("P30"),
        "1024",
        "0.1200",
        "189.53",
    );
    fx.price_list = "usd-premium".into();
    fx.fx_rate = Some(d("1.5424"));
    production.push(fx);
    let test = vec![
        line(
            "Standard storage (LRS)",
            "GB-month",
            None,
            "512.25",
            "0.0240",
            "12.29",
        ),
        line("Data transfer out", "GB", None, "88.5", "0.0870", "7.70"),
    ];
    let credits = vec![Line {
        description: "Credit: onboarding".into(),
        unit: String::new(),
        sku: None,
        quantity: None,
        unit_rate: None,
        price_list: "aus-east-2026".into(),
        fx_rate: None,
        amount: d("-50.00"),
    }];
    let adjustments = vec![line(
        "Virtual machine cores, D2s v3 — Production, adjusting September 2026",
        "vCPU-hour",
        Some("D2sv3"),
        "36",
        "0.0480",
        "1.73",
    )];
    let groups = vec![
        Group {
            heading: "Production (8f2a6c1e-…-01)".into(),
            lines: production,
        },
        Group {
            heading: "Test (8f2a6c1e-…-02)".into(),
            lines: test,
        },
        Group {
            heading: "Account".into(),
            lines: credits,
        },
        Group {
            heading: "Adjustments to September 2026".into(),
            lines: adjustments,
        },
    ];
    let subtotal: Decimal = groups.iter().flat_map(|g| &g.lines).map(|l| l.amount).sum();
    let tax = (subtotal / Decimal::TEN).round_dp(2);
    let logo = Logo {
        media_type: "image/png",
        bytes: include_bytes!("logo.png").to_vec(),
    };
    let invoice = Invoice {
        title: "Invoice".into(),
        preview: false,
        number: Some("INV-2026-000137".into()),
        issue_date: NaiveDate::from_ymd_opt(2026, 11, 3),
        due_date: NaiveDate::from_ymd_opt(2026, 12, 3),
        period: "1 Oct 2026 – 31 Oct 2026 (Australia/Sydney)".into(),
        seller: Party {
            name: "Contoso Cloud".into(),
            lines: vec!["billing@contoso.example".into()],
        },
        bill_to: Party {
            name: "שלום מחשוב בע\"מ (Shalom Computing Ltd)".into(),
            lines: vec!["ap@shalom.example".into(), "12 Rothschild Blvd".into(), "Tel Aviv".into()],
        },
        currency: "AUD".into(),
        decimals: 2,
        groups,
        subtotal,
        tax_label: "Tax (10%)".into(),
        tax,
        total: subtotal + tax,
        payment_details: Some(
            "Bank transfer to Contoso Cloud Pty Ltd, BSB 062-000, account 1234 5678.\nPlease quote the invoice number.".into(),
        ),
        branding: Branding {
            header_background: Colour(0x0F, 0x6C, 0xBD),
            header_font: Colour(255, 255, 255),
            footer_background: Colour(0xF3, 0xF6, 0xFA),
            footer_font: Colour(0x33, 0x33, 0x33),
            grouping_background: Colour(0xDD, 0xEB, 0xF7),
            grouping_font: Colour(0x0B, 0x3D, 0x6B),
            logo: Some(logo),
            ..Branding::default()
        },
    };
    std::fs::write(format!("{out}.pdf"), render_pdf(&invoice)?)?;
    std::fs::write(format!("{out}.html"), render_html(&invoice))?;
    println!("{out}.pdf and {out}.html written");
    Ok(())
}
