//! `jifen.settle_month` and `jifen.synthetic_population`: the bulk monthly
//! settlement kernel (core/settlement/bulk) over Arrow tables.
//!
//! Input tables come through the Arrow PyCapsule interface (pyarrow, polars,
//! pandas). A column already of the kernel's type in one chunk without nulls
//! is passed to the kernel as the Arrow buffer itself (no copy); any other
//! column is cast, checked (an overflow or a null is refused), and copied
//! once. The kernel runs with the interpreter released.

use std::borrow::Cow;
use std::str::FromStr;
use std::sync::Arc;

use arrow_array::types::{Int64Type, UInt32Type, UInt8Type};
use arrow_array::{
    cast::AsArray, ArrayRef, ArrowPrimitiveType, Decimal128Array, Int64Array, RecordBatch,
    UInt64Array,
};
use arrow_cast::cast::{cast_with_options, CastOptions};
use arrow_schema::{Field, Schema};
use jifen::settlement::bulk::{
    settle, Entries, Households, MonthInput, MonthRules, Redemptions, RegionTotals, Regions,
    SettleOptions,
};
use jifen::settlement::synthetic::{Population, PopulationSpec};
use jifen::{Category, Month, Policy, Yuan};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};
use pyo3_arrow::PyTable;
use serde_json::Value;

use crate::errors::raise;
use crate::{arrow, value};

fn bad(detail: String) -> PyErr {
    PyValueError::new_err(detail)
}

/// A policy argument: a preset name or a policy dict.
fn policy(policy: &Bound<'_, PyAny>) -> PyResult<Policy> {
    let document = match policy.cast::<PyString>() {
        Ok(name) => Value::String(name.to_str()?.to_owned()),
        Err(_) => value::to_json(policy)?,
    };
    Policy::from_value(document).map_err(|e| raise(e.into()))
}

/// Column `name` of `table` as the kernel's slice: borrowed from the Arrow
/// buffer when it already has type `T` in one chunk without nulls.
fn column<'a, T: ArrowPrimitiveType>(
    table: &'a PyTable,
    table_name: &str,
    name: &str,
) -> PyResult<Cow<'a, [T::Native]>> {
    let batches = table.batches();
    let Some(first) = batches.first() else {
        return Ok(Cow::Owned(Vec::new()));
    };
    let index = first
        .schema()
        .index_of(name)
        .map_err(|_| bad(format!("{table_name}: no column {name}")))?;
    if let [batch] = batches {
        let array = batch.column(index);
        if array.data_type() == &T::DATA_TYPE && array.null_count() == 0 {
            return Ok(Cow::Borrowed(array.as_primitive::<T>().values()));
        }
    }
    // A checked cast: a value that does not fit becomes an error, not a null.
    let options = CastOptions {
        safe: false,
        ..CastOptions::default()
    };
    let mut values = Vec::with_capacity(batches.iter().map(RecordBatch::num_rows).sum());
    for batch in batches {
        let array = cast_with_options(batch.column(index), &T::DATA_TYPE, &options)
            .map_err(|e| bad(format!("{table_name}.{name}: {e}")))?;
        if array.null_count() > 0 {
            return Err(bad(format!("{table_name}.{name}: holds nulls")));
        }
        values.extend_from_slice(array.as_primitive::<T>().values());
    }
    Ok(Cow::Owned(values))
}

/// Whether `table` has a column `name` (a table without batches has no rows,
/// so an absent optional column changes nothing).
fn has_column(table: &PyTable, name: &str) -> bool {
    table
        .batches()
        .first()
        .is_some_and(|batch| batch.schema().index_of(name).is_ok())
}

/// Yuan to the fen as decimal128(18, 2); the kernel rounded them already.
fn money(values: &[Yuan]) -> PyResult<ArrayRef> {
    let fen = values
        .iter()
        .map(|y| {
            arrow::fen_of(y.0)
                .ok_or_else(|| bad(format!("amount {} has more than two places", y.0)))
        })
        .collect::<PyResult<Vec<i128>>>()?;
    let array = Decimal128Array::from(fen)
        .with_precision_and_scale(arrow::MONEY_PRECISION, arrow::MONEY_SCALE as i8)
        .map_err(|e| bad(e.to_string()))?;
    Ok(Arc::new(array))
}

fn table(columns: Vec<(&str, ArrayRef)>) -> PyResult<PyTable> {
    let fields: Vec<Field> = columns
        .iter()
        .map(|(name, array)| Field::new(*name, array.data_type().clone(), false))
        .collect();
    let schema = Arc::new(Schema::new(fields));
    let arrays = columns.into_iter().map(|(_, a)| a).collect();
    let batch = RecordBatch::try_new(schema.clone(), arrays).map_err(|e| bad(e.to_string()))?;
    PyTable::try_new(vec![batch], schema)
}

fn ints(values: Vec<i64>) -> ArrayRef {
    Arc::new(Int64Array::from(values))
}

fn regions(totals: RegionTotals) -> PyResult<PyTable> {
    table(vec![
        ("households", Arc::new(UInt64Array::from(totals.households))),
        ("awarded", ints(totals.awarded)),
        ("credited", ints(totals.credited)),
        ("capped", ints(totals.capped)),
        ("vetoed", ints(totals.vetoed)),
        ("deducted", ints(totals.deducted)),
        ("unapplied", ints(totals.unapplied)),
        ("redeemed", ints(totals.redeemed)),
        ("balance", ints(totals.balance)),
        ("liability", money(&totals.liability)?),
    ])
}

/// Settles one month of a population from Arrow tables: `households`
/// (category, village, opening_balance, ytd_credited and, optionally,
/// ytd_deducted, by dense index), `entries` (household, kind, points, day, order), `redemptions`
/// (household, store, points, reimbursable). Returns Arrow tables
/// `households`, `stores`, `villages`, `townships`, `counties`.
#[pyfunction]
#[pyo3(signature = (policy, month, categories, households, entries, redemptions,
                    village_township, township_county, counties, stores, threads = None))]
#[allow(clippy::too_many_arguments)]
pub fn settle_month<'py>(
    py: Python<'py>,
    policy: &Bound<'py, PyAny>,
    month: &str,
    categories: Vec<String>,
    households: PyTable,
    entries: PyTable,
    redemptions: PyTable,
    village_township: Vec<u32>,
    township_county: Vec<u32>,
    counties: u32,
    stores: u32,
    threads: Option<usize>,
) -> PyResult<Bound<'py, PyDict>> {
    let policy = self::policy(policy)?;
    let month = Month::from_str(month).map_err(|e| raise(e.into()))?;
    let categories: Vec<Category> = categories.into_iter().map(Category).collect();
    let rules = MonthRules::for_categories(&policy, month, &categories).map_err(raise)?;
    let h = &households;
    let (e, r) = (&entries, &redemptions);
    let category = column::<UInt32Type>(h, "households", "category")?;
    let village = column::<UInt32Type>(h, "households", "village")?;
    let opening = column::<Int64Type>(h, "households", "opening_balance")?;
    let ytd_credited = column::<Int64Type>(h, "households", "ytd_credited")?;
    // Optional: without it no deduction earlier in the year gives cap room back.
    let ytd_deducted = if has_column(h, "ytd_deducted") {
        column::<Int64Type>(h, "households", "ytd_deducted")?
    } else {
        Cow::Borrowed(&[][..])
    };
    let e_household = column::<UInt32Type>(e, "entries", "household")?;
    let e_kind = column::<UInt8Type>(e, "entries", "kind")?;
    let e_points = column::<Int64Type>(e, "entries", "points")?;
    let e_day = column::<UInt8Type>(e, "entries", "day")?;
    let e_order = column::<UInt32Type>(e, "entries", "order")?;
    let r_household = column::<UInt32Type>(r, "redemptions", "household")?;
    let r_store = column::<UInt32Type>(r, "redemptions", "store")?;
    let r_points = column::<Int64Type>(r, "redemptions", "points")?;
    let r_reimbursable = column::<UInt8Type>(r, "redemptions", "reimbursable")?;
    let input = MonthInput {
        households: Households {
            category: &category,
            village: &village,
            opening_balance: &opening,
            ytd_credited: &ytd_credited,
            ytd_deducted: &ytd_deducted,
        },
        regions: Regions {
            village_township: &village_township,
            township_county: &township_county,
            counties,
        },
        entries: Entries {
            household: &e_household,
            kind: &e_kind,
            points: &e_points,
            day: &e_day,
            order: &e_order,
        },
        redemptions: Redemptions {
            household: &r_household,
            store: &r_store,
            points: &r_points,
            reimbursable: &r_reimbursable,
        },
        stores,
    };
    let options = threads.map_or_else(SettleOptions::default, SettleOptions::with_threads);
    let settled = py
        .detach(|| settle(&rules, &input, options))
        .map_err(raise)?;
    let hh = settled.households;
    let out = PyDict::new(py);
    out.set_item(
        "households",
        table(vec![
            ("awarded", ints(hh.awarded)),
            ("credited", ints(hh.credited)),
            ("capped", ints(hh.capped)),
            ("vetoed", ints(hh.vetoed)),
            ("deducted", ints(hh.deducted)),
            ("unapplied", ints(hh.unapplied)),
            ("net", ints(hh.net)),
            ("closing_balance", ints(hh.closing_balance)),
            ("ytd_credited", ints(hh.ytd_credited)),
            ("ytd_deducted", ints(hh.ytd_deducted)),
        ])?,
    )?;
    let stores = settled.totals.stores;
    out.set_item(
        "stores",
        table(vec![
            ("redeemed", ints(stores.redeemed)),
            ("reimbursable", ints(stores.reimbursable)),
            ("amount", money(&stores.amount)?),
        ])?,
    )?;
    out.set_item("villages", regions(settled.totals.villages)?)?;
    out.set_item("townships", regions(settled.totals.townships)?)?;
    out.set_item("counties", regions(settled.totals.counties)?)?;
    Ok(out)
}

fn u32s(values: Vec<u32>) -> ArrayRef {
    Arc::new(arrow_array::UInt32Array::from(values))
}

fn u8s(values: Vec<u8>) -> ArrayRef {
    Arc::new(arrow_array::UInt8Array::from(values))
}

/// A seeded synthetic population of `households` under `policy`'s categories
/// and caps (core/settlement/synthetic): the arguments `settle_month` takes,
/// with the tables as Arrow tables.
#[pyfunction]
#[pyo3(signature = (policy, seed, households, entries_per_household = None))]
pub fn synthetic_population<'py>(
    py: Python<'py>,
    policy: &Bound<'py, PyAny>,
    seed: u64,
    households: usize,
    entries_per_household: Option<usize>,
) -> PyResult<Bound<'py, PyDict>> {
    let policy = self::policy(policy)?;
    let mut spec = PopulationSpec::new(households, seed);
    if let Some(n) = entries_per_household {
        spec = spec.with_entries_per_household(n);
    }
    let p = py
        .detach(|| Population::generate(&policy, &spec))
        .map_err(raise)?;
    let out = PyDict::new(py);
    out.set_item("month", spec.month.to_string())?;
    out.set_item(
        "categories",
        p.categories.iter().map(|c| c.0.clone()).collect::<Vec<_>>(),
    )?;
    let h = p.households;
    out.set_item(
        "households",
        table(vec![
            ("category", u32s(h.category)),
            ("village", u32s(h.village)),
            ("opening_balance", ints(h.opening_balance)),
            ("ytd_credited", ints(h.ytd_credited)),
            ("ytd_deducted", ints(h.ytd_deducted)),
        ])?,
    )?;
    let e = p.entries;
    out.set_item(
        "entries",
        table(vec![
            ("household", u32s(e.household)),
            ("kind", u8s(e.kind)),
            ("points", ints(e.points)),
            ("day", u8s(e.day)),
            ("order", u32s(e.order)),
        ])?,
    )?;
    let r = p.redemptions;
    out.set_item(
        "redemptions",
        table(vec![
            ("household", u32s(r.household)),
            ("store", u32s(r.store)),
            ("points", ints(r.points)),
            ("reimbursable", u8s(r.reimbursable)),
        ])?,
    )?;
    out.set_item("village_township", p.regions.village_township)?;
    out.set_item("township_county", p.regions.township_county)?;
    out.set_item("counties", p.regions.counties)?;
    out.set_item("stores", p.stores)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::{Int64Array, UInt32Array};

    fn one_column(array: ArrayRef) -> PyTable {
        let schema = Arc::new(Schema::new(vec![Field::new(
            "v",
            array.data_type().clone(),
            true,
        )]));
        let batch = RecordBatch::try_new(schema.clone(), vec![array]).unwrap();
        PyTable::try_new(vec![batch], schema).unwrap()
    }

    /// A column of the kernel's type is the Arrow buffer itself.
    #[test]
    fn a_matching_column_is_borrowed_not_copied() {
        let table = one_column(Arc::new(UInt32Array::from(vec![3, 1, 2])));
        let values = column::<UInt32Type>(&table, "t", "v").unwrap();
        let buffer = table.batches()[0].column(0).as_primitive::<UInt32Type>();
        assert!(matches!(values, Cow::Borrowed(_)));
        assert_eq!(values.as_ptr(), buffer.values().as_ptr());
    }

    /// Another integer type is cast once, checked: what does not fit is refused.
    #[test]
    fn a_wider_column_is_cast_and_checked() {
        let table = one_column(Arc::new(Int64Array::from(vec![3, 1, 2])));
        let values = column::<UInt32Type>(&table, "t", "v").unwrap();
        assert_eq!(&*values, &[3, 1, 2]);
        let negative = one_column(Arc::new(Int64Array::from(vec![3, -1])));
        assert!(column::<UInt32Type>(&negative, "t", "v").is_err());
        let null = one_column(Arc::new(Int64Array::from(vec![Some(3), None])));
        assert!(column::<Int64Type>(&null, "t", "v").is_err());
    }
}
