//! The report colours: the showcase's purple-blue pair, status colours, and a series palette whose
//! first entries are far apart so seven providers stay distinguishable.

use plotters::style::RGBColor;

/// An sRGB colour. Series get [`Colour::series`]`(index)` unless they set their own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Colour(pub u8, pub u8, pub u8);

impl Colour {
    /// #667eea, the report's header blue.
    pub const PRIMARY: Colour = Colour(0x66, 0x7e, 0xea);
    /// #764ba2, the report's header purple.
    pub const SECONDARY: Colour = Colour(0x76, 0x4b, 0xa2);
    /// Teal: good, within budget, invest.
    pub const SUCCESS: Colour = Colour(0x14, 0xb8, 0xa6);
    /// Orange: watch this.
    pub const WARNING: Colour = Colour(0xf5, 0x9e, 0x0b);
    /// Red: over budget, SLA breach, sunset.
    pub const DANGER: Colour = Colour(0xef, 0x44, 0x44);
    /// Blue: neutral information.
    pub const INFO: Colour = Colour(0x3b, 0x82, 0xf6);
    /// Grey for reference lines and "other".
    pub const MUTED: Colour = Colour(0x6b, 0x72, 0x80);

    pub const WHITE: Colour = Colour(0xff, 0xff, 0xff);

    /// Series colours in order; index `i` wraps around.
    pub const SERIES: [Colour; 12] = [
        Colour::PRIMARY,
        Colour::SUCCESS,
        Colour::WARNING,
        Colour::SECONDARY,
        Colour::DANGER,
        Colour(0xec, 0x48, 0x99), // pink
        Colour(0x84, 0xcc, 0x16), // lime
        Colour::INFO,
        Colour(0xa1, 0x62, 0x07), // brown
        Colour::MUTED,
        Colour(0x0f, 0x76, 0x6e), // dark teal
        Colour(0xf9, 0x73, 0x16), // deep orange
    ];

    /// The colour of series number `index` (deterministic, wraps after 12).
    pub fn series(index: usize) -> Colour {
        Colour::SERIES[index % Colour::SERIES.len()]
    }

    /// "#rrggbb".
    pub fn hex(self) -> String {
        format!("#{:02x}{:02x}{:02x}", self.0, self.1, self.2)
    }

    pub(crate) fn rgb(self) -> RGBColor {
        RGBColor(self.0, self.1, self.2)
    }

    /// Linear mix: `t` = 0 gives `self`, 1 gives `other`.
    pub(crate) fn mix(self, other: Colour, t: f64) -> Colour {
        let t = t.clamp(0.0, 1.0);
        let lerp = |a: u8, b: u8| (a as f64 + (b as f64 - a as f64) * t).round() as u8;
        Colour(lerp(self.0, other.0), lerp(self.1, other.1), lerp(self.2, other.2))
    }

    /// Perceived brightness in 0..=1, to pick dark or light text on a filled cell.
    pub(crate) fn luminance(self) -> f64 {
        (0.299 * self.0 as f64 + 0.587 * self.1 as f64 + 0.114 * self.2 as f64) / 255.0
    }
}

/// Sequential scale for heatmaps: near-white → #667eea → #764ba2 as `t` goes 0 → 1.
pub(crate) fn heat(t: f64) -> Colour {
    const LOW: Colour = Colour(0xf1, 0xf3, 0xfd);
    let t = if t.is_finite() { t.clamp(0.0, 1.0) } else { 0.0 };
    if t < 0.6 {
        LOW.mix(Colour::PRIMARY, t / 0.6)
    } else {
        Colour::PRIMARY.mix(Colour::SECONDARY, (t - 0.6) / 0.4)
    }
}

/// Text and grid colours shared by every chart.
pub(crate) const TEXT: Colour = Colour(0x1f, 0x29, 0x37);
pub(crate) const GRID: Colour = Colour(0xe5, 0xe7, 0xeb);
pub(crate) const AXIS: Colour = Colour(0x9c, 0xa3, 0xaf);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn series_colours_wrap_and_start_distinct() {
        assert_eq!(Colour::series(0), Colour::PRIMARY);
        assert_eq!(Colour::series(12), Colour::PRIMARY);
        let first7: std::collections::BTreeSet<_> = (0..7).map(|i| Colour::series(i).hex()).collect();
        assert_eq!(first7.len(), 7);
    }

    #[test]
    fn heat_scale_ends() {
        assert_eq!(heat(0.6), Colour::PRIMARY);
        assert_eq!(heat(1.0), Colour::SECONDARY);
        assert_eq!(heat(f64::NAN), heat(0.0));
    }
}
