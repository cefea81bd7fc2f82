//! The PDF: an A4 layout of the invoice (our own, since krilla draws but does not lay out)
//! written with krilla, which embeds subset fonts with a Unicode map so the text can be
//! selected, searched and extracted.
//!
//! Layout runs first and yields pages of drawing operations; only then is the page count
//! known for "Page X of Y". The table's header row repeats at the top of every page it
//! continues on, a group heading is never left alone at the foot of a page, and nothing is
//! ever drawn below the footer band.

use krilla::Document;
use krilla::color::rgb;
use krilla::geom::{PathBuilder, Point, Rect, Size, Transform};
use krilla::image::Image;
use krilla::metadata::Metadata;
use krilla::num::NormalizedF32;
use krilla::page::PageSettings;
use krilla::paint::Fill;
use krilla::surface::Surface;
use krilla::text::TextDirection;

use crate::DocumentError;
use crate::model::{Colour, Invoice, Line, Logo, format_money, format_number};
use crate::text::{Face, Fonts};

const PAGE_W: f32 = 595.28;
const PAGE_H: f32 = 841.89;
const MARGIN: f32 = 40.0;
const HEADER_H: f32 = 84.0;
const FOOTER_H: f32 = 36.0;
const CONTENT_W: f32 = PAGE_W - 2.0 * MARGIN;
/// Lowest baseline-plus-descent the body may reach.
const BODY_BOTTOM: f32 = PAGE_H - FOOTER_H - 12.0;

const TABLE_SIZE: f32 = 7.5;
const TABLE_LEADING: f32 = 9.5;
const CELL_PAD: f32 = 3.0;

/// The table's columns: title, width, right-aligned.
const COLUMNS: [(&str, f32, bool); 8] = [
    ("Description", 124.0, false),
    ("Unit", 54.0, false),
    ("SKU", 48.0, false),
    ("Quantity", 52.0, true),
    ("Unit rate", 50.0, true),
    ("Price list", 62.0, false),
    ("FX rate", 40.0, true),
    ("Amount", 85.28, true),
];

#[derive(Debug, Clone)]
enum Op {
    Rect {
        rect: (f32, f32, f32, f32),
        colour: Colour,
    },
    Text {
        x: f32,
        baseline: f32,
        size: f32,
        bold: bool,
        colour: Colour,
        text: String,
    },
    Rule {
        y: f32,
        colour: Colour,
    },
}

struct Layout<'a> {
    fonts: &'a Fonts,
    invoice: &'a Invoice,
    pages: Vec<Vec<Op>>,
    y: f32,
}

/// Checks that a logo is a PNG or JPEG krilla can embed.
pub(crate) fn check_logo(logo: &Logo) -> Result<(), String> {
    image(logo).map(|_| ())
}

fn image(logo: &Logo) -> Result<Image, String> {
    let data = logo.bytes.clone().into();
    match logo.media_type {
        "image/png" => Image::from_png(data, true),
        _ => Image::from_jpeg(data, true),
    }
    .map_err(|e| format!("is not a readable {} image: {e}", logo.media_type))
}

impl Layout<'_> {
    fn face(&self, bold: bool) -> &Face {
        if bold {
            &self.fonts.bold
        } else {
            &self.fonts.regular
        }
    }

    fn ops(&mut self) -> &mut Vec<Op> {
        if self.pages.is_empty() {
            self.pages.push(Vec::new());
        }
        let last = self.pages.len().saturating_sub(1);
        &mut self.pages[last]
    }

    #[allow(clippy::too_many_arguments)]
    fn text(&mut self, x: f32, baseline: f32, size: f32, bold: bool, colour: Colour, text: &str) {
        if text.is_empty() {
            return;
        }
        self.ops().push(Op::Text {
            x,
            baseline,
            size,
            bold,
            colour,
            text: text.to_owned(),
        });
    }

    fn text_right(&mut self, right: f32, baseline: f32, size: f32, bold: bool, text: &str) {
        let colour = self.invoice.branding.body_font;
        let x = right - self.face(bold).width(text, size);
        self.text(x, baseline, size, bold, colour, text);
    }

    fn new_page(&mut self) {
        self.pages.push(Vec::new());
        self.y = MARGIN + HEADER_H;
    }

    /// Starts a new page unless `height` more points fit on this one.
    fn room(&mut self, height: f32) -> bool {
        if self.y + height > BODY_BOTTOM {
            self.new_page();
            return false;
        }
        true
    }

    fn party(&mut self, x: f32, heading: &str, party: &crate::model::Party, width: f32) -> f32 {
        let colour = self.invoice.branding.body_font;
        let mut y = self.y;
        self.text(x, y, 7.0, true, colour, heading);
        y += 12.0;
        for line in self.fonts.bold.wrap(&party.name, 10.0, width) {
            self.text(x, y, 10.0, true, colour, &line);
            y += 12.5;
        }
        for entry in &party.lines {
            for line in self.fonts.regular.wrap(entry, 8.5, width) {
                self.text(x, y, 8.5, false, colour, &line);
                y += 11.0;
            }
        }
        y
    }

    fn first_page(&mut self) {
        let inv = self.invoice;
        let half = CONTENT_W / 2.0 - 10.0;
        self.y = MARGIN + HEADER_H + 8.0;
        let left = self.party(MARGIN, "FROM", &inv.seller, half);
        let right = self.party(
            MARGIN + CONTENT_W / 2.0 + 10.0,
            "BILL TO",
            &inv.bill_to,
            half,
        );
        self.y = left.max(right) + 10.0;

        let colour = inv.branding.body_font;
        for (label, value) in inv.facts() {
            self.text(MARGIN, self.y, 8.5, true, colour, label);
            for line in self.fonts.regular.wrap(&value, 8.5, CONTENT_W - 110.0) {
                self.text(MARGIN + 110.0, self.y, 8.5, false, colour, &line);
                self.y += 11.5;
            }
        }
        self.y += 10.0;
    }

    fn table_header(&mut self) {
        // The column header is the grouping colours inverted, so it stands apart from the
        // group headings under it.
        let b = &self.invoice.branding;
        let (bg, fg) = (b.grouping_font, b.grouping_background);
        let height = TABLE_LEADING + 2.0 * CELL_PAD;
        let y = self.y;
        self.ops().push(Op::Rect {
            rect: (MARGIN, y, CONTENT_W, height),
            colour: bg,
        });
        let baseline = self.y + CELL_PAD + TABLE_SIZE;
        let mut x = MARGIN;
        for (title, width, right) in COLUMNS {
            let tx = if right {
                x + width - CELL_PAD - self.fonts.bold.width(title, TABLE_SIZE)
            } else {
                x + CELL_PAD
            };
            self.text(tx, baseline, TABLE_SIZE, true, fg, title);
            x += width;
        }
        self.y += height;
    }

    /// The cells of a line, wrapped to their columns.
    fn cells(&self, line: &Line, decimals: u32) -> Vec<Vec<String>> {
        let values = [
            line.description.clone(),
            line.unit.clone(),
            line.sku.clone().unwrap_or_default(),
            line.quantity.map(format_number).unwrap_or_default(),
            line.unit_rate.map(format_number).unwrap_or_default(),
            line.price_list.clone(),
            line.fx_rate.map(format_number).unwrap_or_default(),
            format_money(line.amount, decimals),
        ];
        values
            .iter()
            .zip(COLUMNS)
            .map(|(v, (_, width, right))| {
                if right {
                    // A number is never broken across lines (see `row`).
                    vec![v.clone()]
                } else {
                    self.fonts
                        .regular
                        .wrap(v, TABLE_SIZE, width - 2.0 * CELL_PAD)
                }
            })
            .collect()
    }

    fn row(&mut self, cells: &[Vec<String>], shade: bool) {
        let lines = cells.iter().map(Vec::len).max().unwrap_or(1).max(1);
        let height = lines as f32 * TABLE_LEADING + 2.0 * CELL_PAD;
        if !self.room(height) {
            self.table_header();
        }
        if shade {
            let y = self.y;
            self.ops().push(Op::Rect {
                rect: (MARGIN, y, CONTENT_W, height),
                colour: Colour(0xF6, 0xF6, 0xF6),
            });
        }
        let colour = self.invoice.branding.body_font;
        let mut x = MARGIN;
        for (cell, (_, width, right)) in cells.iter().zip(COLUMNS) {
            let mut baseline = self.y + CELL_PAD + TABLE_SIZE;
            for text in cell {
                if right {
                    // Numbers stay whole: one too wide for its column is set smaller.
                    let natural = self.fonts.regular.width(text, TABLE_SIZE);
                    let room = width - 2.0 * CELL_PAD;
                    let size = if natural > room {
                        TABLE_SIZE * room / natural
                    } else {
                        TABLE_SIZE
                    };
                    self.text_right(x + width - CELL_PAD, baseline, size, false, text);
                } else {
                    self.text(x + CELL_PAD, baseline, TABLE_SIZE, false, colour, text);
                }
                baseline += TABLE_LEADING;
            }
            x += width;
        }
        self.y += height;
    }

    fn group(&mut self, heading: &str, lines: &[Line]) {
        let b = &self.invoice.branding;
        let (bg, fg) = (b.grouping_background, b.grouping_font);
        let first = lines
            .first()
            .map(|l| self.cells(l, self.invoice.decimals))
            .map_or(0, |c| c.iter().map(Vec::len).max().unwrap_or(1));
        let heading_lines = self
            .fonts
            .bold
            .wrap(heading, 8.0, CONTENT_W - 2.0 * CELL_PAD);
        let height = heading_lines.len() as f32 * 10.0 + 2.0 * CELL_PAD;
        let keep = height + first as f32 * TABLE_LEADING + 2.0 * CELL_PAD;
        if !self.room(keep) {
            self.table_header();
        }
        let y = self.y;
        self.ops().push(Op::Rect {
            rect: (MARGIN, y, CONTENT_W, height),
            colour: bg,
        });
        let mut baseline = self.y + CELL_PAD + 8.0;
        for line in &heading_lines {
            self.text(MARGIN + CELL_PAD, baseline, 8.0, true, fg, line);
            baseline += 10.0;
        }
        self.y += height;
        for (i, line) in lines.iter().enumerate() {
            let cells = self.cells(line, self.invoice.decimals);
            self.row(&cells, i % 2 == 1);
        }
    }

    fn totals(&mut self) {
        let inv = self.invoice;
        let d = inv.decimals;
        let rows = [
            ("Subtotal", format_money(inv.subtotal, d), false),
            (inv.tax_label.as_str(), format_money(inv.tax, d), false),
            (
                "Total",
                format!("{} {}", format_money(inv.total, d), inv.currency),
                true,
            ),
        ];
        self.y += 8.0;
        self.room(3.0 * 14.0 + 6.0);
        let colour = inv.branding.body_font;
        let y = self.y;
        self.ops().push(Op::Rule { y, colour });
        self.y += 12.0;
        let right = MARGIN + CONTENT_W - CELL_PAD;
        for (label, value, bold) in rows {
            let size = if bold { 10.0 } else { 8.5 };
            self.text(
                MARGIN + CONTENT_W - 230.0,
                self.y,
                size,
                bold,
                colour,
                label,
            );
            self.text_right(right, self.y, size, bold, &value);
            self.y += 14.0;
        }
    }

    fn payment_details(&mut self) {
        let Some(details) = self.invoice.payment_details.clone() else {
            return;
        };
        let colour = self.invoice.branding.body_font;
        self.y += 10.0;
        self.room(30.0);
        self.text(MARGIN, self.y, 8.5, true, colour, "Payment details");
        self.y += 12.0;
        for line in self.fonts.regular.wrap(&details, 8.5, CONTENT_W) {
            self.room(11.0);
            self.text(MARGIN, self.y, 8.5, false, colour, &line);
            self.y += 11.0;
        }
    }
}

fn fill(colour: Colour) -> Fill {
    Fill {
        paint: rgb::Color::new(colour.0, colour.1, colour.2).into(),
        opacity: NormalizedF32::ONE,
        rule: Default::default(),
    }
}

fn rect(surface: &mut Surface<'_>, (x, y, w, h): (f32, f32, f32, f32), colour: Colour) {
    let Some(r) = Rect::from_xywh(x, y, w, h) else {
        return;
    };
    let mut pb = PathBuilder::new();
    pb.push_rect(r);
    if let Some(path) = pb.finish() {
        surface.set_fill(Some(fill(colour)));
        surface.draw_path(&path);
    }
}

fn draw_text(surface: &mut Surface<'_>, face: &Face, x: f32, y: f32, size: f32, text: &str) {
    let mut x = x;
    for run in face.runs(text) {
        let direction = if run.rtl {
            TextDirection::RightToLeft
        } else {
            TextDirection::LeftToRight
        };
        surface.draw_text(
            Point::from_xy(x, y),
            face.pdf.clone(),
            size,
            &run.text,
            false,
            direction,
        );
        x += run.width * size;
    }
}

/// Lays the invoice out and writes the PDF.
pub(crate) fn render(invoice: &Invoice, fonts: &Fonts) -> Result<Vec<u8>, DocumentError> {
    let logo = invoice
        .branding
        .logo
        .as_ref()
        .map(|l| {
            image(l).map_err(|why| DocumentError::Setting {
                field: "invoiceHeaderLogo".into(),
                why,
            })
        })
        .transpose()?;
    let mut layout = Layout {
        fonts,
        invoice,
        pages: vec![Vec::new()],
        y: 0.0,
    };
    layout.first_page();
    layout.table_header();
    for group in &invoice.groups {
        layout.group(&group.heading, &group.lines);
    }
    layout.totals();
    layout.payment_details();

    let mut document = Document::new();
    let title = match &invoice.number {
        Some(n) => format!("{} {n}", invoice.title),
        None => format!("{} (preview) — {}", invoice.title, invoice.bill_to.name),
    };
    document.set_metadata(
        Metadata::new()
            .title(title)
            .authors(vec![invoice.seller.name.clone()])
            .language("en".into())
            .creator("StackBill".into()),
    );
    let count = layout.pages.len();
    for (index, ops) in layout.pages.iter().enumerate() {
        let Some(settings) = PageSettings::from_wh(PAGE_W, PAGE_H) else {
            return Err(DocumentError::Pdf("A4 is not a page size".into()));
        };
        let mut page = document.start_page_with(settings);
        let mut surface = page.surface();
        let b = &invoice.branding;
        rect(&mut surface, (0.0, 0.0, PAGE_W, PAGE_H), b.body_background);
        page_header(&mut surface, invoice, fonts, logo.as_ref());
        for op in ops {
            match op {
                Op::Rect { rect: r, colour } => rect(&mut surface, *r, *colour),
                Op::Rule { y, colour } => rect(&mut surface, (MARGIN, *y, CONTENT_W, 0.6), *colour),
                Op::Text {
                    x,
                    baseline,
                    size,
                    bold,
                    colour,
                    text,
                } => {
                    surface.set_fill(Some(fill(*colour)));
                    let face = if *bold { &fonts.bold } else { &fonts.regular };
                    draw_text(&mut surface, face, *x, *baseline, *size, text);
                }
            }
        }
        page_footer(&mut surface, invoice, fonts, index.saturating_add(1), count);
        if invoice.preview {
            watermark(&mut surface, fonts);
        }
        surface.finish();
        page.finish();
    }
    document
        .finish()
        .map_err(|e| DocumentError::Pdf(format!("{e:?}")))
}

fn page_header(surface: &mut Surface<'_>, inv: &Invoice, fonts: &Fonts, logo: Option<&Image>) {
    let b = &inv.branding;
    rect(
        surface,
        (0.0, 0.0, PAGE_W, MARGIN + HEADER_H - 16.0),
        b.header_background,
    );
    if let Some(image) = logo {
        let (w, h) = image.size();
        let (w, h) = (w.max(1) as f32, h.max(1) as f32);
        let scale = (160.0 / w).min(52.0 / h);
        if let Some(size) = Size::from_wh(w * scale, h * scale) {
            surface.push_transform(&Transform::from_translate(MARGIN, MARGIN - 8.0));
            surface.draw_image(image.clone(), size);
            surface.pop();
        }
    }
    surface.set_fill(Some(fill(b.header_font)));
    let right = MARGIN + CONTENT_W;
    let title = inv.title.to_uppercase();
    let w = fonts.bold.width(&title, 18.0);
    draw_text(surface, &fonts.bold, right - w, MARGIN + 8.0, 18.0, &title);
    let sub = match &inv.number {
        Some(n) => n.clone(),
        None => "PREVIEW — not issued".to_owned(),
    };
    let w = fonts.regular.width(&sub, 9.0);
    draw_text(surface, &fonts.regular, right - w, MARGIN + 24.0, 9.0, &sub);
    let seller = &inv.seller.name;
    let w = fonts.regular.width(seller, 8.0);
    draw_text(
        surface,
        &fonts.regular,
        right - w,
        MARGIN + 36.0,
        8.0,
        seller,
    );
}

fn page_footer(surface: &mut Surface<'_>, inv: &Invoice, fonts: &Fonts, page: usize, count: usize) {
    let b = &inv.branding;
    rect(
        surface,
        (0.0, PAGE_H - FOOTER_H, PAGE_W, FOOTER_H),
        b.footer_background,
    );
    surface.set_fill(Some(fill(b.footer_font)));
    let baseline = PAGE_H - FOOTER_H / 2.0 + 3.0;
    let left = match &inv.number {
        Some(n) => format!("{} · {n}", inv.seller.name),
        None => format!("{} · PREVIEW", inv.seller.name),
    };
    draw_text(surface, &fonts.regular, MARGIN, baseline, 7.5, &left);
    let numbering = format!("Page {page} of {count}");
    let w = fonts.regular.width(&numbering, 7.5);
    draw_text(
        surface,
        &fonts.regular,
        MARGIN + CONTENT_W - w,
        baseline,
        7.5,
        &numbering,
    );
}

fn watermark(surface: &mut Surface<'_>, fonts: &Fonts) {
    let size = 110.0;
    let w = fonts.bold.width("PREVIEW", size);
    surface.push_transform(&Transform::from_rotate_at(
        -40.0,
        PAGE_W / 2.0,
        PAGE_H / 2.0,
    ));
    surface.push_opacity(NormalizedF32::new(0.12).unwrap_or(NormalizedF32::ONE));
    surface.set_fill(Some(fill(Colour(0xC0, 0x10, 0x10))));
    draw_text(
        surface,
        &fonts.bold,
        (PAGE_W - w) / 2.0,
        PAGE_H / 2.0 + size / 3.0,
        size,
        "PREVIEW",
    );
    surface.pop();
    surface.pop();
}
