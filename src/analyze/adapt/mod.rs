//! Analyzing data trafficsim did not write: the seed-era and the original generator's CSVs (a
//! subset of the calls columns, zone-less timestamps) and other exports through a columns map
//! (`--columns-map FILE`, [`map`]). What was mapped, derived or assumed travels with the data
//! source ([`Adaptation`]) so the index and the manifest can say it.

pub mod apply;
pub mod map;

use serde::{Deserialize, Serialize};

pub use apply::adapt;
pub use map::ColumnsMap;

/// What was done to the data before the analyzers read it; empty for trafficsim's own data.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Adaptation {
    /// The columns map applied, when one was given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub map: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub map_description: Option<String>,
    /// Each column the map made, and from what.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mapped: Vec<Note>,
    /// Columns the map leaves out because the data lacks their sources (`optional = true`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub left_out: Vec<Note>,
    /// Columns computed from others, exactly (`total_tokens` = input + output).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub derived: Vec<Note>,
    /// The zone zone-less timestamps were read in, when the data has such timestamps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub naive_timestamps: Option<String>,
    /// Whether that zone came from the map (`naive_timezone`) rather than the UTC default.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub naive_zone_from_map: bool,
}

/// One column and how it was made.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Note {
    pub column: String,
    pub from: String,
}

impl Note {
    pub fn new(column: impl Into<String>, from: impl Into<String>) -> Note {
        Note {
            column: column.into(),
            from: from.into(),
        }
    }
}

impl Adaptation {
    pub fn is_empty(&self) -> bool {
        *self == Adaptation::default()
    }

    /// The notes the index shows, one sentence each.
    pub fn sentences(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(map) = &self.map {
            let about = self
                .map_description
                .as_deref()
                .map_or(String::new(), |d| format!(" ({d})"));
            out.push(format!("Columns mapped by {map}{about}."));
        }
        out.extend(self.mapped.iter().map(|n| format!("`{}` is {}.", n.column, n.from)));
        out.extend(
            self.left_out
                .iter()
                .map(|n| format!("`{}` is left out: {}.", n.column, n.from)),
        );
        out.extend(
            self.derived
                .iter()
                .map(|n| format!("`{}` is derived as {}.", n.column, n.from)),
        );
        if let Some(zone) = &self.naive_timestamps {
            out.push(if self.naive_zone_from_map && zone == "UTC" {
                "The timestamps carry no time zone: they are read as UTC (the map's `naive_timezone`).".to_string()
            } else if self.naive_zone_from_map {
                format!("The timestamps carry no time zone: they are read as {zone} local time (the map's `naive_timezone`) and shown in UTC.")
            } else {
                format!(
                    "The timestamps carry no time zone: they are read as {zone}. If they are local time elsewhere, say so with `naive_timezone` in a columns map (--columns-map)."
                )
            });
        }
        out
    }
}
