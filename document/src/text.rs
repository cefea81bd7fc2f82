//! Fonts, measuring and line breaking. The fonts are compiled in (DejaVu Sans, which covers
//! Latin, Greek, Cyrillic, Hebrew and Arabic), so a document renders the same on every
//! machine. Text is split into bidirectional runs (UAX #9) and each run shaped with the
//! same shaper krilla draws with, so a measured width is the drawn width and right-to-left
//! names come out in reading order.

use std::sync::OnceLock;

use krilla::text::Font;
use rustybuzz::{Direction, UnicodeBuffer};
use unicode_bidi::BidiInfo;

static REGULAR: &[u8] = include_bytes!("../fonts/DejaVuSans.ttf");
static BOLD: &[u8] = include_bytes!("../fonts/DejaVuSans-Bold.ttf");

/// A font as the PDF embeds it and as the shaper measures it.
pub(crate) struct Face {
    pub(crate) pdf: Font,
    shaper: rustybuzz::Face<'static>,
    units_per_em: f32,
}

impl std::fmt::Debug for Face {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Face").finish_non_exhaustive()
    }
}

/// The two weights a document uses.
#[derive(Debug)]
pub(crate) struct Fonts {
    pub(crate) regular: Face,
    pub(crate) bold: Face,
}

fn face(bytes: &'static [u8]) -> Option<Face> {
    let shaper = rustybuzz::Face::from_slice(bytes, 0)?;
    let units_per_em = shaper.units_per_em() as f32;
    Some(Face {
        pdf: Font::new(bytes.into(), 0)?,
        shaper,
        units_per_em,
    })
}

/// The compiled-in fonts, parsed once per process.
pub(crate) fn fonts() -> Option<&'static Fonts> {
    static FONTS: OnceLock<Option<Fonts>> = OnceLock::new();
    FONTS
        .get_or_init(|| {
            Some(Fonts {
                regular: face(REGULAR)?,
                bold: face(BOLD)?,
            })
        })
        .as_ref()
}

/// A directional run of one line, in visual order.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Run {
    pub(crate) text: String,
    pub(crate) rtl: bool,
    /// Advance width at size 1.
    pub(crate) width: f32,
}

impl Face {
    fn advance(&self, text: &str, rtl: bool) -> f32 {
        let mut buffer = UnicodeBuffer::new();
        buffer.push_str(text);
        buffer.guess_segment_properties();
        buffer.set_direction(if rtl {
            Direction::RightToLeft
        } else {
            Direction::LeftToRight
        });
        let shaped = rustybuzz::shape(&self.shaper, &[], buffer);
        let units: i64 = shaped
            .glyph_positions()
            .iter()
            .map(|p| i64::from(p.x_advance))
            .sum();
        units as f32 / self.units_per_em
    }

    /// The runs of one line of text, left to right as they are drawn.
    pub(crate) fn runs(&self, text: &str) -> Vec<Run> {
        if text.is_empty() {
            return Vec::new();
        }
        let info = BidiInfo::new(text, None);
        if !info.has_rtl() {
            return vec![Run {
                text: text.to_owned(),
                rtl: false,
                width: self.advance(text, false),
            }];
        }
        let mut out = Vec::new();
        for para in &info.paragraphs {
            let (levels, runs) = info.visual_runs(para, para.range.clone());
            for range in runs {
                let rtl = levels.get(range.start).is_some_and(|l| l.is_rtl());
                let Some(piece) = text.get(range) else {
                    continue;
                };
                out.push(Run {
                    text: piece.to_owned(),
                    rtl,
                    width: self.advance(piece, rtl),
                });
            }
        }
        out
    }

    /// Width of one line of text at `size` points.
    pub(crate) fn width(&self, text: &str, size: f32) -> f32 {
        self.runs(text).iter().map(|r| r.width).sum::<f32>() * size
    }

    /// Breaks `text` into lines no wider than `max` points at `size`: at spaces where it
    /// can, inside a word only when the word alone is too wide. Hard line breaks are kept.
    pub(crate) fn wrap(&self, text: &str, size: f32, max: f32) -> Vec<String> {
        let mut lines = Vec::new();
        for paragraph in text.lines() {
            let mut line = String::new();
            for word in paragraph.split_whitespace() {
                let candidate = if line.is_empty() {
                    word.to_owned()
                } else {
                    format!("{line} {word}")
                };
                if self.width(&candidate, size) <= max {
                    line = candidate;
                    continue;
                }
                if !line.is_empty() {
                    lines.push(std::mem::take(&mut line));
                }
                if self.width(word, size) <= max {
                    line = word.to_owned();
                } else {
                    let mut pieces = self.break_word(word, size, max);
                    line = pieces.pop().unwrap_or_default();
                    lines.extend(pieces);
                }
            }
            lines.push(line);
        }
        if lines.is_empty() {
            lines.push(String::new());
        }
        lines
    }

    fn break_word(&self, word: &str, size: f32, max: f32) -> Vec<String> {
        let mut out = Vec::new();
        let mut piece = String::new();
        for c in word.chars() {
            piece.push(c);
            if piece.chars().count() > 1 && self.width(&piece, size) > max {
                piece.pop();
                out.push(std::mem::take(&mut piece));
                piece.push(c);
            }
        }
        out.push(piece);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widths_grow_with_text_and_size() {
        let Some(f) = fonts() else {
            panic!("compiled-in fonts parse")
        };
        let a = f.regular.width("1,234.50", 8.0);
        assert!(a > 20.0 && a < 40.0, "{a}");
        assert!((f.regular.width("1,234.50", 16.0) - 2.0 * a).abs() < 0.01);
        assert!(f.bold.width("Total", 10.0) > f.regular.width("Total", 10.0));
    }

    #[test]
    fn right_to_left_text_is_split_into_runs_in_visual_order() {
        let Some(f) = fonts() else {
            panic!("compiled-in fonts parse")
        };
        let runs = f.regular.runs("Tenant שלום בע\"מ 42");
        assert!(runs.iter().any(|r| r.rtl));
        assert!(
            runs.first()
                .is_some_and(|r| !r.rtl && r.text.starts_with("Tenant"))
        );
        let arabic = f.regular.runs("شركة الخليج");
        assert!(arabic.iter().all(|r| r.rtl) && arabic.iter().all(|r| r.width > 0.0));
    }

    #[test]
    fn wrapping_keeps_every_character_and_fits() {
        let Some(f) = fonts() else {
            panic!("compiled-in fonts parse")
        };
        let text = "Standard storage (LRS) gigabyte-months in region west-europe-2\nIBAN DE89370400440532013000";
        let lines = f.regular.wrap(text, 8.0, 60.0);
        assert!(lines.len() > 3);
        for l in &lines {
            assert!(f.regular.width(l, 8.0) <= 60.0, "{l}");
        }
        let joined: String = lines.concat().split_whitespace().collect();
        let original: String = text.split_whitespace().collect();
        assert_eq!(joined, original);
    }
}
