//! The HTML document: the same content as the PDF, one self-contained page (styles inline,
//! the logo as a `data:` URL) that prints with the table header repeated on every page.
//! Every value is escaped; nothing from the invoice is ever markup.

use std::fmt::Write;

use crate::model::{Invoice, Party, format_money, format_number};

/// Escapes text for element content and quoted attribute values.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn party(out: &mut String, heading: &str, p: &Party) {
    let _ = write!(
        out,
        "<div class=\"party\"><h2>{}</h2><p><strong dir=\"auto\">{}</strong>",
        heading,
        escape(&p.name)
    );
    for line in &p.lines {
        let _ = write!(out, "<br><span dir=\"auto\">{}</span>", escape(line));
    }
    out.push_str("</p></div>");
}

const COLUMNS: [(&str, bool); 8] = [
    ("Description", false),
    ("Unit", false),
    ("SKU", false),
    ("Quantity", true),
    ("Unit rate", true),
    ("Price list", false),
    ("FX rate", true),
    ("Amount", true),
];

/// Renders the invoice as one HTML page.
pub(crate) fn render(inv: &Invoice) -> String {
    let b = &inv.branding;
    let d = inv.decimals;
    let title = match &inv.number {
        Some(n) => format!("{} {n}", inv.title),
        None => format!("{} (preview)", inv.title),
    };
    let mut out = String::with_capacity(4096 + inv.groups.len() * 2048);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>{title}</title><style>\
body{{margin:0;font-family:\"DejaVu Sans\",Verdana,sans-serif;font-size:10pt;background:{body_bg};color:{body_fg}}}\
header{{background:{head_bg};color:{head_fg};padding:16px 32px;display:flex;justify-content:space-between;align-items:center}}\
header img{{max-height:52px;max-width:160px}}\
header h1{{margin:0;font-size:20pt;text-transform:uppercase;text-align:right}}\
main{{padding:16px 32px}}\
.parties{{display:flex;gap:32px;flex-wrap:wrap}}.party{{flex:1;min-width:200px}}\
h2{{font-size:8pt;margin:0 0 4px}}\
dl{{display:grid;grid-template-columns:max-content 1fr;gap:2px 16px}}dt{{font-weight:bold}}dd{{margin:0}}\
table{{border-collapse:collapse;width:100%;font-size:8pt}}thead{{display:table-header-group}}\
thead th{{background:{group_fg};color:{group_bg};text-align:left;padding:3px}}\
th.num,td.num{{text-align:right}}td{{padding:3px;vertical-align:top}}\
tbody tr:nth-child(even) td{{background:#f6f6f6}}\
tr.group th{{background:{group_bg};color:{group_fg};text-align:left;padding:3px}}\
.totals{{margin-left:auto;margin-top:12px}}.totals td{{padding:2px 8px}}.totals tr.total td{{font-weight:bold;font-size:11pt}}\
.preview{{color:#c01010;font-weight:bold}}\
footer{{background:{foot_bg};color:{foot_fg};padding:8px 32px;font-size:8pt}}\
.details{{white-space:pre-wrap}}\
</style></head><body>",
        title = escape(&title),
        body_bg = b.body_background.css(),
        body_fg = b.body_font.css(),
        head_bg = b.header_background.css(),
        head_fg = b.header_font.css(),
        group_bg = b.grouping_background.css(),
        group_fg = b.grouping_font.css(),
        foot_bg = b.footer_background.css(),
        foot_fg = b.footer_font.css(),
    );
    out.push_str("<header><div>");
    if let Some(logo) = &b.logo {
        let _ = write!(
            out,
            "<img src=\"{}\" alt=\"{}\">",
            logo.data_url(),
            escape(&inv.seller.name)
        );
    }
    let _ = write!(
        out,
        "</div><div><h1>{}</h1><div>{}</div><div>{}</div></div></header><main>",
        escape(&inv.title),
        match &inv.number {
            Some(n) => escape(n),
            None => "<span class=\"preview\">PREVIEW — not issued</span>".to_owned(),
        },
        escape(&inv.seller.name)
    );
    out.push_str("<div class=\"parties\">");
    party(&mut out, "FROM", &inv.seller);
    party(&mut out, "BILL TO", &inv.bill_to);
    out.push_str("</div><dl>");
    for (label, value) in inv.facts() {
        let _ = write!(out, "<dt>{label}</dt><dd>{}</dd>", escape(&value));
    }
    out.push_str("</dl><table><thead><tr>");
    for (name, num) in COLUMNS {
        let class = if num { " class=\"num\"" } else { "" };
        let _ = write!(out, "<th scope=\"col\"{class}>{name}</th>");
    }
    out.push_str("</tr></thead>");
    for group in &inv.groups {
        let _ = write!(
            out,
            "<tbody><tr class=\"group\"><th colspan=\"8\" scope=\"rowgroup\" dir=\"auto\">{}</th></tr>",
            escape(&group.heading)
        );
        for l in &group.lines {
            let cells = [
                (escape(&l.description), false),
                (escape(&l.unit), false),
                (escape(l.sku.as_deref().unwrap_or("")), false),
                (l.quantity.map(format_number).unwrap_or_default(), true),
                (l.unit_rate.map(format_number).unwrap_or_default(), true),
                (escape(&l.price_list), false),
                (l.fx_rate.map(format_number).unwrap_or_default(), true),
                (format_money(l.amount, d), true),
            ];
            out.push_str("<tr>");
            for (text, num) in cells {
                let class = if num { " class=\"num\"" } else { "" };
                let _ = write!(out, "<td{class}>{text}</td>");
            }
            out.push_str("</tr>");
        }
        out.push_str("</tbody>");
    }
    let _ = write!(
        out,
        "</table><table class=\"totals\" aria-label=\"Totals\">\
<tr><td>Subtotal</td><td class=\"num\">{}</td></tr>\
<tr><td>{}</td><td class=\"num\">{}</td></tr>\
<tr class=\"total\"><td>Total</td><td class=\"num\">{} {}</td></tr></table>",
        format_money(inv.subtotal, d),
        escape(&inv.tax_label),
        format_money(inv.tax, d),
        format_money(inv.total, d),
        escape(&inv.currency),
    );
    if let Some(details) = &inv.payment_details {
        let _ = write!(
            out,
            "<h2>Payment details</h2><p class=\"details\">{}</p>",
            escape(details)
        );
    }
    let _ = writeln!(
        out,
        "</main><footer>{} · {}</footer></body></html>",
        escape(&inv.seller.name),
        inv.number
            .as_deref()
            .map_or_else(|| "PREVIEW".to_owned(), escape)
    );
    out
}
