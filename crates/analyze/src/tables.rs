//! Columns, Arrow record batches and atomic Parquet files (zstd).
//!
//! A [`Table`] is a list of named, typed columns; enums are dictionary-encoded strings.
//! [`write_parquet`] writes it beside its destination, syncs it and renames it into place, so a
//! reader never sees half a table.

use std::path::Path;
use std::sync::Arc;

use arrow::array::{
    ArrayRef, BooleanArray, Float64Array, Float64Builder, Int64Array, ListBuilder, StringArray,
    StringDictionaryBuilder, TimestampMicrosecondArray,
};
use arrow::datatypes::{DataType, Field, Int32Type, Schema, TimeUnit};
use arrow::record_batch::RecordBatch;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;

use crate::error::AnalyzeError;

/// One column's values (`None` is null).
#[derive(Debug, Clone, PartialEq)]
pub enum Column {
    /// `int64`.
    Int(Vec<Option<i64>>),
    /// `float64`.
    Float(Vec<Option<f64>>),
    /// `bool`.
    Bool(Vec<Option<bool>>),
    /// `string`.
    Text(Vec<Option<String>>),
    /// `dictionary<string>`: an enum.
    Dict(Vec<Option<String>>),
    /// `list<float64>`.
    FloatList(Vec<Option<Vec<f64>>>),
    /// `timestamp[us, UTC]`: microseconds since 1970-01-01T00:00:00Z.
    Timestamp(Vec<Option<i64>>),
}

/// An RFC 3339 time (`2026-12-03T05:00:00Z`, as provenance records it) in microseconds since
/// the Unix epoch; `None` when it does not parse.
pub fn rfc3339_micros(text: &str) -> Option<i64> {
    arrow::compute::kernels::cast_utils::string_to_timestamp_nanos(text)
        .ok()
        .map(|nanos| nanos.div_euclid(1000))
}

impl Column {
    /// An empty column of the same type.
    pub fn empty_like(&self) -> Column {
        match self {
            Column::Int(_) => Column::Int(Vec::new()),
            Column::Float(_) => Column::Float(Vec::new()),
            Column::Bool(_) => Column::Bool(Vec::new()),
            Column::Text(_) => Column::Text(Vec::new()),
            Column::Dict(_) => Column::Dict(Vec::new()),
            Column::FloatList(_) => Column::FloatList(Vec::new()),
            Column::Timestamp(_) => Column::Timestamp(Vec::new()),
        }
    }

    /// Number of values.
    pub fn len(&self) -> usize {
        match self {
            Column::Int(v) | Column::Timestamp(v) => v.len(),
            Column::Float(v) => v.len(),
            Column::Bool(v) => v.len(),
            Column::Text(v) | Column::Dict(v) => v.len(),
            Column::FloatList(v) => v.len(),
        }
    }

    /// Whether it has no values.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The type's name as docs/tables.md writes it.
    pub fn type_name(&self) -> &'static str {
        match self {
            Column::Int(_) => "int64",
            Column::Float(_) => "float64",
            Column::Bool(_) => "bool",
            Column::Text(_) => "string",
            Column::Dict(_) => "dictionary<string>",
            Column::FloatList(_) => "list<float64>",
            Column::Timestamp(_) => "timestamp[us, UTC]",
        }
    }

    fn data_type(&self) -> DataType {
        match self {
            Column::Int(_) => DataType::Int64,
            Column::Float(_) => DataType::Float64,
            Column::Bool(_) => DataType::Boolean,
            Column::Text(_) => DataType::Utf8,
            Column::Dict(_) => {
                DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8))
            }
            Column::FloatList(_) => {
                DataType::List(Arc::new(Field::new("item", DataType::Float64, true)))
            }
            Column::Timestamp(_) => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
        }
    }

    fn to_array(&self) -> ArrayRef {
        match self {
            Column::Int(v) => Arc::new(Int64Array::from(v.clone())),
            Column::Timestamp(v) => {
                Arc::new(TimestampMicrosecondArray::from(v.clone()).with_timezone("UTC"))
            }
            Column::Float(v) => Arc::new(Float64Array::from(v.clone())),
            Column::Bool(v) => Arc::new(BooleanArray::from(v.clone())),
            Column::Text(v) => Arc::new(StringArray::from(v.clone())),
            Column::Dict(v) => {
                let mut builder = StringDictionaryBuilder::<Int32Type>::new();
                for value in v {
                    match value {
                        Some(s) => {
                            builder.append_value(s);
                        }
                        None => builder.append_null(),
                    }
                }
                Arc::new(builder.finish())
            }
            Column::FloatList(v) => {
                let mut builder = ListBuilder::new(Float64Builder::new());
                for value in v {
                    match value {
                        Some(values) => {
                            builder.values().append_slice(values);
                            builder.append(true);
                        }
                        None => builder.append(false),
                    }
                }
                Arc::new(builder.finish())
            }
        }
    }
}

/// Named columns of equal length.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Table {
    /// `(name, values)` in order.
    pub columns: Vec<(String, Column)>,
}

impl Table {
    /// Rows.
    pub fn rows(&self) -> usize {
        self.columns.first().map_or(0, |(_, c)| c.len())
    }

    /// A column by name.
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|(n, _)| n == name).map(|(_, c)| c)
    }

    /// `(name, type)` of every column.
    pub fn schema(&self) -> Vec<(String, &'static str)> {
        self.columns
            .iter()
            .map(|(name, column)| (name.clone(), column.type_name()))
            .collect()
    }

    /// The Arrow record batch.
    ///
    /// # Errors
    /// Columns of unequal length.
    pub fn to_batch(&self) -> Result<RecordBatch, arrow::error::ArrowError> {
        let fields: Vec<Field> = self
            .columns
            .iter()
            .map(|(name, column)| Field::new(name, column.data_type(), true))
            .collect();
        let arrays: Vec<ArrayRef> = self.columns.iter().map(|(_, c)| c.to_array()).collect();
        RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays)
    }
}

/// Writes a table as Parquet (zstd), atomically: a temporary beside `path`, synced, renamed.
///
/// # Errors
/// IO and encoding errors; `path` is then untouched.
pub fn write_parquet(table: &Table, path: &Path) -> Result<(), AnalyzeError> {
    let bytes = parquet_bytes(table, path)?;
    sphereflow_exec::write_atomic(path, &bytes)?;
    Ok(())
}

/// A table encoded as a Parquet file (zstd level 3), in memory; `path` only names it in errors.
///
/// # Errors
/// Columns of unequal length, or an encoding error.
pub fn parquet_bytes(table: &Table, path: &Path) -> Result<Vec<u8>, AnalyzeError> {
    let batch = table.to_batch().map_err(|source| AnalyzeError::Arrow {
        table: path
            .file_stem()
            .map_or_else(String::new, |s| s.to_string_lossy().into_owned()),
        source,
    })?;
    let parquet = |source| AnalyzeError::Parquet {
        path: path.to_path_buf(),
        source,
    };
    let properties = WriterProperties::builder()
        .set_compression(Compression::ZSTD(
            ZstdLevel::try_new(3).expect("level 3 is valid"),
        ))
        .build();
    let mut bytes = Vec::new();
    let mut writer =
        ArrowWriter::try_new(&mut bytes, batch.schema(), Some(properties)).map_err(parquet)?;
    writer.write(&batch).map_err(parquet)?;
    writer.close().map_err(parquet)?;
    Ok(bytes)
}
