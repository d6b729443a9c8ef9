//! Thumbnails of uploaded images, decoded under `image::Limits`: an image that claims more
//! pixels than [`MAX_PIXELS`] (a decompression bomb is a small file that does) is never decoded.

use std::io::Cursor;

use image::{ImageReader, Limits};

/// Images larger than this get no thumbnail.
pub const MAX_PIXELS: u64 = 40_000_000;
/// Longest side of an image that is thumbnailed, whatever its pixel count.
const MAX_SIDE: u32 = 16_384;
/// What one decode may allocate: an image of [`MAX_PIXELS`] in RGBA, and some.
const MAX_ALLOC: u64 = 192 * 1024 * 1024;
/// A thumbnail fits in a square of this side.
pub const THUMBNAIL_SIDE: u32 = 320;
pub const CONTENT_TYPE: &str = "image/jpeg";

fn limits() -> Limits {
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_ALLOC);
    limits
}

/// Width and height from the image's header, without decoding it; `None` when the header is
/// not within `head`.
pub fn dimensions(head: &[u8]) -> Option<(u32, u32)> {
    ImageReader::new(Cursor::new(head))
        .with_guessed_format()
        .ok()?
        .into_dimensions()
        .ok()
}

/// A JPEG that fits in [`THUMBNAIL_SIDE`] square (transparency over white); `None` when the
/// image is over the limits or does not decode.
pub fn make(image: &[u8]) -> Option<Vec<u8>> {
    let (w, h) = dimensions(image)?;
    if u64::from(w) * u64::from(h) > MAX_PIXELS {
        return None;
    }
    let mut reader = ImageReader::new(Cursor::new(image))
        .with_guessed_format()
        .ok()?;
    reader.limits(limits());
    let decoded = reader.decode().ok()?;
    let small = decoded
        .thumbnail(THUMBNAIL_SIDE, THUMBNAIL_SIDE)
        .into_rgba8();
    let mut flat = image::RgbImage::new(small.width(), small.height());
    for (to, from) in flat.pixels_mut().zip(small.pixels()) {
        let [r, g, b, a] = from.0;
        let over_white =
            |c: u8| ((u16::from(c) * u16::from(a) + 255 * (255 - u16::from(a))) / 255) as u8;
        to.0 = [over_white(r), over_white(g), over_white(b)];
    }
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 80)
        .encode_image(&flat)
        .ok()?;
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(w: u32, h: u32) -> Vec<u8> {
        let mut out = Vec::new();
        image::RgbaImage::new(w, h)
            .write_to(&mut Cursor::new(&mut out), image::ImageFormat::Png)
            .unwrap();
        out
    }

    /// PNG's CRC-32 (ISO 3309), bit by bit.
    fn crc32(bytes: &[u8]) -> u32 {
        let mut c = 0xFFFF_FFFFu32;
        for &b in bytes {
            c ^= u32::from(b);
            for _ in 0..8 {
                c = if c & 1 != 0 {
                    0xEDB8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                };
            }
        }
        !c
    }

    #[test]
    fn thumbnails_fit_in_their_square_and_keep_the_aspect() {
        let thumb = make(&png(1000, 500)).unwrap();
        assert_eq!(dimensions(&thumb), Some((320, 160)));
    }

    #[test]
    fn an_image_claiming_too_many_pixels_is_never_decoded() {
        // A valid PNG header that claims 20000 x 20000 pixels: a few bytes for 1.6 GB.
        let mut bomb = png(1, 1);
        bomb[16..20].copy_from_slice(&20_000u32.to_be_bytes());
        bomb[20..24].copy_from_slice(&20_000u32.to_be_bytes());
        // The header chunk's checksum (its type and data), so that the header stays valid.
        let crc = crc32(&bomb[12..29]);
        bomb[29..33].copy_from_slice(&crc.to_be_bytes());
        assert_eq!(dimensions(&bomb), Some((20_000, 20_000)));
        assert!(make(&bomb).is_none());
    }

    #[test]
    fn what_does_not_decode_gets_no_thumbnail() {
        assert!(make(b"\x89PNG\r\n\x1a\n garbage").is_none());
    }
}
