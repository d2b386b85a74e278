//! The tray icon images: the embedded template PNGs decoded to RGBA for `tray-icon`.
//!
//! The 36×36 `@2x` variant is used everywhere: macOS draws it at 18 pt (sharp on Retina),
//! and Linux panels scale it to their height. On macOS it is marked as a template image,
//! so the system colours it for light and dark menu bars; elsewhere it is drawn as is
//! (black).

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

/// Whether icons are template images (coloured by the system).
pub const TEMPLATE: bool = cfg!(target_os = "macos");

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

/// Shows `kind`'s icon in `tray` (as a template image on macOS, where only this call
/// keeps the flag; elsewhere that call does nothing).
pub fn show(tray: &TrayIcon, kind: IconKind) -> Result<(), IconError> {
    let image = icon(kind)?;
    #[cfg(target_os = "macos")]
    let shown = tray.set_icon_with_as_template(Some(image), TEMPLATE);
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
}
