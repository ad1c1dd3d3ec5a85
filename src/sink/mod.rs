//! Output stage: CSV and Parquet encoders, the dataset writer, and the atomic files they use.

pub mod atomic;
pub mod csv;
pub mod dataset;
pub mod layout;
pub mod parquet;
pub mod table;
