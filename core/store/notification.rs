//! The notification outbox (Baisha's SMS): a message is queued whenever
//! points are posted or deducted, a redemption is made or voided, or a card is
//! locked or reported lost. The host drains it with `take_notifications`,
//! which records how far it took, so a message is handed out once, also after
//! the journal is reopened (the outbox is rebuilt from the same events).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::access::Role;
use crate::card::CardStatus;
use crate::engine::Context;
use crate::error::{Error, InputError};
use crate::event::Event;
use crate::primitives::{CardNumber, HouseholdId, Points};
use crate::state::State;

/// Points credited to a household.
pub const POINTS_POSTED: &str =
    "【积分超市】{head}户：{date}积分入账{credited}分，当前余额{balance}分。";
/// Points credited, with part cut by a cap.
pub const POINTS_CAPPED: &str =
    "【积分超市】{head}户：{date}积分入账{credited}分（超出上限未计{capped}分），当前余额{balance}分。";
/// Points deducted.
pub const POINTS_DEDUCTED: &str =
    "【积分超市】{head}户：{date}扣减积分{applied}分，当前余额{balance}分。";
/// A redemption made.
pub const REDEMPTION_MADE: &str =
    "【积分超市】{head}户：{date}在{store}兑换商品{units}件，使用{spent}，小票号{receipt}，当前余额{balance}分。";
/// A redemption voided.
pub const REDEMPTION_VOIDED: &str =
    "【积分超市】{head}户：小票{receipt}已作废，退回{spent}，当前余额{balance}分。";
/// A card locked (by wrong PINs or an administrator).
pub const CARD_LOCKED: &str = "【积分超市】{head}户：积分卡{card}已锁定，请到村委会办理解锁。";
/// A card reported lost.
pub const CARD_REPORTED_LOST: &str =
    "【积分超市】{head}户：积分卡{card}已挂失，请到村委会补办新卡。";

/// What a message is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum NotificationKind {
    /// Points credited.
    PointsPosted,
    /// Points deducted.
    PointsDeducted,
    /// A redemption made.
    RedemptionMade,
    /// A redemption voided.
    RedemptionVoided,
    /// A card locked.
    CardLocked,
    /// A card reported lost.
    CardReportedLost,
}

/// A message for a household.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Notification {
    /// Its number in the outbox, from 1.
    pub id: u64,
    /// The journal record that caused it.
    pub seq: u64,
    /// What it is about.
    pub kind: NotificationKind,
    /// The household to tell (the host knows its phone).
    pub household: HouseholdId,
    /// The card concerned, or the household's current card.
    pub card: Option<CardNumber>,
    /// The text, from the templates above.
    pub text: String,
}

/// Messages waiting for the host.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outbox {
    /// The last id given.
    pub last_id: u64,
    /// Messages up to this id were taken.
    pub taken_through: u64,
    /// Messages not yet taken, oldest first.
    pending: Vec<Notification>,
}

impl Outbox {
    /// Messages not yet taken, oldest first.
    pub fn pending(&self) -> &[Notification] {
        &self.pending
    }

    pub(super) fn taken(&mut self, through: u64) {
        self.taken_through = self.taken_through.max(through);
        self.pending.retain(|n| n.id > through);
    }
}

/// Fills `{name}` placeholders.
fn render(template: &str, values: &[(&str, String)]) -> String {
    values
        .iter()
        .fold(template.to_owned(), |text, (name, value)| {
            text.replace(&format!("{{{name}}}"), value)
        })
}

/// What a redemption or void spent or gave back, in words.
fn spent(points: Points, use_counts: &std::collections::BTreeMap<String, i64>) -> String {
    let mut parts = Vec::new();
    if points != Points::ZERO || use_counts.is_empty() {
        parts.push(format!("积分{points}分"));
    }
    parts.extend(
        use_counts
            .iter()
            .map(|(kind, units)| format!("{kind}{units}次")),
    );
    parts.join("、")
}

/// Queues the message `event` calls for, if any. Runs after the event is applied,
/// so balances are the ones after it.
pub(crate) fn observe(state: &mut State, event: &Event) {
    let seq = state.head.seq + 1;
    let Some((kind, household, card, text)) = compose(state, event) else {
        return;
    };
    let outbox = &mut state.stores.outbox;
    outbox.last_id += 1;
    outbox.pending.push(Notification {
        id: outbox.last_id,
        seq,
        kind,
        household,
        card,
        text,
    });
}

type Message = (NotificationKind, HouseholdId, Option<CardNumber>, String);

fn compose(state: &State, event: &Event) -> Option<Message> {
    let head = |h: &HouseholdId| {
        state
            .households
            .get(h)
            .map(|h| h.head.clone())
            .unwrap_or_default()
    };
    let balance = |h: &HouseholdId| state.accounts.get(h).map(|a| a.balance).unwrap_or_default();
    let card_of = |h: &HouseholdId| state.current_card.get(h).cloned();
    match event {
        Event::AwardPosted(p) if p.credited != Points::ZERO || p.capped != Points::ZERO => {
            let template = if p.capped == Points::ZERO {
                POINTS_POSTED
            } else {
                POINTS_CAPPED
            };
            let text = render(
                template,
                &[
                    ("head", head(&p.household)),
                    ("date", p.date.to_string()),
                    ("credited", p.credited.to_string()),
                    ("capped", p.capped.to_string()),
                    ("balance", balance(&p.household).to_string()),
                ],
            );
            Some((
                NotificationKind::PointsPosted,
                p.household.clone(),
                card_of(&p.household),
                text,
            ))
        }
        Event::DeductionPosted(p) if p.applied != Points::ZERO => {
            let text = render(
                POINTS_DEDUCTED,
                &[
                    ("head", head(&p.household)),
                    ("date", p.date.to_string()),
                    ("applied", p.applied.to_string()),
                    ("balance", balance(&p.household).to_string()),
                ],
            );
            Some((
                NotificationKind::PointsDeducted,
                p.household.clone(),
                card_of(&p.household),
                text,
            ))
        }
        Event::Redeemed(r) => {
            let units: i64 = r.lines.iter().map(|l| l.quantity).sum();
            let text = render(
                REDEMPTION_MADE,
                &[
                    ("head", r.head.clone()),
                    ("date", r.date.to_string()),
                    ("store", r.store_name.clone()),
                    ("units", units.to_string()),
                    ("spent", spent(r.points, &r.use_counts)),
                    ("receipt", r.number.to_string()),
                    ("balance", r.balance_after.to_string()),
                ],
            );
            Some((
                NotificationKind::RedemptionMade,
                r.household.clone(),
                Some(r.card.clone()),
                text,
            ))
        }
        Event::RedemptionVoided(v) => {
            let text = render(
                REDEMPTION_VOIDED,
                &[
                    ("head", head(&v.household)),
                    ("receipt", v.receipt.to_string()),
                    ("spent", spent(v.points, &v.use_counts)),
                    ("balance", v.balance_after.to_string()),
                ],
            );
            Some((
                NotificationKind::RedemptionVoided,
                v.household.clone(),
                card_of(&v.household),
                text,
            ))
        }
        Event::CardStatusChanged { card, status } => {
            let (kind, template) = match status {
                CardStatus::Locked => (NotificationKind::CardLocked, CARD_LOCKED),
                CardStatus::ReportedLost => {
                    (NotificationKind::CardReportedLost, CARD_REPORTED_LOST)
                }
                _ => return None,
            };
            let household = state.cards.get(card)?.household.clone();
            let text = render(
                template,
                &[("head", head(&household)), ("card", card.to_string())],
            );
            Some((kind, household, Some(card.clone()), text))
        }
        _ => None,
    }
}

/// Hands the host up to `limit` pending messages (all by default) and records
/// that they were taken.
pub(super) fn take(
    state: &State,
    ctx: &Context,
    limit: Option<u32>,
) -> Result<(Vec<Event>, Value), Error> {
    ctx.actor.require(Role::Administrator)?;
    if limit == Some(0) {
        return Err(InputError::InvalidValue {
            field: "limit",
            detail: "take at least one message".into(),
        }
        .into());
    }
    let pending = state.stores.outbox.pending();
    let count = limit.map_or(pending.len(), |l| pending.len().min(l as usize));
    let taken = &pending[..count];
    let result = json!({ "notifications": taken, "remaining": pending.len() - count });
    let events = taken
        .last()
        .map(|last| Event::NotificationsTaken { through: last.id })
        .into_iter()
        .collect();
    Ok((events, result))
}
