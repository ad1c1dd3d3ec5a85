//! Output stage: CSV and Parquet encoders and the atomic files they are written through.

pub mod atomic;
pub mod csv;
pub mod parquet;
