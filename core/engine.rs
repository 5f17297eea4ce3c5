//! The engine: `Command` → validate against the state → `Event`s → append one
//! record to the journal → apply. The handle is `Send + Sync`: one writer at a
//! time holds the journal; readers share the state.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError, RwLock, RwLockReadGuard};

use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use serde::Serialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::access::{Actor, Role};
use crate::account::{self, AccountError, Origin, Totals};
use crate::card::{pin, CardError, CardStatus, PinHashCost, PinHasher};
use crate::command::{Command, Query, Request};
use crate::error::{AccessError, Error, InputError};
use crate::event::Event;
use crate::filial;
use crate::household::{Household, HouseholdError, HouseholdStatus, Residency};
use crate::journal::{
    snapshot_key, walk_chunks, ChainWalk, Checkpoint, Journal, JournalError, MemoryJournal, Record,
    RecordBody, Snapshot,
};
use crate::policy::caps::CapScope;
use crate::policy::{Policy, PolicyError};
use crate::primitives::{ActorId, CardNumber, MAX_POINTS};
use crate::scoring;
use crate::settlement;
use crate::state::State;
use crate::store;

/// The actor id under which the engine records what it does by itself
/// (the genesis policy).
pub const SYSTEM_ACTOR: &str = "system";

/// Settings an engine is opened with.
#[derive(Clone, Debug)]
pub struct EngineOptions {
    /// The host's secret mixed into every PIN hash; kept outside the journal.
    pub pepper: Vec<u8>,
    /// The Argon2id cost of PIN hashes.
    pub pin_hash_cost: PinHashCost,
    /// The date the opening policy is in force from, for a new journal (default: 2000-01-01).
    pub policy_from: NaiveDate,
    /// Events between state snapshots, for journals that keep them; 0 takes
    /// none (default: 10,000). Opening replays at most about this many events.
    pub snapshot_every: u64,
}

impl EngineOptions {
    /// Options with the host's pepper and the default PIN cost.
    pub fn new(pepper: &[u8]) -> EngineOptions {
        EngineOptions {
            pepper: pepper.to_vec(),
            pin_hash_cost: PinHashCost::default(),
            policy_from: NaiveDate::from_ymd_opt(2000, 1, 1).expect("a valid date"),
            snapshot_every: 10_000,
        }
    }

    /// The same options with another PIN hash cost.
    pub fn with_pin_hash_cost(mut self, cost: PinHashCost) -> EngineOptions {
        self.pin_hash_cost = cost;
        self
    }

    /// The same options with a snapshot every `events` events (0: none).
    pub fn with_snapshot_every(mut self, events: u64) -> EngineOptions {
        self.snapshot_every = events;
        self
    }
}

/// What an accepted command returns.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Outcome {
    /// The journal record that holds it.
    pub seq: u64,
    /// The events it recorded.
    pub events: Vec<Event>,
    /// Its command-specific result.
    pub result: Value,
}

/// The points engine.
pub struct Engine {
    journal: Mutex<Box<dyn Journal>>,
    state: RwLock<State>,
    pins: PinHasher,
    snapshot_every: u64,
    snapshot_key: [u8; 32],
    /// Events applied since the last snapshot; changed only under the journal lock.
    unsnapshotted: AtomicU64,
}

/// Records verified per hold of the journal lock, so a long verification
/// lets commands through between chunks.
const VERIFY_CHUNK: usize = 8_192;

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine").finish_non_exhaustive()
    }
}

/// Who is acting, when, and why.
pub(crate) struct Context<'a> {
    pub(crate) actor: &'a Actor,
    pub(crate) at: DateTime<Utc>,
    pub(crate) reason: Option<&'a str>,
}

impl Context<'_> {
    /// The business date: the calendar day in China when the command was made.
    pub(crate) fn date(&self) -> NaiveDate {
        business_date(self.at)
    }

    pub(crate) fn require_reason(&self) -> Result<(), InputError> {
        match self.reason {
            Some(reason) if !reason.trim().is_empty() => Ok(()),
            _ => Err(InputError::InvalidValue {
                field: "reason",
                detail: "this command needs a reason for the audit trail".into(),
            }),
        }
    }
}

/// The calendar day in China (UTC+8) of an instant.
pub fn business_date(at: DateTime<Utc>) -> NaiveDate {
    let china = FixedOffset::east_opt(8 * 3600).expect("UTC+8 is a valid offset");
    at.with_timezone(&china).date_naive()
}

fn lock<T: ?Sized>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic never leaves a half-applied state: events are applied only after
    // they are stored, and applying cannot fail, so a poisoned lock is safe to reuse.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Engine {
    /// An engine over a new in-memory journal, starting with `policy`.
    pub fn open_memory(policy: Policy, options: EngineOptions) -> Result<Engine, Error> {
        Engine::open_journal(Box::new(MemoryJournal::new()), Some(policy), options)
    }

    /// An engine over the SQLite journal at `path`, created if missing.
    /// A new journal records `policy` as its first version; an existing one
    /// keeps its own and ignores `policy`. Fails at once with
    /// `journal_locked` while another engine (in this process or another) or
    /// any other SQLite connection has the file open.
    #[cfg(feature = "sqlite")]
    pub fn open(
        path: impl AsRef<std::path::Path>,
        policy: Option<Policy>,
        options: EngineOptions,
    ) -> Result<Engine, Error> {
        let journal = crate::journal::SqliteJournal::open(path)?;
        Engine::open_journal(Box::new(journal), policy, options)
    }

    /// An engine over `journal`: starts from the journal's snapshot when it
    /// checks out (else from nothing), then replays the records after it,
    /// checking that each links to the one before. A new journal records
    /// `policy` as its first version; an existing one keeps its own and
    /// ignores `policy`.
    pub fn open_journal(
        journal: Box<dyn Journal>,
        policy: Option<Policy>,
        options: EngineOptions,
    ) -> Result<Engine, Error> {
        let pins = PinHasher::new(&options.pepper, options.pin_hash_cost)?;
        let snapshot_key = snapshot_key(&options.pepper);
        let mut state = restore_snapshot(journal.as_ref(), &snapshot_key);
        let mut replayed = 0;
        journal.replay(state.head.seq + 1, &mut |record| {
            if record.body.seq != state.head.seq + 1 || record.prev_hash != state.head.hash {
                return Err(JournalError::TamperDetected {
                    seq: state.head.seq + 1,
                });
            }
            refuse_figures_beyond_bound(&record)?;
            replayed += record.body.events.len() as u64;
            apply_record(&mut state, &record);
            Ok(())
        })?;
        let engine = Engine {
            journal: Mutex::new(journal),
            state: RwLock::new(state),
            pins,
            snapshot_every: options.snapshot_every,
            snapshot_key,
            unsnapshotted: AtomicU64::new(0),
        };
        engine.count_for_snapshot(lock(&engine.journal).as_mut(), replayed);
        if engine.read(|s| s.policies.versions().next().is_none()) {
            let policy = policy.ok_or(PolicyError::NoPolicyInForce {
                date: options.policy_from,
            })?;
            policy.validate()?;
            let event = Event::PolicyAdopted {
                effective_from: options.policy_from,
                policy: Box::new(policy),
            };
            let mut journal = lock(&engine.journal);
            let meta = Meta {
                actor: ActorId(SYSTEM_ACTOR.into()),
                at: Utc::now(),
                reason: Some("policy in force when the journal was created".into()),
                key: None,
                fingerprint: None,
            };
            engine.commit(journal.as_mut(), &meta, vec![event], Value::Null)?;
        }
        Ok(engine)
    }

    /// Runs `read` over the current state.
    pub fn read<T>(&self, read: impl FnOnce(&State) -> T) -> T {
        read(&self.state_guard())
    }

    fn state_guard(&self) -> RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// Executes a request: validates it, records its events in one journal
    /// record, applies them, and returns the outcome. A repeated idempotency
    /// key with the same request returns the first outcome and records nothing.
    pub fn execute(&self, request: Request) -> Result<Outcome, Error> {
        let mut journal = lock(&self.journal);
        let journal = journal.as_mut();
        let fingerprint = request.key.as_ref().map(|_| fingerprint(&request));
        if let (Some(key), Some(fingerprint)) = (&request.key, &fingerprint) {
            if let Some(seq) = journal.key_seq(key)? {
                return replay_key(journal, key, seq, fingerprint);
            }
        }
        let meta = Meta {
            actor: request.actor.clone(),
            at: request.at.unwrap_or_else(Utc::now),
            reason: request.reason.clone(),
            key: request.key.clone(),
            fingerprint,
        };
        let mut events = Vec::new();
        if let Some((card, pin)) = pin_to_check(&request.command) {
            self.authorize(&request)?;
            self.precheck(&request, meta.at)?;
            events.push(self.check_pin(journal, &meta, card, pin)?);
        }
        let decided = {
            let state = self.state_guard();
            decide(&state, &self.pins, &request, meta.at)
        };
        match decided {
            Ok((more, result)) => {
                events.extend(more);
                self.commit(journal, &meta, events, result)
            }
            Err(error) => {
                if !events.is_empty() {
                    // The PIN was right: clear the count even though the command failed.
                    let meta = Meta {
                        key: None,
                        fingerprint: None,
                        ..meta
                    };
                    self.commit(journal, &meta, events, Value::Null)?;
                }
                Err(error)
            }
        }
    }

    /// Executes a JSON request (`{"actor": …, "command": {"type": …}}`) or a
    /// JSON query (`{"query": {"type": …}}`) and returns the JSON answer.
    pub fn execute_json(&self, text: &str) -> Result<String, Error> {
        let value: Value = serde_json::from_str(text)?;
        let answer = match value.get("query") {
            Some(query) if value.as_object().is_some_and(|o| o.len() == 1) => {
                let query: Query = serde_json::from_value(query.clone())?;
                self.query(&query)?
            }
            _ => {
                let request: Request = serde_json::from_value(value)?;
                serde_json::to_value(self.execute(request)?)?
            }
        };
        Ok(answer.to_string())
    }

    /// Answers a query.
    pub fn query(&self, query: &Query) -> Result<Value, Error> {
        if let Query::Verify = query {
            let head = self.verify()?;
            return Ok(json!({ "seq": head.seq, "hash": head.hash }));
        }
        let state = self.state_guard();
        let value = match query {
            Query::Household { household } => serde_json::to_value(state.household(household)?)?,
            Query::Balance { household } => {
                json!({ "household": household, "balance": state.account(household)?.balance })
            }
            Query::Account { household } => serde_json::to_value(state.account(household)?)?,
            Query::CapRoom { household, month } => {
                let h = state.household(household)?;
                let policy = state.policies.in_force(month.first_day())?;
                serde_json::to_value(account::cap_room(
                    policy,
                    h,
                    state.account(household)?,
                    *month,
                )?)?
            }
            Query::Card { card } => {
                // The PIN hash stays inside the engine: the answer says only whether one is set.
                let card = state.card(card)?;
                let mut answer = serde_json::to_value(card)?;
                if let Some(fields) = answer.as_object_mut() {
                    fields.remove("pin_hash");
                    fields.insert("has_pin".into(), Value::Bool(card.pin_hash.is_some()));
                }
                answer
            }
            Query::Policy { date } => serde_json::to_value(state.policies.in_force(*date)?)?,
            Query::Invariants => serde_json::to_value(check(&state)?)?,
            Query::FilialStatement => serde_json::to_value(filial::statement(&state.filial))?,
            Query::Verify => unreachable!("answered above"),
            Query::Sheet { .. }
            | Query::Sheets { .. }
            | Query::Declaration { .. }
            | Query::Overdue { .. }
            | Query::PointsDetail { .. }
            | Query::EntryLedger { .. }
            | Query::PublicationList { .. }
            | Query::StarRatings { .. } => scoring::query(&state, query)?,
            Query::StoreItems { .. }
            | Query::Redeemable { .. }
            | Query::Receipt { .. }
            | Query::Hold { .. }
            | Query::StockLedger { .. }
            | Query::RedemptionLedger { .. }
            | Query::DonationTrace { .. }
            | Query::Notifications => store::query(&state, query)?,
            Query::Statement { .. }
            | Query::Statements { .. }
            | Query::Reconciliation { .. }
            | Query::Liability { .. }
            | Query::MonthlyStatistics { .. }
            | Query::PaymentFile { .. } => settlement::statement::query(&state, query)?,
        };
        Ok(value)
    }

    /// Checks the SPEC invariants; returns the totals over all accounts.
    pub fn check_invariants(&self) -> Result<Totals, String> {
        self.read(State::check_invariants)
    }

    /// Walks the journal's hash chain end to end, one record at a time, and
    /// returns its head. Names the first record whose bytes, link or position
    /// are wrong (`tamper_detected`); a journal that ends before the engine's
    /// own head has lost records and fails the same way.
    pub fn verify(&self) -> Result<Checkpoint, Error> {
        let known = self.checkpoint();
        let mut walk = ChainWalk::through(&known);
        match self.walk(&mut walk) {
            // The chain holds together but its record at the engine's head is
            // not the one the engine wrote: the file was rewritten under it.
            Err(Error::Journal(JournalError::CheckpointMismatch { seq })) => {
                return Err(JournalError::TamperDetected { seq }.into())
            }
            walked => walked?,
        }
        let head = walk.head();
        if head.seq < known.seq {
            return Err(JournalError::TamperDetected { seq: head.seq + 1 }.into());
        }
        Ok(head)
    }

    /// Proves the journal only grew since `checkpoint` was exported: the whole
    /// chain verifies and its record at the checkpoint's sequence number has
    /// the checkpoint's hash. Returns the current head; `checkpoint_mismatch`
    /// when the journal was cut short or rewritten before that point.
    pub fn verify_against(&self, checkpoint: &Checkpoint) -> Result<Checkpoint, Error> {
        let mut walk = ChainWalk::through(checkpoint);
        self.walk(&mut walk)?;
        Ok(walk.finish()?)
    }

    /// The current head (sequence number and hash) to export, e.g. for a
    /// county server to keep and later pass to [`Engine::verify_against`].
    pub fn checkpoint(&self) -> Checkpoint {
        self.read(|s| s.head.clone())
    }

    /// Steps `walk` through every record, taking the journal lock one chunk
    /// at a time: records never change once written, so commands may append
    /// in between, and hashing one chunk overlaps reading the next.
    fn walk(&self, walk: &mut ChainWalk) -> Result<(), Error> {
        walk_chunks(walk, VERIFY_CHUNK, &mut |from, limit, visit| {
            lock(&self.journal).scan(from, limit, visit)
        })?;
        Ok(())
    }

    fn authorize(&self, request: &Request) -> Result<(), Error> {
        let state = self.state_guard();
        let actor = state.actor(&request.actor)?;
        if !actor.roles.contains(&Role::StoreKeeper) {
            actor.require(Role::Administrator)?;
        }
        Ok(())
    }

    /// What a PIN command needs besides the household's own account, checked
    /// before the attempt is counted: a request the store must refuse anyway
    /// records nothing.
    fn precheck(&self, request: &Request, at: DateTime<Utc>) -> Result<(), Error> {
        let state = self.state_guard();
        let ctx = Context {
            actor: state.actor(&request.actor)?,
            at,
            reason: request.reason.as_deref(),
        };
        store::precheck(&state, &ctx, &request.command)
    }

    /// The PIN protocol: the attempt is recorded before the PIN is checked, so
    /// cutting the power after a wrong guess still counts it. Returns the
    /// event that clears the count when the PIN is right.
    fn check_pin(
        &self,
        journal: &mut dyn Journal,
        meta: &Meta,
        number: &CardNumber,
        pin: &str,
    ) -> Result<Event, Error> {
        let (stored, attempts, max_attempts) = {
            let state = self.state_guard();
            let card = state.card(number)?;
            card.require_active()?;
            let stored = card.pin_hash.clone().ok_or_else(|| CardError::NoPinSet {
                card: number.to_string(),
            })?;
            let policy = state.policies.in_force(business_date(meta.at))?;
            (stored, card.failed_attempts, policy.pin.max_attempts)
        };
        let attempt_meta = Meta {
            key: None,
            fingerprint: None,
            ..meta.clone()
        };
        self.commit(
            journal,
            &attempt_meta,
            vec![Event::PinAttempted {
                card: number.clone(),
            }],
            Value::Null,
        )?;
        if self.pins.verify(pin, &stored)? {
            return Ok(Event::PinAccepted {
                card: number.clone(),
            });
        }
        let attempts = attempts + 1;
        if attempts >= max_attempts {
            let lock = Event::CardStatusChanged {
                card: number.clone(),
                status: CardStatus::Locked,
            };
            self.commit(journal, &attempt_meta, vec![lock], Value::Null)?;
            return Err(CardError::Locked {
                card: number.to_string(),
            }
            .into());
        }
        Err(CardError::WrongPin {
            card: number.to_string(),
            attempts_left: max_attempts - attempts,
        }
        .into())
    }

    fn commit(
        &self,
        journal: &mut dyn Journal,
        meta: &Meta,
        events: Vec<Event>,
        result: Value,
    ) -> Result<Outcome, Error> {
        let head = self.read(|s| s.head.clone());
        let record = RecordBody {
            seq: head.seq + 1,
            at: meta.at,
            actor: meta.actor.clone(),
            reason: meta.reason.clone(),
            key: meta.key.clone(),
            fingerprint: meta.fingerprint.clone(),
            events,
            result,
        }
        .seal(&head.hash);
        journal.append(&record)?;
        let mut state = self.state.write().unwrap_or_else(PoisonError::into_inner);
        apply_record(&mut state, &record);
        drop(state);
        self.count_for_snapshot(journal, record.body.events.len() as u64);
        Ok(Outcome {
            seq: record.body.seq,
            events: record.body.events,
            result: record.body.result,
        })
    }

    /// Counts `events` just applied and, once `snapshot_every` have gathered,
    /// keeps a snapshot of the state. Called with the journal lock held, so
    /// the state cannot move while it is captured.
    fn count_for_snapshot(&self, journal: &mut dyn Journal, events: u64) {
        let gathered = self.unsnapshotted.fetch_add(events, Ordering::Relaxed) + events;
        if self.snapshot_every == 0 || gathered < self.snapshot_every || !journal.keeps_snapshots()
        {
            return;
        }
        self.unsnapshotted.store(0, Ordering::Relaxed);
        // A snapshot only shortens the next open, and the command that
        // triggered it is already stored: failing to keep one must not turn
        // that command into an error (a caller would retry it), so a failure
        // is dropped and the next snapshot is tried `snapshot_every` later.
        if let Ok(snapshot) = Snapshot::capture(&self.state_guard(), &self.snapshot_key) {
            let _ = journal.save_snapshot(&snapshot);
        }
    }
}

/// The state in the journal's snapshot, when there is one that restores and
/// belongs to this journal's chain; otherwise the empty state, so that
/// everything is replayed.
fn restore_snapshot(journal: &dyn Journal, key: &[u8; 32]) -> State {
    let Ok(Some(snapshot)) = journal.load_snapshot() else {
        return State::default();
    };
    match journal.record(snapshot.seq) {
        Ok(Some(record)) if record.hash == snapshot.hash => {
            snapshot.restore(key).unwrap_or_default()
        }
        _ => State::default(),
    }
}

/// The first outcome of a request that carried `key`, stored at `seq`; an
/// error when the key was used for a different request. The key and
/// fingerprint are read from the hashed record, not from the store's index.
fn replay_key(
    journal: &dyn Journal,
    key: &str,
    seq: u64,
    fingerprint: &str,
) -> Result<Outcome, Error> {
    let record = journal.record(seq)?.ok_or(JournalError::Corrupt {
        seq,
        detail: "the record an idempotency key points at is missing".into(),
    })?;
    if record.body.key.as_deref() != Some(key) {
        return Err(JournalError::Corrupt {
            seq,
            detail: format!(
                "the key index names this record for key {key:?}, which it does not carry"
            ),
        }
        .into());
    }
    if record.body.fingerprint.as_deref() != Some(fingerprint) {
        return Err(AccessError::IdempotencyConflict {
            key: key.to_owned(),
        }
        .into());
    }
    Ok(Outcome {
        seq: record.body.seq,
        events: record.body.events,
        result: record.body.result,
    })
}

/// Fails when a record read back names a figure no command could have
/// ([`Event::figure_beyond_bound`]): its hash may hold, if whoever changed it
/// also sealed it again, but replaying it would corrupt the accounts.
fn refuse_figures_beyond_bound(record: &Record) -> Result<(), JournalError> {
    let beyond = record
        .body
        .events
        .iter()
        .enumerate()
        .find_map(|(index, event)| {
            let (field, value) = event.figure_beyond_bound()?;
            Some((index, field, value))
        });
    match beyond {
        None => Ok(()),
        Some((index, field, value)) => Err(JournalError::Corrupt {
            seq: record.body.seq,
            detail: format!(
                "event {index} records {field} {value}, outside the 0..={MAX_POINTS} points a posting may name"
            ),
        }),
    }
}

/// Applies a stored record to the state: its events, then the new head.
fn apply_record(state: &mut State, record: &Record) {
    for event in &record.body.events {
        state.apply(event);
    }
    state.head = Checkpoint {
        seq: record.body.seq,
        hash: record.hash.clone(),
    };
}

fn check(state: &State) -> Result<Totals, Error> {
    state.check_invariants().map_err(|detail| {
        InputError::InvalidValue {
            field: "invariants",
            detail,
        }
        .into()
    })
}

/// What a record says about its command besides the events.
#[derive(Clone)]
struct Meta {
    actor: ActorId,
    at: DateTime<Utc>,
    reason: Option<String>,
    key: Option<String>,
    fingerprint: Option<String>,
}

/// The request's fingerprint for idempotency: everything but the time, since
/// a retry is sent later than the first try.
fn fingerprint(request: &Request) -> String {
    let canonical = serde_json::to_vec(&(&request.actor, &request.reason, &request.command))
        .expect("requests serialize: every field is plain data");
    hex::encode(Sha256::digest(canonical))
}

/// The card and PIN a command must check before it runs.
fn pin_to_check(command: &Command) -> Option<(&CardNumber, &str)> {
    match command {
        Command::VerifyPin { card, pin } => Some((card, pin)),
        Command::ChangePin { card, old_pin, .. } => Some((card, old_pin)),
        Command::Redeem { card, pin, .. } | Command::ReserveRedemption { card, pin, .. } => {
            Some((card, pin))
        }
        _ => None,
    }
}

/// Validates a command against the state and returns its events and result.
fn decide(
    state: &State,
    pins: &PinHasher,
    request: &Request,
    at: DateTime<Utc>,
) -> Result<(Vec<Event>, Value), Error> {
    let bootstrap;
    let actor = match (&request.command, state.actors.is_empty()) {
        (Command::RegisterActor { actor }, true)
            if actor.id == request.actor && actor.roles.contains(&Role::Administrator) =>
        {
            bootstrap = actor.clone();
            &bootstrap
        }
        _ => state.actor(&request.actor)?,
    };
    let ctx = Context {
        actor,
        at,
        reason: request.reason.as_deref(),
    };
    let policy = state.policies.in_force(ctx.date())?;
    let admin = || ctx.actor.require(Role::Administrator);
    let one = |event: Event| Ok((vec![event], Value::Null));
    match &request.command {
        Command::RegisterActor { actor } => {
            if !state.actors.is_empty() {
                admin()?;
            }
            if state.actors.contains_key(&actor.id) {
                return Err(AccessError::DuplicateActor {
                    actor: actor.id.to_string(),
                }
                .into());
            }
            one(Event::ActorRegistered {
                actor: actor.clone(),
            })
        }
        Command::AdoptPolicy {
            effective_from,
            policy,
        } => {
            admin()?;
            let policy = Policy::from_value(policy.clone())?;
            one(Event::PolicyAdopted {
                effective_from: *effective_from,
                policy: Box::new(policy),
            })
        }
        Command::RegisterHousehold {
            household,
            region,
            head,
            category,
            category_from,
            members,
            residency,
            attributes,
            photo_ref,
        } => {
            admin()?;
            if state.households.contains_key(household) {
                return Err(HouseholdError::Duplicate {
                    household: household.to_string(),
                }
                .into());
            }
            if let Residency::NonResident { approval_ref } = residency {
                if approval_ref.trim().is_empty() {
                    return Err(HouseholdError::NonResidentNeedsApproval {
                        household: household.to_string(),
                    }
                    .into());
                }
            }
            let from = category_from.unwrap_or(ctx.date());
            state.policies.in_force(from)?.caps(category)?;
            one(Event::HouseholdRegistered {
                household: Box::new(Household {
                    id: household.clone(),
                    region: region.clone(),
                    head: head.clone(),
                    members: members.clone(),
                    categories: vec![(from, category.clone())],
                    residency: residency.clone(),
                    status: HouseholdStatus::Active,
                    attributes: attributes.clone(),
                    photo_ref: photo_ref.clone(),
                }),
            })
        }
        Command::ChangeCategory {
            household,
            category,
            effective_from,
        } => {
            admin()?;
            let h = state.household(household)?;
            if let Some((latest, _)) = h.categories.last() {
                if effective_from <= latest {
                    return Err(HouseholdError::CategoryChangeOutOfOrder {
                        household: household.to_string(),
                        date: *effective_from,
                        latest: *latest,
                    }
                    .into());
                }
            }
            state.policies.in_force(*effective_from)?.caps(category)?;
            one(Event::HouseholdCategoryChanged {
                household: household.clone(),
                effective_from: *effective_from,
                category: category.clone(),
            })
        }
        Command::SetHouseholdStatus { household, status } => {
            admin()?;
            state.household(household)?.check_transition(*status)?;
            one(Event::HouseholdStatusChanged {
                household: household.clone(),
                status: *status,
            })
        }
        Command::UpdateHousehold {
            household,
            members,
            attributes,
            photo_ref,
        } => {
            admin()?;
            state.household(household)?;
            one(Event::HouseholdUpdated {
                household: household.clone(),
                members: members.clone(),
                attributes: attributes.clone(),
                photo_ref: photo_ref.clone(),
            })
        }
        Command::IssueCard {
            card,
            household,
            pin,
        } => {
            admin()?;
            state.household(household)?.require_active()?;
            require_new_card_number(state, card)?;
            if let Some(current) = state.current_card.get(household) {
                return Err(CardError::HouseholdHasActiveCard {
                    household: household.to_string(),
                    card: current.to_string(),
                }
                .into());
            }
            let pin_hash = pin
                .as_deref()
                .map(|pin| pins.hash(pin, policy.pin.digits))
                .transpose()?;
            one(Event::CardIssued {
                card: card.clone(),
                household: household.clone(),
                pin_hash,
            })
        }
        Command::LockCard { card } => card_status(state, &ctx, card, CardStatus::Locked),
        Command::UnlockCard { card } => card_status(state, &ctx, card, CardStatus::Active),
        Command::ReportCardLost { card } => {
            card_status(state, &ctx, card, CardStatus::ReportedLost)
        }
        Command::CancelCard { card } => card_status(state, &ctx, card, CardStatus::Cancelled),
        Command::ReplaceCard { old_card, new_card } => {
            admin()?;
            let old = state.card(old_card)?;
            if old.status.is_dead() {
                return Err(CardError::InvalidTransition {
                    card: old_card.to_string(),
                    from: old.status.name(),
                    to: CardStatus::Replaced.name(),
                }
                .into());
            }
            require_new_card_number(state, new_card)?;
            state.household(&old.household)?.require_active()?;
            one(Event::CardReplaced {
                old_card: old_card.clone(),
                new_card: new_card.clone(),
            })
        }
        Command::SetPin { card, pin } => {
            admin()?;
            let c = state.card(card)?;
            if c.status.is_dead() {
                return Err(CardError::NotActive {
                    card: card.to_string(),
                    status: c.status.name(),
                }
                .into());
            }
            let pin_hash = pins.hash(pin, policy.pin.digits)?;
            one(Event::PinSet {
                card: card.clone(),
                pin_hash,
            })
        }
        Command::ChangePin { card, new_pin, .. } => {
            pin::check_format(new_pin, policy.pin.digits)?;
            let pin_hash = pins.hash(new_pin, policy.pin.digits)?;
            one(Event::PinSet {
                card: card.clone(),
                pin_hash,
            })
        }
        Command::VerifyPin { card, .. } => {
            let c = state.card(card)?;
            let funds = store::redemption::funds(
                state,
                &c.household,
                state.account(&c.household)?,
                at,
                None,
            );
            Ok((
                vec![],
                json!({ "card": card, "household": c.household, "balance": funds.balance,
                        "held": funds.held, "available": funds.available }),
            ))
        }
        Command::PostAward {
            household,
            date,
            points,
        } => {
            admin()?;
            ctx.require_reason()?;
            let h = state.household(household)?;
            h.require_active()?;
            let policy = state.policies.in_force(*date)?;
            let posting = account::decide_award(
                policy,
                h,
                state.account(household)?,
                *date,
                *points,
                Origin::Admin,
                CapScope::BOTH,
            )?;
            let result = serde_json::to_value(&posting)?;
            Ok((vec![Event::AwardPosted(posting)], result))
        }
        Command::PostDeduction {
            household,
            date,
            points,
        } => {
            admin()?;
            ctx.require_reason()?;
            let policy = state.policies.in_force(*date)?;
            let posting = account::decide_deduction(
                policy,
                household,
                state.account(household)?,
                *date,
                *points,
                Origin::Admin,
            )?;
            let result = serde_json::to_value(&posting)?;
            Ok((vec![Event::DeductionPosted(posting)], result))
        }
        Command::PostVeto { household, date } => {
            admin()?;
            ctx.require_reason()?;
            let policy = state.policies.in_force(*date)?;
            let posting = account::decide_veto(
                policy,
                household,
                state.account(household)?,
                *date,
                Origin::Admin,
            );
            let result = serde_json::to_value(&posting)?;
            Ok((vec![Event::VetoPosted(posting)], result))
        }
        Command::TransferPoints {
            from,
            to,
            points,
            approver,
        } => {
            admin()?;
            ctx.require_reason()?;
            account::require_posting_amount("points", points.get())?;
            if from == to {
                return Err(AccountError::SelfTransfer {
                    household: from.to_string(),
                }
                .into());
            }
            let approver_actor = state.actor(approver)?;
            if approver == &ctx.actor.id {
                return Err(InputError::InvalidValue {
                    field: "approver",
                    detail: "a transfer is approved by someone other than the actor".into(),
                }
                .into());
            }
            if !approver_actor.roles.contains(&Role::TownshipApprover) {
                approver_actor.require(Role::Administrator)?;
            }
            state.household(from)?.require_active()?;
            state.household(to)?.require_active()?;
            let balance = state.account(from)?.balance;
            if balance < *points {
                return Err(AccountError::InsufficientPoints {
                    household: from.to_string(),
                    balance: balance.get(),
                    needed: points.get(),
                }
                .into());
            }
            one(Event::PointsTransferred {
                from: from.clone(),
                to: to.clone(),
                points: *points,
                approver: approver.clone(),
            })
        }
        Command::GrantUseCounts {
            household,
            kind,
            units,
        } => {
            admin()?;
            state.household(household)?.require_active()?;
            account::require_posting_amount("units", *units)?;
            if kind.trim().is_empty() {
                return Err(InputError::InvalidValue {
                    field: "kind",
                    detail: "a use-count kind needs a name".into(),
                }
                .into());
            }
            one(Event::UseCountsGranted {
                household: household.clone(),
                kind: kind.clone(),
                units: *units,
            })
        }
        Command::OpenSheet { .. }
        | Command::AddEntry { .. }
        | Command::RemoveEntry { .. }
        | Command::AcknowledgeEntry { .. }
        | Command::SignSheet { .. }
        | Command::SubmitSheet { .. }
        | Command::ReviewSheet { .. }
        | Command::SendBackSheet { .. }
        | Command::PublishSheet { .. }
        | Command::LodgeObjection { .. }
        | Command::ResolveObjection { .. }
        | Command::PostSheet { .. }
        | Command::Declare { .. }
        | Command::AcceptDeclaration { .. }
        | Command::RejectDeclaration { .. }
        | Command::ClosePeriod { .. }
        | Command::CloseYear { .. }
        | Command::FileTownshipReport { .. } => {
            let act = scoring::Act {
                actor: ctx.actor,
                at: ctx.at,
                reason: ctx.reason,
            };
            scoring::decide(state, &act, &request.command)
        }
        Command::EnrolFilialElder { .. }
        | Command::RecordFilialContribution { .. }
        | Command::PayFilialElder { .. } => {
            admin()?;
            filial::decide(state, policy, ctx.date(), &request.command)
        }
        command @ (Command::RegisterStore { .. }
        | Command::UpdateStore { .. }
        | Command::ListItem { .. }
        | Command::ProposePrice { .. }
        | Command::ForwardPrice { .. }
        | Command::ApprovePrice { .. }
        | Command::RejectPrice { .. }
        | Command::ReceiveStock { .. }
        | Command::WriteOffStock { .. }
        | Command::CountStock { .. }
        | Command::RegisterDonation { .. }
        | Command::AllocateDonation { .. }
        | Command::Redeem { .. }
        | Command::ReserveRedemption { .. }
        | Command::CommitHold { .. }
        | Command::CancelHold { .. }
        | Command::ExpireHolds { .. }
        | Command::VoidRedemption { .. }
        | Command::TakeNotifications { .. }) => store::decide(state, &ctx, command),
        command @ (Command::GenerateStatements { .. }
        | Command::SubmitStoreStatement { .. }
        | Command::ReviewStatement { .. }
        | Command::ApproveStatement { .. }
        | Command::RecordPayment { .. }) => settlement::statement::decide(state, &ctx, command),
    }
}

fn require_new_card_number(state: &State, card: &CardNumber) -> Result<(), CardError> {
    if state.cards.contains_key(card) {
        return Err(CardError::Duplicate {
            card: card.to_string(),
        });
    }
    Ok(())
}

/// Lock, unlock, report lost or cancel. Reporting a loss may come from the
/// store counter as well as the administrator.
fn card_status(
    state: &State,
    ctx: &Context,
    card: &CardNumber,
    to: CardStatus,
) -> Result<(Vec<Event>, Value), Error> {
    if !(to == CardStatus::ReportedLost && ctx.actor.roles.contains(&Role::StoreKeeper)) {
        ctx.actor.require(Role::Administrator)?;
    }
    state.card(card)?.check_transition(to)?;
    Ok((
        vec![Event::CardStatusChanged {
            card: card.clone(),
            status: to,
        }],
        Value::Null,
    ))
}
