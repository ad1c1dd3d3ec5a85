//! Report stage: charts now; the HTML pages and JSON results build on them.

pub mod chart;
