//! Python objects to JSON values and back, for the JSON door (`execute`) and
//! for the command fields that are whole documents (a region, members).
//!
//! Going in, `datetime.date` becomes `YYYY-MM-DD`, an aware `datetime.datetime`
//! an RFC 3339 instant in UTC and `decimal.Decimal` its exact decimal string,
//! the forms the core reads. Floats pass as JSON numbers and the core refuses
//! them wherever it wants points. Coming out, values are plain Python.

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{
    PyBool, PyDate, PyDateTime, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple, PyType,
};
use serde_json::{Map, Number, Value};

/// `decimal.Decimal`, imported once.
fn decimal_type(py: Python<'_>) -> PyResult<&Bound<'_, PyType>> {
    static DECIMAL: PyOnceLock<Py<PyType>> = PyOnceLock::new();
    DECIMAL.import(py, "decimal", "Decimal")
}

/// An aware datetime as the instant it names; a naive one is refused, since
/// the business date depends on the time zone.
pub fn instant(value: &Bound<'_, PyAny>) -> PyResult<DateTime<Utc>> {
    let datetime = value.cast::<PyDateTime>()?;
    if datetime.getattr("tzinfo")?.is_none() {
        return Err(PyValueError::new_err(
            "a naive datetime names no instant: give it a tzinfo (e.g. datetime.timezone.utc)",
        ));
    }
    let utc = pyo3::types::PyTzInfo::utc(value.py())?;
    datetime.call_method1("astimezone", (utc,))?.extract()
}

/// A Python object as a JSON value.
pub fn to_json(value: &Bound<'_, PyAny>) -> PyResult<Value> {
    if value.is_none() {
        return Ok(Value::Null);
    }
    if let Ok(flag) = value.cast::<PyBool>() {
        return Ok(Value::Bool(flag.is_true()));
    }
    if value.is_instance_of::<PyInt>() {
        if let Ok(number) = value.extract::<i64>() {
            return Ok(Value::from(number));
        }
        return value.extract::<u64>().map(Value::from).map_err(|_| {
            PyValueError::new_err(format!("{value} does not fit in a 64-bit integer"))
        });
    }
    if let Ok(float) = value.cast::<PyFloat>() {
        return Number::from_f64(float.value())
            .map(Value::Number)
            .ok_or_else(|| PyValueError::new_err(format!("{value} is not a JSON number")));
    }
    if let Ok(text) = value.cast::<PyString>() {
        return Ok(Value::String(text.to_str()?.to_owned()));
    }
    if value.is_instance_of::<PyDateTime>() {
        let at = instant(value)?;
        return Ok(Value::String(
            at.to_rfc3339_opts(SecondsFormat::AutoSi, true),
        ));
    }
    if value.is_instance_of::<PyDate>() {
        let date: NaiveDate = value.extract()?;
        return Ok(Value::String(date.to_string()));
    }
    if value.is_instance(decimal_type(value.py())?)? {
        return Ok(Value::String(value.str()?.to_str()?.to_owned()));
    }
    if let Ok(dict) = value.cast::<PyDict>() {
        let mut object = Map::with_capacity(dict.len());
        for (key, item) in dict.iter() {
            let key = key.cast::<PyString>().map_err(|_| {
                PyTypeError::new_err(format!("JSON object keys are strings, not {key:?}"))
            })?;
            object.insert(key.to_str()?.to_owned(), to_json(&item)?);
        }
        return Ok(Value::Object(object));
    }
    if let Ok(list) = value.cast::<PyList>() {
        return list.iter().map(|item| to_json(&item)).collect();
    }
    if let Ok(tuple) = value.cast::<PyTuple>() {
        return tuple.iter().map(|item| to_json(&item)).collect();
    }
    Err(PyTypeError::new_err(format!(
        "{} has no JSON form",
        value.get_type().name()?
    )))
}

/// A JSON value as plain Python: None, bool, int, float, str, list, dict.
pub fn to_py<'py>(py: Python<'py>, value: &Value) -> PyResult<Bound<'py, PyAny>> {
    Ok(match value {
        Value::Null => py.None().into_bound(py),
        Value::Bool(flag) => PyBool::new(py, *flag).to_owned().into_any(),
        Value::Number(number) => number_to_py(py, number)?,
        Value::String(text) => PyString::new(py, text).into_any(),
        Value::Array(items) => {
            let list = PyList::empty(py);
            for item in items {
                list.append(to_py(py, item)?)?;
            }
            list.into_any()
        }
        Value::Object(fields) => {
            let dict = PyDict::new(py);
            for (key, item) in fields {
                dict.set_item(key, to_py(py, item)?)?;
            }
            dict.into_any()
        }
    })
}

fn number_to_py<'py>(py: Python<'py>, number: &Number) -> PyResult<Bound<'py, PyAny>> {
    if let Some(signed) = number.as_i64() {
        Ok(signed.into_pyobject(py)?.into_any())
    } else if let Some(unsigned) = number.as_u64() {
        Ok(unsigned.into_pyobject(py)?.into_any())
    } else {
        let float = number.as_f64().unwrap_or(f64::NAN);
        Ok(float.into_pyobject(py)?.into_any())
    }
}

/// A decimal string as `decimal.Decimal`, exactly.
pub fn decimal<'py>(py: Python<'py>, text: &str) -> PyResult<Bound<'py, PyAny>> {
    decimal_type(py)?.call1((text,))
}
