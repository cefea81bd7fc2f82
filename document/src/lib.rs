//! Invoice documents: what a tenant pays from.
//!
//! The caller resolves an invoice into a [`model::Invoice`] (names, branding, the period in
//! the tenant's time zone); this crate renders it as a PDF ([`pdf`]) and as HTML ([`html`])
//! with the same content. No I/O and no clock: the same invoice gives the same bytes, which
//! is what lets an issued invoice's stored document be checked against a re-render.
//!
//! krilla writes the PDF (subset, embedded fonts with a Unicode map, so text can be
//! selected and extracted); the layout — columns, wrapping, pagination with the table
//! header repeated, page numbers — is ours, in [`pdf`].

mod html;
pub mod model;
mod pdf;
mod text;

pub use model::{Branding, Colour, Group, Invoice, Line, Logo, Party, format_money};

/// Why a document could not be rendered.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DocumentError {
    /// A branding setting cannot be used (which setting, and why).
    #[error("invoice setting {field}: {why}")]
    Setting {
        /// The setting's name as System Settings shows it.
        field: String,
        /// What is wrong with it.
        why: String,
    },
    /// The PDF writer refused the document.
    #[error("the PDF could not be written: {0}")]
    Pdf(String),
}

/// The invoice as a PDF (A4, fonts embedded).
pub fn render_pdf(invoice: &Invoice) -> Result<Vec<u8>, DocumentError> {
    let fonts = text::fonts()
        .ok_or_else(|| DocumentError::Pdf("the compiled-in fonts do not parse".into()))?;
    pdf::render(invoice, fonts)
}

/// The invoice as one self-contained HTML page.
pub fn render_html(invoice: &Invoice) -> String {
    html::render(invoice)
}
