//! The embedded font plotters measures text with.
//!
//! plotters' default `ttf` feature looks fonts up through fontconfig and fails on hosts without
//! system fonts; with `ab_glyph` it only knows the fonts registered here. DejaVu Sans is
//! registered once per process as `sans-serif`, the family every chart asks for.

use std::sync::OnceLock;

use plotters::style::{FontStyle, register_font};

use super::ChartError;

/// The family name charts use; the SVG carries it, so browsers draw their own sans font.
pub(crate) const FAMILY: &str = "sans-serif";

static REGISTERED: OnceLock<bool> = OnceLock::new();

/// Registers the embedded font on first use; later calls are free.
pub(crate) fn ensure_registered() -> Result<(), ChartError> {
    let ok = *REGISTERED.get_or_init(|| {
        register_font(FAMILY, FontStyle::Normal, dejavu::sans::regular()).is_ok()
            && register_font(FAMILY, FontStyle::Bold, dejavu::sans::bold()).is_ok()
    });
    if ok { Ok(()) } else { Err(ChartError::Font) }
}
