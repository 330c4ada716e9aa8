//! The card-face application's images (reference §1.5): name, address, security code and My
//! Number drawn as 1-bit greyscale PNGs, 12 pixels high, like the J-LIS test card's
//! (`DF25` 216×12, `DF26` 288×12, `DF2A` 24×12, EF 0005 `DF41` 72×12: full-width characters
//! 12 px wide, half-width 6 px, white background, black ink, only IHDR/IDAT/IEND chunks).
//!
//! Glyphs come from the public-domain Shinonome 12-dot fonts (`simulator/assets/glyphs12.bin`,
//! made by `ci/gen-glyphs`). A character the font lacks is drawn as an empty box.

use std::collections::HashMap;
use std::sync::OnceLock;

const GLYPH_TABLE: &[u8] = include_bytes!("../assets/glyphs12.bin");

/// Image height in pixels.
pub const HEIGHT: usize = 12;

/// One glyph: its width (6 or 12) and 12 rows, MSB-first in the low `width` bits.
#[derive(Debug, Clone, Copy)]
struct Glyph {
    width: u8,
    rows: [u16; HEIGHT],
}

fn glyphs() -> &'static HashMap<u32, Glyph> {
    static TABLE: OnceLock<HashMap<u32, Glyph>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut map = HashMap::new();
        let mut rest = GLYPH_TABLE;
        while let Some((head, tail)) = rest.split_first_chunk::<5>() {
            let [a, b, c, d, width] = *head;
            let code = u32::from_be_bytes([a, b, c, d]);
            let n = (usize::from(width) * HEIGHT).div_ceil(8);
            let Some(bits) = tail.get(..n) else { break };
            // `width` bits per row, MSB first, rows packed back to back.
            let bit = |i: usize| bits.get(i / 8).is_some_and(|b| b >> (7 - i % 8) & 1 == 1);
            let w = usize::from(width);
            let mut rows = [0u16; HEIGHT];
            for (y, row) in rows.iter_mut().enumerate() {
                for x in 0..w {
                    *row = *row << 1 | u16::from(bit(y * w + x));
                }
            }
            map.insert(code, Glyph { width, rows });
            rest = tail.get(n..).unwrap_or_default();
        }
        map
    })
}

/// A glyph for `ch`; missing characters are an empty box, 6 px for ASCII, else 12 px.
fn glyph(ch: char) -> Glyph {
    if let Some(g) = glyphs().get(&u32::from(ch)) {
        return *g;
    }
    let width: u8 = if ch.is_ascii() { 6 } else { 12 };
    let full = (1u16 << (width - 1)) - 1; // all but the rightmost (spacing) column
    let side = (1u16 << (width - 1)) | 1 << 1;
    let mut rows = [0u16; HEIGHT];
    for (i, row) in rows.iter_mut().enumerate() {
        *row = match i {
            0 | 10 | 11 => 0,
            1 | 9 => full & !1,
            _ => (side >> 1) & !1 | (1 << (width - 2)),
        };
    }
    Glyph { width, rows }
}

/// A 1-bit image: `true` is ink.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bitmap {
    /// Width in pixels.
    pub width: usize,
    /// Rows of pixels, `HEIGHT` of them.
    pub rows: Vec<Vec<bool>>,
}

/// Draws one line of text, left-aligned, at least `min_width` pixels wide.
pub fn text(line: &str, min_width: usize) -> Bitmap {
    let glyphs: Vec<Glyph> = line.chars().map(glyph).collect();
    let text_width: usize = glyphs.iter().map(|g| usize::from(g.width)).sum();
    let width = text_width.max(min_width).max(1);
    let mut rows = vec![vec![false; width]; HEIGHT];
    let mut x = 0;
    for g in glyphs {
        let w = usize::from(g.width);
        for (y, bits) in g.rows.iter().enumerate() {
            for dx in 0..w {
                if bits >> (w - 1 - dx) & 1 == 1
                    && let Some(px) = rows.get_mut(y).and_then(|r| r.get_mut(x + dx))
                {
                    *px = true;
                }
            }
        }
        x += w;
    }
    Bitmap { width, rows }
}

impl Bitmap {
    /// Encodes as a 1-bit greyscale PNG (1 = white), rows unfiltered: IHDR, IDAT, IEND only.
    /// Deterministic.
    pub fn png(&self) -> Vec<u8> {
        let mut out = Vec::new();
        let stride = self.width.div_ceil(8);
        let mut data = Vec::with_capacity(stride * HEIGHT);
        for row in &self.rows {
            let mut bytes = vec![0u8; stride];
            for (x, &ink) in row.iter().enumerate() {
                if !ink && let Some(b) = bytes.get_mut(x / 8) {
                    *b |= 0x80 >> (x % 8);
                }
            }
            // Padding bits past the width are white as well.
            for x in self.width..stride * 8 {
                if let Some(b) = bytes.get_mut(x / 8) {
                    *b |= 0x80 >> (x % 8);
                }
            }
            data.extend(bytes);
        }
        let width = u32::try_from(self.width).unwrap_or(u32::MAX);
        let mut encoder = png::Encoder::new(&mut out, width, HEIGHT as u32);
        encoder.set_color(png::ColorType::Grayscale);
        encoder.set_depth(png::BitDepth::One);
        encoder.set_compression(png::Compression::High);
        // Filter type 0 on every row, as in the J-LIS test card's images.
        encoder.set_filter(png::Filter::NoFilter);
        let written = encoder
            .write_header()
            .and_then(|mut writer| writer.write_image_data(&data));
        if written.is_err() {
            return Vec::new();
        }
        out
    }
}

/// Renders a line of text straight to PNG.
pub fn text_png(line: &str, min_width: usize) -> Vec<u8> {
    text(line, min_width).png()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(png_bytes: &[u8]) -> (u32, u32, Vec<u8>, png::BitDepth) {
        let decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buf).unwrap();
        (info.width, info.height, buf, info.bit_depth)
    }

    #[test]
    fn draws_full_and_half_width_cells() {
        let b = text("試験　花子", 216);
        assert_eq!(b.width, 216);
        let b = text("2285", 24);
        assert_eq!(b.width, 24);
        assert!(b.rows.iter().flatten().any(|&p| p), "ink");
        let b = text("東京都千代田区霞が関２丁目１番２号　mynasim TEST", 288);
        assert_eq!(b.width, 18 * 12 + 12 * 6);
    }

    #[test]
    fn pngs_decode_as_1_bit_greyscale() {
        let png_bytes = text_png("537686677188", 72);
        assert_eq!(&png_bytes[..8], b"\x89PNG\r\n\x1a\n");
        let (w, h, _, depth) = decode(&png_bytes);
        assert_eq!((w, h, depth), (72, 12, png::BitDepth::One));
        assert_eq!(text_png("537686677188", 72), png_bytes, "deterministic");
    }

    #[test]
    fn unknown_characters_are_boxes() {
        let b = text("\u{20BB7}", 0); // 𠮷, outside JIS X 0208
        assert_eq!(b.width, 12);
        assert!(b.rows.iter().flatten().any(|&p| p));
    }
}
