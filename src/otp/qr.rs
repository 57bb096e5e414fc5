//! The enrollment QR code, as SVG (feature `qr`).
//!
//! The SVG encodes the otpauth:// URI, secret included: serve it only to the user who
//! is enrolling, never cache it, and let it be dropped (it is wiped from memory).

use qrcode::render::svg;
use qrcode::{EcLevel, QrCode};
use zeroize::Zeroizing;

use crate::otp::uri::{KeyUri, UriError};

/// The smallest side of the image, in pixels: comfortable for phone cameras.
pub const MIN_SIZE: u32 = 200;

/// The QR code of `uri` as a standalone SVG document, black on white with the quiet
/// zone, at least [`MIN_SIZE`] pixels square. Medium error correction (15%), which
/// keeps the code small while surviving a glare or a smudge.
///
/// # Errors
/// [`UriError::TooLongForQr`] when the URI does not fit in a QR code.
///
/// ```
/// use mfa_kit::otp::{Secret, TotpParams};
/// use mfa_kit::otp::uri::KeyUri;
///
/// let uri = KeyUri::totp("Acme Payroll", "alice@example.com", Secret::generate()?, TotpParams::DEFAULT)?;
/// let svg = mfa_kit::otp::qr::svg(&uri)?;
/// assert!(svg.starts_with("<?xml") && svg.ends_with("</svg>"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn svg(uri: &KeyUri) -> Result<Zeroizing<String>, UriError> {
    svg_of_text(&uri.to_uri())
}

/// As [`svg`], of a URI's text as it is: the QR code holds exactly these bytes.
pub(crate) fn svg_of_text(text: &str) -> Result<Zeroizing<String>, UriError> {
    let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M)
        .map_err(|_| UriError::TooLongForQr)?;
    let image = code
        .render::<svg::Color<'_>>()
        .min_dimensions(MIN_SIZE, MIN_SIZE)
        .dark_color(svg::Color("#000000"))
        .light_color(svg::Color("#ffffff"))
        .build();
    Ok(Zeroizing::new(image))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::otp::{Secret, TotpParams};

    /// Rasterises the SVG the way a browser would: the background, then each dark
    /// rectangle of the path (`M{x} {y}h{w}v{h}H{x}V{y}`).
    fn rasterise(svg: &str) -> (usize, usize, Vec<bool>) {
        let attribute = |name: &str| -> usize {
            let start = svg.find(&format!(" {name}=\"")).unwrap() + name.len() + 3;
            svg[start..].split('"').next().unwrap().parse().unwrap()
        };
        let (width, height) = (attribute("width"), attribute("height"));
        let mut dark = vec![false; width * height];
        let path = svg.split(" d=\"").nth(1).unwrap().split('"').next().unwrap();
        for rect in path.split('M').filter(|r| !r.is_empty()) {
            let numbers: Vec<usize> = rect
                .split(|c: char| !c.is_ascii_digit())
                .filter(|n| !n.is_empty())
                .map(|n| n.parse().unwrap())
                .collect();
            let [left, top, w, h, ..] = numbers[..] else { panic!("bad rect {rect}") };
            for y in top..top + h {
                for x in left..left + w {
                    dark[y * width + x] = true;
                }
            }
        }
        (width, height, dark)
    }

    #[test]
    fn the_svg_decodes_to_the_uri() {
        let secret = Secret::from_base32("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP").unwrap();
        let uri = KeyUri::totp("Smith & Co Accounting", "sarah@smith.example", secret, TotpParams::DEFAULT)
            .unwrap();
        let svg = svg(&uri).unwrap();
        let (width, height, dark) = rasterise(&svg);
        assert!(width >= MIN_SIZE as usize && width == height);
        let mut image = rqrr::PreparedImage::prepare_from_bitmap(width, height, |x, y| dark[y * width + x]);
        let grids = image.detect_grids();
        assert_eq!(grids.len(), 1);
        let (_, decoded) = grids[0].decode().unwrap();
        assert_eq!(decoded, *uri.to_uri());
    }

    #[test]
    fn a_uri_too_long_for_a_qr_code_is_an_error() {
        let secret = Secret::from_bytes(&[7; 256]).unwrap();
        let account = "a".repeat(2_500);
        let uri = KeyUri::totp("Issuer", &account, secret, TotpParams::DEFAULT).unwrap();
        assert_eq!(svg(&uri).unwrap_err(), UriError::TooLongForQr);
    }
}
