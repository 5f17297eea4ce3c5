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

use arrow_array::types::{Int64Type, UInt32Type, UInt64Type, UInt8Type};
use arrow_array::{
    cast::AsArray, ArrayRef, ArrowPrimitiveType, Decimal128Array, Int64Array, RecordBatch,
    UInt64Array,
};
use arrow_cast::cast::{cast_with_options, CastOptions};
use arrow_schema::{Field, Schema};
use jifen::error::InputError;
use jifen::settlement::bulk::{
    self, settle, BulkError, Entries, HouseholdResults, Households, MonthInput, MonthRules,
    Partition, Redemptions, RegionTotals, Regions, SettleOptions, Totals,
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

/// A caller's table the kernel cannot read (a column missing, holding nulls
/// or values its type cannot hold): `InputError` `invalid_value`, naming it.
fn unreadable(table: &'static str, detail: String) -> PyErr {
    raise(
        InputError::InvalidValue {
            field: table,
            detail,
        }
        .into(),
    )
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
    table_name: &'static str,
    name: &str,
) -> PyResult<Cow<'a, [T::Native]>> {
    let batches = table.batches();
    let Some(first) = batches.first() else {
        return Ok(Cow::Owned(Vec::new()));
    };
    let index = first
        .schema()
        .index_of(name)
        .map_err(|_| unreadable(table_name, format!("{table_name} has no column {name}")))?;
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
    // The copy (widened, or joined from chunks) is asked for softly: a table
    // too large for the machine is refused with `out_of_memory`, not an
    // aborted interpreter. The cast, which allocates through arrow-rs, goes
    // a bounded piece at a time, so the copy is the only allocation the
    // column's length sets.
    let rows = batches.iter().map(RecordBatch::num_rows).sum();
    let mut values = BulkError::with_room(rows, "the widened or joined input columns")
        .map_err(|e| raise(e.into()))?;
    for batch in batches {
        let column = batch.column(index);
        for start in (0..column.len()).step_by(CAST_PIECE) {
            let piece = column.slice(start, CAST_PIECE.min(column.len() - start));
            let array = cast_with_options(&piece, &T::DATA_TYPE, &options)
                .map_err(|e| unreadable(table_name, format!("{table_name}.{name}: {e}")))?;
            if array.null_count() > 0 {
                return Err(unreadable(
                    table_name,
                    format!("{table_name}.{name} holds nulls"),
                ));
            }
            values.extend_from_slice(array.as_primitive::<T>().values());
        }
    }
    Ok(Cow::Owned(values))
}

/// Rows of a column cast at a time when it is widened: small enough that
/// the cast's own buffer stays in the cache and never needs much memory.
const CAST_PIECE: usize = 1 << 16;

/// Whether `table` has a column `name` (a table without batches has no rows,
/// so an absent optional column changes nothing).
fn has_column(table: &PyTable, name: &str) -> bool {
    table
        .batches()
        .first()
        .is_some_and(|batch| batch.schema().index_of(name).is_ok())
}

/// Yuan to the fen as decimal128(18, 2); the kernel rounded them already.
/// The column, a row a store or region, is asked for softly, as the
/// kernel's totals are.
fn money(values: &[Yuan]) -> PyResult<ArrayRef> {
    let mut fen: Vec<i128> =
        BulkError::with_room(values.len(), "the amounts in fen").map_err(|e| raise(e.into()))?;
    for y in values {
        fen.push(
            y.whole_fen()
                .map(i128::from)
                .ok_or_else(|| bad(format!("the amount {y} is not a whole number of fen")))?,
        );
    }
    let array = Decimal128Array::from(fen)
        .with_precision_and_scale(arrow::MONEY_PRECISION, arrow::MONEY_SCALE)
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

/// The kernel's columns of one population's tables, each borrowed from its
/// Arrow buffer or cast and copied once ([`column`]).
struct Columns<'a> {
    category: Cow<'a, [u32]>,
    village: Cow<'a, [u32]>,
    opening_balance: Cow<'a, [i64]>,
    ytd_credited: Cow<'a, [i64]>,
    ytd_deducted: Cow<'a, [i64]>,
    household: Cow<'a, [u32]>,
    kind: Cow<'a, [u8]>,
    points: Cow<'a, [i64]>,
    day: Cow<'a, [u8]>,
    order: Cow<'a, [u32]>,
    redeemer: Cow<'a, [u32]>,
    store: Cow<'a, [u32]>,
    spent: Cow<'a, [i64]>,
    reimbursable: Cow<'a, [u8]>,
}

impl<'a> Columns<'a> {
    fn of(h: &'a PyTable, e: &'a PyTable, r: &'a PyTable) -> PyResult<Columns<'a>> {
        Ok(Columns {
            category: column::<UInt32Type>(h, "households", "category")?,
            village: column::<UInt32Type>(h, "households", "village")?,
            opening_balance: column::<Int64Type>(h, "households", "opening_balance")?,
            ytd_credited: column::<Int64Type>(h, "households", "ytd_credited")?,
            // Optional: without it no deduction earlier in the year gives cap room back.
            ytd_deducted: if has_column(h, "ytd_deducted") {
                column::<Int64Type>(h, "households", "ytd_deducted")?
            } else {
                Cow::Borrowed(&[][..])
            },
            household: column::<UInt32Type>(e, "entries", "household")?,
            kind: column::<UInt8Type>(e, "entries", "kind")?,
            points: column::<Int64Type>(e, "entries", "points")?,
            day: column::<UInt8Type>(e, "entries", "day")?,
            order: column::<UInt32Type>(e, "entries", "order")?,
            redeemer: column::<UInt32Type>(r, "redemptions", "household")?,
            store: column::<UInt32Type>(r, "redemptions", "store")?,
            spent: column::<Int64Type>(r, "redemptions", "points")?,
            reimbursable: column::<UInt8Type>(r, "redemptions", "reimbursable")?,
        })
    }

    fn input<'b>(&'b self, regions: Regions<'b>, stores: u32) -> MonthInput<'b> {
        MonthInput {
            households: Households {
                category: &self.category,
                village: &self.village,
                opening_balance: &self.opening_balance,
                ytd_credited: &self.ytd_credited,
                ytd_deducted: &self.ytd_deducted,
            },
            regions,
            entries: Entries {
                household: &self.household,
                kind: &self.kind,
                points: &self.points,
                day: &self.day,
                order: &self.order,
            },
            redemptions: Redemptions {
                household: &self.redeemer,
                store: &self.store,
                points: &self.spent,
                reimbursable: &self.reimbursable,
            },
            stores,
        }
    }
}

/// The month's rules from the call's policy, month and category names
/// (none: the policy's own categories, in its order).
fn rules(
    policy: &Bound<'_, PyAny>,
    month: &str,
    categories: Option<Vec<String>>,
) -> PyResult<MonthRules> {
    let policy = self::policy(policy)?;
    let month = Month::from_str(month).map_err(|e| raise(e.into()))?;
    let categories: Vec<Category> = categories
        .unwrap_or_default()
        .into_iter()
        .map(Category)
        .collect();
    MonthRules::for_categories(&policy, month, &categories).map_err(raise)
}

/// The region tree the call names: all three of its parts or none (the
/// settlement then takes one county, `bulk::Layout`).
struct RegionTree(Option<(Vec<u32>, Vec<u32>, u32)>);

impl RegionTree {
    fn of(
        village_township: Option<Vec<u32>>,
        township_county: Option<Vec<u32>>,
        counties: Option<u32>,
    ) -> PyResult<RegionTree> {
        match (village_township, township_county, counties) {
            (Some(village_township), Some(township_county), Some(counties)) => Ok(RegionTree(
                Some((village_township, township_county, counties)),
            )),
            (None, None, None) => Ok(RegionTree(None)),
            _ => Err(unreadable(
                "regions",
                "name all of village_township, township_county and counties, or none".into(),
            )),
        }
    }

    fn regions(&self) -> Regions<'_> {
        self.0.as_ref().map_or_else(
            Regions::default,
            |(village_township, township_county, counties)| Regions {
                village_township,
                township_county,
                counties: *counties,
            },
        )
    }
}

fn households_table(hh: HouseholdResults) -> PyResult<PyTable> {
    let columns = hh.into_columns().map(ints);
    table(HouseholdResults::COLUMNS.into_iter().zip(columns).collect())
}

/// The stores' and regions' tables, into `out`.
fn put_totals(out: &Bound<'_, PyDict>, totals: Totals) -> PyResult<()> {
    let stores = totals.stores;
    out.set_item(
        "stores",
        table(vec![
            ("redeemed", ints(stores.redeemed)),
            ("reimbursable", ints(stores.reimbursable)),
            ("amount", money(&stores.amount)?),
        ])?,
    )?;
    out.set_item("villages", regions(totals.villages)?)?;
    out.set_item("townships", regions(totals.townships)?)?;
    out.set_item("counties", regions(totals.counties)?)
}

/// Settles one month of a population from Arrow tables: `households`
/// (category, village, opening_balance, ytd_credited and, optionally,
/// ytd_deducted, by dense index), `entries` (household, kind, points, day, order), `redemptions`
/// (household, store, points, reimbursable). Returns Arrow tables
/// `households`, `stores`, `villages`, `townships`, `counties`.
#[pyfunction]
#[pyo3(signature = (households, entries, redemptions, policy, month, categories = None,
                    village_township = None, township_county = None, counties = None,
                    stores = None, threads = None))]
#[allow(clippy::too_many_arguments)]
pub fn settle_month<'py>(
    py: Python<'py>,
    households: PyTable,
    entries: PyTable,
    redemptions: PyTable,
    policy: &Bound<'py, PyAny>,
    month: &str,
    categories: Option<Vec<String>>,
    village_township: Option<Vec<u32>>,
    township_county: Option<Vec<u32>>,
    counties: Option<u32>,
    stores: Option<u32>,
    threads: Option<usize>,
) -> PyResult<Bound<'py, PyDict>> {
    let rules = rules(policy, month, categories)?;
    let columns = Columns::of(&households, &entries, &redemptions)?;
    let tree = RegionTree::of(village_township, township_county, counties)?;
    let input = columns.input(tree.regions(), stores.unwrap_or(0));
    let options = threads.map_or_else(SettleOptions::default, SettleOptions::with_threads);
    let settled = py
        .detach(|| settle(&rules, &input, options))
        .map_err(raise)?;
    let out = PyDict::new(py);
    out.set_item("households", households_table(settled.households)?)?;
    put_totals(&out, settled.totals)?;
    Ok(out)
}

/// Settles a month of a population held in partitions (one per county, say),
/// each a dict of Arrow tables `households` (as for `settle_month`, with a
/// `key` column: the household's key across every partition), `entries` and
/// `redemptions`, indices local to the partition; the region tables and
/// stores are shared. Returns `households` (one table per partition) and the
/// merged `stores`, `villages`, `townships`, `counties`. A key in two
/// partitions is refused.
#[pyfunction]
#[pyo3(signature = (partitions, policy, month, categories = None, village_township = None,
                    township_county = None, counties = None, stores = None, threads = None))]
#[allow(clippy::too_many_arguments)]
pub fn settle_partitions<'py>(
    py: Python<'py>,
    partitions: Vec<Bound<'py, PyDict>>,
    policy: &Bound<'py, PyAny>,
    month: &str,
    categories: Option<Vec<String>>,
    village_township: Option<Vec<u32>>,
    township_county: Option<Vec<u32>>,
    counties: Option<u32>,
    stores: Option<u32>,
    threads: Option<usize>,
) -> PyResult<Bound<'py, PyDict>> {
    let rules = rules(policy, month, categories)?;
    let table_of = |partition: &Bound<'py, PyDict>, name: &str| -> PyResult<PyTable> {
        partition
            .get_item(name)?
            .ok_or_else(|| unreadable("partitions", format!("a partition has no {name} table")))?
            .extract()
    };
    let tables = partitions
        .iter()
        .map(|p| {
            Ok([
                table_of(p, "households")?,
                table_of(p, "entries")?,
                table_of(p, "redemptions")?,
            ])
        })
        .collect::<PyResult<Vec<[PyTable; 3]>>>()?;
    let keys = tables
        .iter()
        .map(|[h, _, _]| column::<UInt64Type>(h, "households", "key"))
        .collect::<PyResult<Vec<_>>>()?;
    let columns = tables
        .iter()
        .map(|[h, e, r]| Columns::of(h, e, r))
        .collect::<PyResult<Vec<_>>>()?;
    let tree = RegionTree::of(village_township, township_county, counties)?;
    let parts: Vec<Partition> = columns
        .iter()
        .zip(&keys)
        .map(|(columns, keys)| Partition {
            keys,
            input: columns.input(tree.regions(), stores.unwrap_or(0)),
        })
        .collect();
    let options = threads.map_or_else(SettleOptions::default, SettleOptions::with_threads);
    let settled = py
        .detach(|| bulk::settle_partitions(&rules, &parts, options))
        .map_err(raise)?;
    let out = PyDict::new(py);
    let households = settled
        .households
        .into_iter()
        .map(households_table)
        .collect::<PyResult<Vec<_>>>()?;
    out.set_item("households", households)?;
    put_totals(&out, settled.totals)?;
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
/// with the tables as Arrow tables. `month` (`YYYY-MM`) is November 2025
/// unless named; the entries come sorted by household unless a
/// `shuffle_seed` puts them in a seeded random order.
#[pyfunction]
#[pyo3(signature = (
    policy, seed, households, entries_per_household = None, month = None, shuffle_seed = None
))]
pub fn synthetic_population<'py>(
    py: Python<'py>,
    policy: &Bound<'py, PyAny>,
    seed: u64,
    households: usize,
    entries_per_household: Option<usize>,
    month: Option<&str>,
    shuffle_seed: Option<u64>,
) -> PyResult<Bound<'py, PyDict>> {
    let policy = self::policy(policy)?;
    let mut spec = PopulationSpec::new(households, seed);
    if let Some(month) = month {
        spec.month = Month::from_str(month).map_err(|e| raise(e.into()))?;
    }
    if let Some(n) = entries_per_household {
        spec = spec.with_entries_per_household(n);
    }
    let p = py
        .detach(|| {
            let mut population = Population::generate(&policy, &spec)?;
            if let Some(shuffle_seed) = shuffle_seed {
                population.shuffle_entries(shuffle_seed);
            }
            Ok(population)
        })
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
