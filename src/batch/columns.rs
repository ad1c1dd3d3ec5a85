//! An Arrow adapter declared as a table of columns: each column's name, type and the one line that
//! builds it from a slice of plain rows, in schema order. The schema is derived from the same
//! table, so a column cannot be declared without a builder, or built without being declared.

use std::sync::Arc;

use arrow::array::{
    ArrayRef, BooleanBuilder, Date32Builder, Float64Builder, Int64Builder, RecordBatch, StringArray, StringBuilder,
    TimestampMicrosecondBuilder,
};
use arrow::buffer::{Buffer, OffsetBuffer};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};

/// The time zone of every timestamp column.
pub const TIMESTAMP_TZ: &str = "UTC";

/// A column's Arrow type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    /// Microseconds since the epoch, UTC.
    Timestamp,
    Int64,
    Float64,
    Utf8,
    Boolean,
    /// Days since the epoch (written as YYYY-MM-DD).
    Date,
    /// Text from a small set of long values (user agents): 16-bit keys into a dictionary, so a
    /// batch holds each value once.
    DictUtf8,
}

impl ColumnType {
    pub fn data_type(self) -> DataType {
        match self {
            ColumnType::Timestamp => DataType::Timestamp(TimeUnit::Microsecond, Some(TIMESTAMP_TZ.into())),
            ColumnType::Int64 => DataType::Int64,
            ColumnType::Float64 => DataType::Float64,
            ColumnType::Utf8 => DataType::Utf8,
            ColumnType::Boolean => DataType::Boolean,
            ColumnType::Date => DataType::Date32,
            ColumnType::DictUtf8 => DataType::Dictionary(Box::new(DataType::UInt16), Box::new(DataType::Utf8)),
        }
    }
}

/// One column of a table: built from rows `R` with the help of a context `C` (names, catalogue).
pub struct Column<C, R> {
    pub name: &'static str,
    pub ty: ColumnType,
    pub nullable: bool,
    pub build: fn(&C, &[R]) -> ArrayRef,
}

impl<C, R> Column<C, R> {
    pub const fn new(name: &'static str, ty: ColumnType, build: fn(&C, &[R]) -> ArrayRef) -> Self {
        Column {
            name,
            ty,
            nullable: false,
            build,
        }
    }

    /// A column that may hold nulls (written as empty fields in CSV).
    pub const fn nullable(name: &'static str, ty: ColumnType, build: fn(&C, &[R]) -> ArrayRef) -> Self {
        Column {
            name,
            ty,
            nullable: true,
            build,
        }
    }

    fn field(&self) -> Field {
        Field::new(self.name, self.ty.data_type(), self.nullable)
    }
}

/// The schema of `columns` (indices into `table`), in that order.
pub fn schema<C, R>(table: &[Column<C, R>], columns: &[usize]) -> SchemaRef {
    Arc::new(Schema::new(
        columns.iter().map(|&c| table[c].field()).collect::<Vec<_>>(),
    ))
}

/// The schema of every column of `table`.
pub fn full_schema<C, R>(table: &[Column<C, R>]) -> SchemaRef {
    Arc::new(Schema::new(table.iter().map(Column::field).collect::<Vec<_>>()))
}

/// Column names of `table`, in order.
pub fn names<C, R>(table: &[Column<C, R>]) -> Vec<&'static str> {
    table.iter().map(|c| c.name).collect()
}

/// Resolves column names to indices into `table`, rejecting unknown and repeated names.
pub fn parse_columns<'a, C, R>(
    table: &[Column<C, R>],
    names: impl IntoIterator<Item = &'a str>,
) -> Result<Vec<usize>, String> {
    let mut out = Vec::new();
    for name in names {
        let i = table
            .iter()
            .position(|c| c.name == name)
            .ok_or_else(|| format!("unknown column `{name}`: allowed are {}", self::names(table).join(", ")))?;
        if out.contains(&i) {
            return Err(format!("column `{name}` is listed twice"));
        }
        out.push(i);
    }
    if out.is_empty() {
        return Err("list at least one column".to_string());
    }
    Ok(out)
}

/// One record batch of `rows` with `columns` (indices into `table`) of `schema`.
pub fn build<C, R>(table: &[Column<C, R>], schema: &SchemaRef, columns: &[usize], ctx: &C, rows: &[R]) -> RecordBatch {
    let arrays: Vec<ArrayRef> = columns.iter().map(|&c| (table[c].build)(ctx, rows)).collect();
    RecordBatch::try_new(schema.clone(), arrays).expect("columns match the schema by construction")
}

/// A string column.
pub fn strings<'s, R>(rows: &'s [R], value: impl Fn(&'s R) -> &'s str) -> ArrayRef {
    let mut b = StringBuilder::with_capacity(rows.len(), rows.len() * 12);
    for r in rows {
        b.append_value(value(r));
    }
    Arc::new(b.finish())
}

/// A string column that may hold nulls.
pub fn optional_strings<'s, R>(rows: &'s [R], value: impl Fn(&'s R) -> Option<&'s str>) -> ArrayRef {
    let mut b = StringBuilder::with_capacity(rows.len(), rows.len() * 8);
    for r in rows {
        b.append_option(value(r));
    }
    Arc::new(b.finish())
}

/// A string column written in place (ids), without a `String` per row.
pub fn formatted<R>(rows: &[R], width: usize, write: impl Fn(&mut StringBuilder, &R) -> std::fmt::Result) -> ArrayRef {
    let mut b = StringBuilder::with_capacity(rows.len(), rows.len() * width);
    for r in rows {
        write(&mut b, r).expect("writing to a string builder cannot fail");
        b.append_value("");
    }
    Arc::new(b.finish())
}

pub fn ints<R>(rows: &[R], value: impl Fn(&R) -> i64) -> ArrayRef {
    let mut b = Int64Builder::with_capacity(rows.len());
    for r in rows {
        b.append_value(value(r));
    }
    Arc::new(b.finish())
}

pub fn floats<R>(rows: &[R], value: impl Fn(&R) -> f64) -> ArrayRef {
    let mut b = Float64Builder::with_capacity(rows.len());
    for r in rows {
        b.append_value(value(r));
    }
    Arc::new(b.finish())
}

pub fn bools<R>(rows: &[R], value: impl Fn(&R) -> bool) -> ArrayRef {
    let mut b = BooleanBuilder::with_capacity(rows.len());
    for r in rows {
        b.append_value(value(r));
    }
    Arc::new(b.finish())
}

/// A UTC timestamp column from epoch milliseconds.
pub fn timestamps_ms<R>(rows: &[R], value: impl Fn(&R) -> i64) -> ArrayRef {
    let mut b = TimestampMicrosecondBuilder::with_capacity(rows.len()).with_timezone(TIMESTAMP_TZ);
    for r in rows {
        b.append_value(value(r) * 1000);
    }
    Arc::new(b.finish())
}

/// A UTC timestamp column from epoch milliseconds that may hold nulls.
pub fn optional_timestamps_ms<R>(rows: &[R], value: impl Fn(&R) -> Option<i64>) -> ArrayRef {
    let mut b = TimestampMicrosecondBuilder::with_capacity(rows.len()).with_timezone(TIMESTAMP_TZ);
    for r in rows {
        b.append_option(value(r).map(|ms| ms * 1000));
    }
    Arc::new(b.finish())
}

/// A date column from days since the epoch.
pub fn dates<R>(rows: &[R], value: impl Fn(&R) -> i32) -> ArrayRef {
    let mut b = Date32Builder::with_capacity(rows.len());
    for r in rows {
        b.append_value(value(r));
    }
    Arc::new(b.finish())
}

/// A string column of values of one width, each written in place by `fill` into its `width`
/// bytes of the values buffer: no builder, no `String` and no formatting machinery per row (ids
/// are a third of a calls row's bytes). `fill` must write ASCII; that is checked once per column.
pub fn fixed_width<R>(rows: &[R], width: usize, fill: impl Fn(&R, &mut [u8])) -> ArrayRef {
    let mut values = vec![0u8; rows.len() * width];
    if width > 0 {
        for (r, out) in rows.iter().zip(values.chunks_exact_mut(width)) {
            fill(r, out);
        }
    }
    assert!(values.is_ascii(), "fixed-width columns hold ASCII");
    let offsets = OffsetBuffer::from_lengths(std::iter::repeat_n(width, rows.len()));
    // SAFETY: ASCII is UTF-8 (checked above), and every offset falls between two values, each
    // `width` bytes long, so each value is a whole string.
    Arc::new(unsafe { StringArray::new_unchecked(offsets, Buffer::from_vec(values), None) })
}

/// The low `out.len()` hex digits of `value` (lower case, most significant first) into `out`.
#[inline]
pub fn write_hex(value: u128, out: &mut [u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut v = value;
    for o in out.iter_mut().rev() {
        *o = DIGITS[(v & 0xf) as usize];
        v >>= 4;
    }
}

/// A string column of ids: `prefix` then the low `digits` hex digits of a number (at most 32).
pub fn hex_ids<R>(rows: &[R], prefix: &str, digits: usize, value: impl Fn(&R) -> u128) -> ArrayRef {
    debug_assert!(digits <= 32);
    let p = prefix.len();
    fixed_width(rows, p + digits, |r, out| {
        out[..p].copy_from_slice(prefix.as_bytes());
        write_hex(value(r), &mut out[p..]);
    })
}

/// A dictionary column: each row's key into `values` (fewer than 65,536 of them).
pub fn dictionary<R>(rows: &[R], values: &[&str], key: impl Fn(&R) -> u16) -> ArrayRef {
    let keys = arrow::array::UInt16Array::from_iter_values(rows.iter().map(key));
    let values = Arc::new(arrow::array::StringArray::from_iter_values(values.iter()));
    Arc::new(
        arrow::array::DictionaryArray::<arrow::datatypes::UInt16Type>::try_new(keys, values)
            .expect("keys index the values"),
    )
}

#[cfg(test)]
mod tests {
    use arrow::array::AsArray;

    use super::*;

    #[test]
    fn ids_written_in_place_read_as_the_formatting_machinery_writes_them() {
        let values: [u128; 4] = [0, 1, 0x0123_4567_89ab_cdef_fedc_ba98_7654_3210, u128::MAX];
        let ids = hex_ids(&values, "call_", 16, |v| *v);
        let uuids = fixed_width(&values, 36, |v, out| {
            for (range, shift) in [(0..8, 96), (9..13, 80), (14..18, 64), (19..23, 48), (24..36, 0)] {
                write_hex(v >> shift, &mut out[range]);
            }
            for dash in [8, 13, 18, 23] {
                out[dash] = b'-';
            }
        });
        let (ids, uuids) = (ids.as_string::<i32>(), uuids.as_string::<i32>());
        for (i, v) in values.iter().enumerate() {
            assert_eq!(ids.value(i), format!("call_{:016x}", *v as u64));
            let expected = format!(
                "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
                (v >> 96) as u32,
                (v >> 80) as u16,
                (v >> 64) as u16,
                (v >> 48) as u16,
                (*v as u64) & 0xffff_ffff_ffff
            );
            assert_eq!(uuids.value(i), expected);
        }
        assert_eq!(hex_ids(&[] as &[u128], "x", 4, |v| *v).len(), 0);
    }
}
