//! The store ledgers (台账): the quarterly redemption ledger per store or
//! village (兑换台账, seed 001's "three-in-one" ledger and seed 002's
//! 积分卡兑换台账), the stock ledger by lot, and the donation trace. Each is
//! JSON, or CSV in UTF-8 with a byte-order mark so Excel opens the Chinese
//! headers, returned as `{"csv": "..."}`.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::donation::DonationBook;
use super::redemption::{Receipt, Redemption};
use super::stock::{Lot, LotSource};
use super::{DonationId, LotId, StoreId};
use crate::error::Error;
use crate::primitives::{Points, Quarter, VillageCode};
use crate::state::State;

/// How a ledger is returned.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum LedgerFormat {
    /// Structured JSON (the default).
    #[default]
    Json,
    /// CSV text (UTF-8 with BOM, CRLF), as `{"csv": "..."}`.
    Csv,
}

fn text(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Rows of JSON objects, as CSV with the given (key, header) columns.
fn as_csv(columns: &[(&str, &str)], rows: &[Value]) -> Value {
    let header: Vec<&str> = columns.iter().map(|(_, h)| *h).collect();
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|row| columns.iter().map(|(key, _)| text(&row[*key])).collect())
        .collect();
    json!({ "csv": crate::report::csv::document(&header, rows) })
}

const REDEMPTION_COLUMNS: &[(&str, &str)] = &[
    ("date", "日期"),
    ("kind", "类型"),
    ("receipt", "小票号"),
    ("store", "兑换点"),
    ("village", "村"),
    ("household", "户号"),
    ("head", "户主"),
    ("card", "卡号"),
    ("sku", "商品编码"),
    ("item", "商品名称"),
    ("quantity", "数量"),
    ("unit_price", "单价"),
    ("points", "积分"),
    ("use_count", "计次"),
    ("lots", "批次"),
    ("sources", "来源"),
    ("signature_ref", "签字凭证"),
    ("keeper", "经办人"),
    ("supervisor", "审批人"),
    ("reason", "作废原因"),
];

fn price_text(line: &super::redemption::ReceiptLine) -> String {
    match &line.price {
        super::item::Price::Points(points) => points.to_string(),
        super::item::Price::UseCount { kind, units } => format!("{kind}×{units}"),
    }
}

/// The ledger rows of one receipt: a row per line, and a negative row per
/// line for its void when the void falls in `quarter`.
fn receipt_rows(receipt: &Receipt, redemption: &Redemption, quarter: Quarter) -> Vec<Value> {
    let mut rows = Vec::new();
    for line in &receipt.lines {
        let lots: Vec<String> = line
            .lots
            .iter()
            .map(|u| format!("{}×{}", u.lot, u.quantity))
            .collect();
        let sources: Vec<String> = line
            .lots
            .iter()
            .map(|u| {
                serde_json::to_value(u.source)
                    .map(|v| text(&v))
                    .unwrap_or_default()
            })
            .collect();
        let use_count = line
            .use_count
            .as_ref()
            .map(|c| format!("{}×{}", c.kind, c.units));
        let base = json!({
            "receipt": receipt.number, "store": receipt.store, "village": receipt.village,
            "household": receipt.household, "head": receipt.head, "card": receipt.card,
            "sku": line.sku, "item": line.name, "unit_price": price_text(line),
            "lots": lots.join(";"), "sources": sources.join(";"),
            "signature_ref": receipt.signature_ref,
        });
        if Quarter::of(receipt.date) == quarter {
            let mut row = base.clone();
            row["date"] = json!(receipt.date);
            row["kind"] = json!("兑换");
            row["quantity"] = json!(line.quantity);
            row["points"] = json!(line.points);
            row["use_count"] = json!(use_count);
            row["keeper"] = json!(receipt.keeper);
            rows.push(row);
        }
        if let Some(void) = redemption
            .void
            .as_ref()
            .filter(|v| Quarter::of(v.date) == quarter)
        {
            let mut row = base;
            row["date"] = json!(void.date);
            row["kind"] = json!("作废");
            row["quantity"] = json!(-line.quantity);
            row["points"] = json!(-line.points);
            row["use_count"] = json!(line
                .use_count
                .as_ref()
                .map(|c| format!("{}×-{}", c.kind, c.units)));
            row["keeper"] = json!(void.keeper);
            row["supervisor"] = json!(void.supervisor);
            row["reason"] = json!(void.reason);
            rows.push(row);
        }
    }
    rows
}

/// The quarterly redemption ledger (兑换台账): every redemption line and
/// every void line in the quarter, at one store, one village or everywhere,
/// with net points by store and by village.
pub(super) fn redemptions(
    state: &State,
    quarter: Quarter,
    store: Option<&StoreId>,
    village: Option<&VillageCode>,
    format: LedgerFormat,
) -> Result<Value, Error> {
    if let Some(store) = store {
        state.stores.book(store)?;
    }
    let mut rows = Vec::new();
    let (mut redeemed, mut voided) = (Points::ZERO, Points::ZERO);
    let mut by_store: BTreeMap<&StoreId, Points> = BTreeMap::new();
    let mut by_village: BTreeMap<&VillageCode, Points> = BTreeMap::new();
    for redemption in state.stores.receipts.values() {
        let r = &redemption.receipt;
        if store.is_some_and(|s| s != &r.store) || village.is_some_and(|v| v != &r.village) {
            continue;
        }
        let mut net = Points::ZERO;
        if Quarter::of(r.date) == quarter {
            redeemed += r.points;
            net += r.points;
        }
        if let Some(void) = redemption
            .void
            .as_ref()
            .filter(|v| Quarter::of(v.date) == quarter)
        {
            voided += void.points;
            net -= void.points;
        }
        let new_rows = receipt_rows(r, redemption, quarter);
        if new_rows.is_empty() {
            continue;
        }
        *by_store.entry(&r.store).or_default() += net;
        *by_village.entry(&r.village).or_default() += net;
        rows.extend(new_rows);
    }
    rows.sort_by(|a, b| {
        (text(&a["date"]), text(&a["receipt"])).cmp(&(text(&b["date"]), text(&b["receipt"])))
    });
    Ok(match format {
        LedgerFormat::Csv => as_csv(REDEMPTION_COLUMNS, &rows),
        LedgerFormat::Json => json!({
            "quarter": quarter, "store": store, "village": village,
            "rows": rows,
            "points_redeemed": redeemed, "points_voided": voided, "net_points": redeemed - voided,
            "by_store": by_store, "by_village": by_village,
        }),
    })
}

fn source_detail(source: &LotSource) -> (String, Option<&DonationId>) {
    match source {
        LotSource::Purchased { purchase_ref, .. } => (purchase_ref.clone(), source.donation()),
        LotSource::Donated { donor, .. } => (donor.clone(), source.donation()),
    }
}

const STOCK_COLUMNS: &[(&str, &str)] = &[
    ("lot", "批次"),
    ("sku", "商品编码"),
    ("item", "商品名称"),
    ("source", "来源"),
    ("reference", "捐赠人/采购单号"),
    ("donation", "捐赠登记号"),
    ("unit_cost", "单位成本"),
    ("received_on", "入库日期"),
    ("expires", "保质期至"),
    ("received", "入库"),
    ("returned", "作废退回"),
    ("found", "盘盈"),
    ("redeemed", "兑换出库"),
    ("written_off", "报损"),
    ("stock_in", "合计入"),
    ("stock_out", "合计出"),
    ("on_hand", "结存"),
    ("held", "冻结"),
];

fn lot_row(lot: &Lot, item: &str, held: i64) -> Value {
    let (reference, donation) = source_detail(&lot.source);
    json!({
        "lot": lot.id, "sku": lot.sku, "item": item, "source": lot.source.kind(),
        "reference": reference, "donation": donation, "unit_cost": lot.source.unit_cost(),
        "received_on": lot.received_on, "expires": lot.expires,
        "received": lot.received, "returned": lot.returned, "found": lot.found,
        "redeemed": lot.redeemed, "written_off": lot.written_off,
        "stock_in": lot.stock_in(), "stock_out": lot.stock_out(), "on_hand": lot.on_hand,
        "held": held, "adjustments": lot.adjustments,
    })
}

/// The stock ledger of a store: per lot, what came in (received, returned by
/// voids, found by counts), what went out (redeemed, written off), what is on
/// hand and held, with each write-off's reason; totals per item.
pub(super) fn stock(state: &State, store: &StoreId, format: LedgerFormat) -> Result<Value, Error> {
    let book = state.stores.book(store)?;
    let held = book.held_units(None);
    let name = |lot: &Lot| {
        book.items
            .get(&lot.sku)
            .map(|i| i.name.clone())
            .unwrap_or_default()
    };
    let rows: Vec<Value> = book
        .lots
        .values()
        .map(|lot| lot_row(lot, &name(lot), held.get(&lot.id).copied().unwrap_or(0)))
        .collect();
    if format == LedgerFormat::Csv {
        return Ok(as_csv(STOCK_COLUMNS, &rows));
    }
    let mut items: BTreeMap<String, Value> = BTreeMap::new();
    for lot in book.lots.values() {
        let entry = items
            .entry(lot.sku.to_string())
            .or_insert_with(|| json!({ "stock_in": 0, "stock_out": 0, "on_hand": 0 }));
        for (key, value) in [
            ("stock_in", lot.stock_in()),
            ("stock_out", lot.stock_out()),
            ("on_hand", lot.on_hand),
        ] {
            entry[key] = json!(entry[key].as_i64().unwrap_or(0) + value);
        }
    }
    Ok(json!({ "store": store, "lots": rows, "items": items }))
}

const TRACE_COLUMNS: &[(&str, &str)] = &[
    ("donation", "捐赠登记号"),
    ("donor", "捐赠人"),
    ("donated_on", "捐赠日期"),
    ("receiving_body", "接收单位"),
    ("goods", "物品"),
    ("lot", "批次"),
    ("store", "兑换点"),
    ("outcome", "去向"),
    ("receipt", "小票号"),
    ("date", "日期"),
    ("household", "户号"),
    ("head", "户主"),
    ("village", "村"),
    ("quantity", "数量"),
];

/// Each lot's units handed out, by receipt: one pass over the receipts.
type LotUses<'a> = BTreeMap<&'a LotId, Vec<(&'a Redemption, i64)>>;

fn lot_uses(state: &State) -> LotUses<'_> {
    let mut uses: LotUses = BTreeMap::new();
    for redemption in state.stores.receipts.values() {
        for u in redemption.receipt.lines.iter().flat_map(|l| &l.lots) {
            let entry = uses.entry(&u.lot).or_default();
            match entry.last_mut() {
                Some((last, quantity)) if std::ptr::eq(*last, redemption) => {
                    *quantity += u.quantity
                }
                _ => entry.push((redemption, u.quantity)),
            }
        }
    }
    uses
}

/// Where each unit of one lot went: to households by receipt (a voided
/// receipt says so), written off or found by counts, or still on hand.
fn lot_trace(lot: &Lot, uses: &LotUses) -> Vec<Value> {
    let mut rows = Vec::new();
    for (Redemption { receipt, void }, quantity) in uses.get(&lot.id).into_iter().flatten() {
        rows.push(json!({
            "outcome": if void.is_some() { "兑换后作废退回" } else { "兑换" },
            "receipt": receipt.number, "date": receipt.date, "household": receipt.household,
            "head": receipt.head, "village": receipt.village, "quantity": quantity,
            "voided": void.is_some(),
        }));
    }
    for a in &lot.adjustments {
        rows.push(json!({ "outcome": serde_json::to_value(a.cause).map(|v| text(&v)).unwrap_or_default(),
                          "date": a.date, "quantity": if a.cause.adds() { a.quantity } else { -a.quantity },
                          "reason": a.reason }));
    }
    if lot.on_hand > 0 {
        rows.push(json!({ "outcome": "结存", "quantity": lot.on_hand }));
    }
    rows
}

fn donation_trace_one(state: &State, book: &DonationBook, uses: &LotUses) -> Value {
    let d = &book.donation;
    let lots: Vec<&Lot> = state
        .stores
        .stores
        .values()
        .flat_map(|b| b.lots.values())
        .filter(|lot| lot.source.donation() == Some(&d.id))
        .collect();
    let trace = |lot: &Lot| {
        json!({
            "lot": lot.id, "store": lot.store, "sku": lot.sku, "received": lot.received,
            "redeemed": lot.redeemed - lot.returned, "written_off": lot.written_off,
            "found": lot.found, "on_hand": lot.on_hand, "uses": lot_trace(lot, uses),
        })
    };
    let goods: Vec<Value> = d
        .goods
        .iter()
        .enumerate()
        .map(|(i, line)| {
            let n = i as u32 + 1;
            let line_lots: Vec<&&Lot> = lots
                .iter()
                .filter(|lot| matches!(lot.source, LotSource::Donated { line, .. } if line == n))
                .collect();
            let allocated: BTreeMap<&StoreId, i64> = state
                .stores
                .stores
                .keys()
                .map(|s| (s, book.goods_allocated(n, Some(s))))
                .filter(|(_, q)| *q > 0)
                .collect();
            json!({
                "line": n, "description": line.description, "quantity": line.quantity,
                "unit_value": line.unit_value, "allocated": allocated,
                "unallocated": line.quantity - book.goods_allocated(n, None),
                "received": line_lots.iter().map(|l| l.received).sum::<i64>(),
                "lots": line_lots.iter().map(|l| trace(l)).collect::<Vec<_>>(),
            })
        })
        .collect();
    let cash_lots: Vec<Value> = lots
        .iter()
        .filter(|lot| matches!(lot.source, LotSource::Purchased { .. }))
        .map(|lot| trace(lot))
        .collect();
    json!({
        "donation": d.id, "donor": d.donor, "date": d.date, "receiving_body": d.receiving_body,
        "goods": goods, "cash": d.cash, "cash_allocated": book.cash_allocated(None).to_string(),
        "cash_lots": cash_lots,
    })
}

/// The donation trace: for each donation (or one), its goods lines, their
/// allocation to stores, the lots scanned in against them, and where every
/// unit of those lots went: to which household on which receipt, written
/// off, or still on hand. Cash donations trace through the lots they bought.
pub(super) fn donation_trace(
    state: &State,
    donation: Option<&DonationId>,
    format: LedgerFormat,
) -> Result<Value, Error> {
    let books: Vec<&DonationBook> = match donation {
        Some(id) => vec![state.stores.donation(id)?],
        None => state.stores.donations.values().collect(),
    };
    let uses = lot_uses(state);
    let traces: Vec<Value> = books
        .iter()
        .map(|b| donation_trace_one(state, b, &uses))
        .collect();
    if format == LedgerFormat::Json {
        return Ok(json!({ "donations": traces }));
    }
    let mut rows = Vec::new();
    for (book, trace) in books.iter().zip(&traces) {
        let d = &book.donation;
        let lines = trace["goods"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|g| (text(&g["description"]), &g["lots"]));
        let cash = std::iter::once(("现金采购".to_owned(), &trace["cash_lots"]));
        for (goods, lots) in lines.chain(cash) {
            for lot in lots.as_array().into_iter().flatten() {
                for usage in lot["uses"].as_array().into_iter().flatten() {
                    let mut row = usage.clone();
                    row["donation"] = json!(d.id);
                    row["donor"] = json!(d.donor);
                    row["donated_on"] = json!(d.date);
                    row["receiving_body"] = json!(d.receiving_body);
                    row["goods"] = json!(goods);
                    row["lot"] = lot["lot"].clone();
                    row["store"] = lot["store"].clone();
                    rows.push(row);
                }
            }
        }
    }
    Ok(as_csv(TRACE_COLUMNS, &rows))
}
