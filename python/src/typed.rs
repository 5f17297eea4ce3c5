//! Typed results: a core answer as Python values, with money as
//! `decimal.Decimal`, dates as `datetime.date` and instants as aware
//! `datetime.datetime`.
//!
//! JSON has no money or date type, so the walk follows the JSON Schema the
//! core derives for the answer's Rust type: a string whose schema is the core's
//! `Yuan` becomes a Decimal, one with `format: date` a date. No field names are
//! listed here, so a money field the core adds later surfaces as Decimal by
//! itself once its type names the answer.

use chrono::{DateTime, NaiveDate, Utc};
use jifen::Outcome;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString};
use schemars::JsonSchema;
use serde_json::{Map, Value};

use crate::value;

/// The JSON Schema of one answer type, with its `$defs`.
pub struct Shape {
    root: Value,
    money_ref: String,
}

impl Shape {
    /// The shape of `T`'s JSON form.
    pub fn of<T: JsonSchema>() -> Shape {
        let root = schemars::schema_for!(T).to_value();
        Shape {
            root,
            money_ref: format!("#/$defs/{}", <jifen::Yuan as JsonSchema>::schema_name()),
        }
    }

    /// `value` as Python, typed by this shape.
    pub fn to_py<'py>(&self, py: Python<'py>, value: &Value) -> PyResult<Bound<'py, PyAny>> {
        self.walk(py, value, Some(&self.root))
    }

    fn walk<'py>(
        &self,
        py: Python<'py>,
        value: &Value,
        schema: Option<&Value>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let Some(schema) = schema else {
            return value::to_py(py, value);
        };
        let nodes = self.candidates(schema, value);
        match value {
            Value::String(text) => self.string(py, text, &nodes),
            Value::Array(items) => {
                let list = PyList::empty(py);
                for (index, item) in items.iter().enumerate() {
                    list.append(self.walk(py, item, element(&nodes, index))?)?;
                }
                Ok(list.into_any())
            }
            Value::Object(fields) => {
                let dict = PyDict::new(py);
                for (key, item) in fields {
                    dict.set_item(key, self.walk(py, item, property(&nodes, key))?)?;
                }
                Ok(dict.into_any())
            }
            _ => value::to_py(py, value),
        }
    }

    fn string<'py>(
        &self,
        py: Python<'py>,
        text: &str,
        nodes: &[&Value],
    ) -> PyResult<Bound<'py, PyAny>> {
        let plain = || Ok(PyString::new(py, text).into_any());
        if nodes
            .iter()
            .any(|node| node.get("$ref").and_then(Value::as_str) == Some(&self.money_ref))
        {
            return value::decimal(py, text);
        }
        let format = nodes
            .iter()
            .find_map(|node| node.get("format").and_then(Value::as_str));
        match format {
            Some("date") => match text.parse::<NaiveDate>() {
                Ok(date) => Ok(date.into_pyobject(py)?.into_any()),
                Err(_) => plain(),
            },
            Some("date-time") => match text.parse::<DateTime<Utc>>() {
                Ok(at) => Ok(at.into_pyobject(py)?.into_any()),
                Err(_) => plain(),
            },
            _ => plain(),
        }
    }

    /// The schema nodes that describe `value` at `schema`: the node itself,
    /// what its `$ref` points at, its `allOf` parts, and the first `oneOf` /
    /// `anyOf` branch that admits the value.
    fn candidates<'s>(&'s self, schema: &'s Value, value: &Value) -> Vec<&'s Value> {
        let mut nodes = Vec::new();
        self.expand(schema, value, &mut nodes, 0);
        nodes
    }

    fn expand<'s>(&'s self, node: &'s Value, value: &Value, out: &mut Vec<&'s Value>, depth: u32) {
        // Recursive types recurse through properties, not through `$ref`
        // chains; the bound only guards against a malformed schema.
        if depth > 32 {
            return;
        }
        out.push(node);
        if let Some(target) = node.get("$ref").and_then(Value::as_str) {
            if let Some(definition) = self.definition(target) {
                self.expand(definition, value, out, depth + 1);
            }
        }
        if let Some(parts) = node.get("allOf").and_then(Value::as_array) {
            for part in parts {
                self.expand(part, value, out, depth + 1);
            }
        }
        for key in ["oneOf", "anyOf"] {
            if let Some(branches) = node.get(key).and_then(Value::as_array) {
                if let Some(branch) = branches.iter().find(|b| self.admits(b, value, depth)) {
                    self.expand(branch, value, out, depth + 1);
                }
            }
        }
    }

    fn definition(&self, target: &str) -> Option<&Value> {
        let name = target.strip_prefix("#/$defs/")?;
        self.root.get("$defs")?.get(name)
    }

    /// Whether a `oneOf`/`anyOf` branch can describe `value`: its type, its
    /// constants and, for objects, its tag constants and required keys agree.
    fn admits(&self, branch: &Value, value: &Value, depth: u32) -> bool {
        if depth > 32 {
            return false;
        }
        let branch = match branch.get("$ref").and_then(Value::as_str) {
            Some(target) => match self.definition(target) {
                Some(definition) => definition,
                None => return false,
            },
            None => branch,
        };
        if let Some(types) = branch.get("type") {
            let name = json_type(value);
            let fits = |t: &Value| {
                t.as_str()
                    .is_some_and(|t| t == name || (t == "number" && name == "integer"))
            };
            let ok = match types {
                Value::Array(list) => list.iter().any(fits),
                single => fits(single),
            };
            if !ok {
                return false;
            }
        }
        if let Some(constant) = branch.get("const") {
            if constant != value {
                return false;
            }
        }
        if let Some(Value::Array(allowed)) = branch.get("enum") {
            if !allowed.contains(value) {
                return false;
            }
        }
        if let Value::Object(fields) = value {
            if !tags_match(branch, fields) {
                return false;
            }
        }
        for key in ["oneOf", "anyOf"] {
            if let Some(branches) = branch.get(key).and_then(Value::as_array) {
                if !branches.iter().any(|b| self.admits(b, value, depth + 1)) {
                    return false;
                }
            }
        }
        true
    }
}

/// An object branch's constant properties and required keys agree with `fields`.
fn tags_match(branch: &Value, fields: &Map<String, Value>) -> bool {
    if let Some(required) = branch.get("required").and_then(Value::as_array) {
        if required
            .iter()
            .filter_map(Value::as_str)
            .any(|key| !fields.contains_key(key))
        {
            return false;
        }
    }
    if let Some(properties) = branch.get("properties").and_then(Value::as_object) {
        for (key, property) in properties {
            if let (Some(constant), Some(actual)) = (property.get("const"), fields.get(key)) {
                if constant != actual {
                    return false;
                }
            }
        }
    }
    true
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// The schema of an object's field `key`.
fn property<'s>(nodes: &[&'s Value], key: &str) -> Option<&'s Value> {
    nodes
        .iter()
        .find_map(|node| node.get("properties")?.get(key))
        .or_else(|| {
            nodes
                .iter()
                .find_map(|node| node.get("additionalProperties").filter(|s| s.is_object()))
        })
}

/// The schema of an array's element at `index` (tuples use `prefixItems`).
fn element<'s>(nodes: &[&'s Value], index: usize) -> Option<&'s Value> {
    nodes.iter().find_map(|node| {
        node.get("prefixItems")
            .and_then(|items| items.get(index))
            .or_else(|| node.get("items").filter(|s| s.is_object()))
    })
}

/// A command's outcome: `{"seq", "events", "result"}`, events typed by the
/// core's `Event` schema and the result by `result`'s shape when it has one.
pub fn outcome<'py>(
    py: Python<'py>,
    outcome: &Outcome,
    events: &Shape,
    result: Option<&Shape>,
) -> PyResult<Bound<'py, PyAny>> {
    let dict = PyDict::new(py);
    dict.set_item("seq", outcome.seq)?;
    let list = PyList::empty(py);
    for event in &outcome.events {
        let event = serde_json::to_value(event).map_err(|e| crate::errors::to_py(py, &e.into()))?;
        list.append(events.to_py(py, &event)?)?;
    }
    dict.set_item("events", list)?;
    let answer = match result {
        Some(shape) => shape.to_py(py, &outcome.result)?,
        None => value::to_py(py, &outcome.result)?,
    };
    dict.set_item("result", answer)?;
    Ok(dict.into_any())
}

/// The JSON Schema shape of a core type, built once.
macro_rules! shape {
    ($type:ty) => {{
        static SHAPE: std::sync::OnceLock<$crate::typed::Shape> = std::sync::OnceLock::new();
        SHAPE.get_or_init($crate::typed::Shape::of::<$type>)
    }};
}
pub(crate) use shape;
