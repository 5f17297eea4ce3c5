//! Ledger rows as Arrow tables, handed to Python through the Arrow PyCapsule
//! interface (`__arrow_c_stream__`), so `pyarrow.table(t)`, `polars.DataFrame(t)`
//! and `pandas` (through pyarrow) read them without a detour through Python
//! objects.
//!
//! The rows are the core's ledger rows exactly as its JSON answer carries them
//! (the serialized row structs); each ledger method names its columns and
//! their Arrow types, and this module only moves values across. Points are
//! int64, dates date32, money decimal128(18, 2): the core keeps Yuan to the
//! fen, so a value that is not a whole number of fen is refused rather than
//! rounded here.

use std::sync::Arc;

use arrow_array::builder::{
    BooleanBuilder, Date32Builder, Decimal128Builder, Int64Builder, ListBuilder, StringBuilder,
};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{Field, Schema};
use chrono::NaiveDate;
use jifen::Yuan;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3_arrow::PyTable;
use rust_decimal::Decimal;
use serde_json::Value;

/// The Arrow type of a ledger column.
#[derive(Clone, Copy)]
pub enum Kind {
    /// Text (ids, names, notes): utf8.
    Text,
    /// Points and counts: int64.
    Int,
    /// A flag: bool.
    Bool,
    /// A calendar date (`YYYY-MM-DD`): date32.
    Date,
    /// Yuan to the fen: decimal128(18, 2).
    Money,
    /// A list of names: list<utf8>.
    TextList,
}

/// Money columns' precision and scale: Yuan to the fen.
pub const MONEY_PRECISION: u8 = 18;
pub const MONEY_SCALE: i8 = 2;

fn mismatch(column: &str, value: &Value) -> PyErr {
    PyValueError::new_err(format!("ledger column {column}: unexpected value {value}"))
}

/// `value` as text; numbers and other scalars as their JSON text.
fn text(value: &Value) -> Option<String> {
    match value {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

/// Days since 1970-01-01, Arrow's date32.
fn days(column: &str, value: &Value) -> PyResult<i32> {
    let date = value
        .as_str()
        .and_then(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
        .ok_or_else(|| mismatch(column, value))?;
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).ok_or_else(|| mismatch(column, value))?;
    i32::try_from((date - epoch).num_days()).map_err(|_| mismatch(column, value))
}

/// A JSON money value in fen.
fn fen(column: &str, value: &Value) -> PyResult<i128> {
    let yuan: Decimal = match value {
        Value::String(s) => s.parse().map_err(|_| mismatch(column, value))?,
        Value::Number(n) => n.to_string().parse().map_err(|_| mismatch(column, value))?,
        _ => return Err(mismatch(column, value)),
    };
    Yuan(yuan)
        .whole_fen()
        .map(i128::from)
        .ok_or_else(|| mismatch(column, value))
}

fn column(name: &str, kind: Kind, rows: &[&Value]) -> PyResult<(Field, ArrayRef)> {
    let cells = rows.iter().map(|row| &row[name]);
    let array: ArrayRef = match kind {
        Kind::Text => {
            let mut b = StringBuilder::new();
            for v in cells {
                b.append_option(text(v));
            }
            Arc::new(b.finish())
        }
        Kind::Int => {
            let mut b = Int64Builder::new();
            for v in cells {
                match v {
                    Value::Null => b.append_null(),
                    v => b.append_value(v.as_i64().ok_or_else(|| mismatch(name, v))?),
                }
            }
            Arc::new(b.finish())
        }
        Kind::Bool => {
            let mut b = BooleanBuilder::new();
            for v in cells {
                match v {
                    Value::Null => b.append_null(),
                    v => b.append_value(v.as_bool().ok_or_else(|| mismatch(name, v))?),
                }
            }
            Arc::new(b.finish())
        }
        Kind::Date => {
            let mut b = Date32Builder::new();
            for v in cells {
                match v {
                    Value::Null => b.append_null(),
                    v => b.append_value(days(name, v)?),
                }
            }
            Arc::new(b.finish())
        }
        Kind::Money => {
            let mut b = Decimal128Builder::new()
                .with_precision_and_scale(MONEY_PRECISION, MONEY_SCALE)
                .map_err(|e| PyValueError::new_err(e.to_string()))?;
            for v in cells {
                match v {
                    Value::Null => b.append_null(),
                    v => b.append_value(fen(name, v)?),
                }
            }
            Arc::new(b.finish())
        }
        Kind::TextList => {
            let mut b = ListBuilder::new(StringBuilder::new());
            for v in cells {
                match v {
                    Value::Null => b.append_null(),
                    Value::Array(items) => {
                        for item in items {
                            b.values().append_option(text(item));
                        }
                        b.append(true);
                    }
                    v => return Err(mismatch(name, v)),
                }
            }
            Arc::new(b.finish())
        }
    };
    let field = Field::new(name, array.data_type().clone(), true);
    Ok((field, array))
}

/// The rows (JSON objects) as one Arrow record batch with `columns`.
pub fn table(rows: &[&Value], columns: &[(&str, Kind)]) -> PyResult<PyTable> {
    let mut fields = Vec::with_capacity(columns.len());
    let mut arrays = Vec::with_capacity(columns.len());
    for (name, kind) in columns {
        let (field, array) = column(name, *kind, rows)?;
        fields.push(field);
        arrays.push(array);
    }
    let schema = Arc::new(Schema::new(fields));
    let batch = RecordBatch::try_new(schema.clone(), arrays)
        .map_err(|e| PyValueError::new_err(e.to_string()))?;
    PyTable::try_new(vec![batch], schema)
}

/// The rows of a JSON answer's array `key`.
pub fn rows<'a>(answer: &'a Value, key: &str) -> Vec<&'a Value> {
    answer[key]
        .as_array()
        .map(|a| a.iter().collect())
        .unwrap_or_default()
}
