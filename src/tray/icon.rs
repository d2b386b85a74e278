//! The tray icon images: the embedded template PNGs decoded to RGBA for `tray-icon`.
//!
//! The 36×36 `@2x` variant is used everywhere: macOS draws it at 18 pt (sharp on Retina),
//! and Linux panels scale it to their height. On macOS every icon but the error's is
//! marked as a template image, so the system colours it for light and dark menu bars;
//! the error's red triangle is shown as it is, the one coloured icon in the menu bar, so
//! that trouble stands out. Elsewhere all are drawn as they are.

use std::io::Cursor;

use tray_icon::{Icon, TrayIcon};

use crate::tray::menu::{icon_png, IconKind};

/// An icon could not be made from its embedded image.
#[derive(Debug, thiserror::Error)]
pub enum IconError {
    #[error("the embedded {kind:?} icon is not a readable PNG: {source}")]
    Decode {
        kind: IconKind,
        source: png::DecodingError,
    },
    #[error("the embedded {kind:?} icon is not 8-bit RGBA")]
    Format { kind: IconKind },
    #[error("the {kind:?} icon was refused: {message}")]
    Refused { kind: IconKind, message: String },
}

/// Whether `kind`'s icon is a template image (coloured by the system): on macOS, all but
/// the error's.
pub fn is_template(kind: IconKind) -> bool {
    cfg!(target_os = "macos") && kind != IconKind::Error
}

/// The RGBA pixels, width and height of `kind`'s icon, as shown on this platform.
pub fn rgba(kind: IconKind) -> Result<(Vec<u8>, u32, u32), IconError> {
    let decode = |source| IconError::Decode { kind, source };
    let mut reader = png::Decoder::new(Cursor::new(icon_png(kind, true)))
        .read_info()
        .map_err(decode)?;
    let size = reader
        .output_buffer_size()
        .ok_or(IconError::Format { kind })?;
    let mut pixels = vec![0; size];
    let info = reader.next_frame(&mut pixels).map_err(decode)?;
    if info.color_type != png::ColorType::Rgba || info.bit_depth != png::BitDepth::Eight {
        return Err(IconError::Format { kind });
    }
    pixels.truncate(info.buffer_size());
    Ok((pixels, info.width, info.height))
}

/// `kind`'s icon for the tray.
pub fn icon(kind: IconKind) -> Result<Icon, IconError> {
    let (pixels, width, height) = rgba(kind)?;
    Icon::from_rgba(pixels, width, height).map_err(|e| IconError::Refused {
        kind,
        message: e.to_string(),
    })
}

/// Shows `kind`'s icon in `tray` (as a template image or not, see [`is_template`]: on
/// macOS only this call sets the flag; elsewhere that call does nothing).
pub fn show(tray: &TrayIcon, kind: IconKind) -> Result<(), IconError> {
    let image = icon(kind)?;
    #[cfg(target_os = "macos")]
    let shown = tray.set_icon_with_as_template(Some(image), is_template(kind));
    #[cfg(not(target_os = "macos"))]
    let shown = tray.set_icon(Some(image));
    shown.map_err(|e| IconError::Refused {
        kind,
        message: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_icon_decodes_to_a_visible_36_pixel_square() {
        for kind in IconKind::ALL {
            let (pixels, w, h) = rgba(kind).unwrap();
            assert_eq!((w, h, pixels.len()), (36, 36, 36 * 36 * 4), "{kind:?}");
            let opaque = pixels.chunks_exact(4).filter(|p| p[3] > 128).count();
            assert!(
                opaque > 36 && opaque < 36 * 36 * 3 / 4,
                "{kind:?}: {opaque} opaque pixels"
            );
            icon(kind).unwrap();
        }
    }

    #[test]
    fn only_the_error_icon_has_colour() {
        for kind in IconKind::ALL {
            let (pixels, _, _) = rgba(kind).unwrap();
            let red = pixels
                .chunks_exact(4)
                .filter(|p| p[3] > 128)
                .all(|p| p[0] > 150 && p[1] < 80 && p[2] < 80);
            let black = pixels
                .chunks_exact(4)
                .filter(|p| p[3] > 0)
                .all(|p| p[..3] == [0, 0, 0]);
            assert_eq!(
                (red, black),
                (kind == IconKind::Error, kind != IconKind::Error),
                "{kind:?}"
            );
            assert!(!is_template(kind) || kind != IconKind::Error);
        }
    }
}
