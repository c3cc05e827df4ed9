//! The write path for visit outcomes: many phones post at once, each post is acknowledged only
//! after its event is committed, and nothing is lost or stored twice.
//!
//! Posts are group-committed. Each post joins a queue and then waits for the application's
//! writer lock (the one every write takes, so that database commits and index updates happen in
//! the same order). Whoever gets the lock takes everything queued so far and writes it in one
//! transaction ([`App::store_visits`]): a handful of statements however many posts there are,
//! then one commit, then the index. The others find their answers ready when their turn comes.
//! Under a burst, the first post writes alone and the next writes all that arrived meanwhile;
//! idle, a post writes alone at once. If a batch fails as a whole, each of its posts is retried
//! on its own, so one bad post cannot fail the others.

use std::collections::{HashMap, HashSet};

use tokio::sync::oneshot;

use crate::app::App;
use crate::auth::Scope;
use crate::domain::FieldError;
use crate::storage::visits::{
    events_by_client, insert_events, lock_events, merchant_rows, next_event_id, settle, NewEvent,
    Settled, StoredEvent,
};
use crate::storage::StorageError;
use crate::visits::outcome::{NewVisit, Step};

/// Who records a visit, and what they may write.
#[derive(Debug, Clone)]
pub struct Recorder {
    pub username: String,
    pub user_id: Option<String>,
    pub display_name: Option<String>,
    pub scope: Scope,
}

#[derive(Debug, thiserror::Error)]
pub enum VisitError {
    /// No such merchant, or not one the recorder may write (the API does not say which).
    #[error("merchant {0:?} not found")]
    MerchantNotFound(String),
    #[error("{0}")]
    Invalid(FieldError),
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error("the visit was not answered (the writer stopped)")]
    Lost,
}

/// A recorded visit and where its merchant stands now.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub event: StoredEvent,
    pub merchant: Settled,
    pub merchant_name: Option<String>,
    /// The post repeated an earlier one's client id: nothing new was stored.
    pub replayed: bool,
}

type Reply = oneshot::Sender<Result<Recorded, VisitError>>;

struct Pending {
    who: Recorder,
    visit: NewVisit,
    reply: Reply,
}

/// Posts waiting for the writer, and where the writing runs.
pub struct VisitQueue {
    pending: std::sync::Mutex<Vec<Pending>>,
    /// The runtime the application was started on (the server's main runtime, whose threads
    /// are otherwise idle): writes run there rather than on an HTTP worker's event loop,
    /// where a batch's every step would wait behind the requests that loop is parsing.
    runtime: Option<tokio::runtime::Handle>,
}

impl Default for VisitQueue {
    fn default() -> Self {
        Self {
            pending: std::sync::Mutex::new(Vec::new()),
            runtime: tokio::runtime::Handle::try_current().ok(),
        }
    }
}

impl VisitQueue {
    fn push(&self, p: Pending) {
        self.pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(p);
    }

    fn take(&self) -> Vec<Pending> {
        std::mem::take(&mut *self.pending.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

/// What became of one post inside a batch.
enum Plan {
    New(usize),
    Replay(Box<StoredEvent>),
    Fail(VisitError),
}

impl App {
    /// [`App::record_visit`] on its own task on the application's runtime: it completes even
    /// if the caller goes away (so that a batch it leads is finished for the others).
    pub fn spawn_record_visit(
        self: std::sync::Arc<Self>,
        who: Recorder,
        visit: NewVisit,
    ) -> tokio::task::JoinHandle<Result<Recorded, VisitError>> {
        let runtime = self.visit_queue.runtime.clone();
        let task = async move { self.record_visit(who, visit).await };
        match runtime {
            Some(rt) => rt.spawn(task),
            None => tokio::spawn(task),
        }
    }

    /// Records one visit: checks the merchant is the recorder's, appends the event, recomputes
    /// the merchant's status from all its events in the same transaction, commits, updates the
    /// index. Answers after the commit. See [`App::spawn_record_visit`] when the caller may go
    /// away.
    pub async fn record_visit(
        &self,
        who: Recorder,
        visit: NewVisit,
    ) -> Result<Recorded, VisitError> {
        let known = self
            .index()
            .merchants
            .get(&visit.merchant_id)
            .is_some_and(|m| who.scope.contains(m.owner_org_id()));
        if !known {
            return Err(VisitError::MerchantNotFound(visit.merchant_id));
        }
        let (reply, mut answer) = oneshot::channel();
        self.visit_queue.push(Pending { who, visit, reply });
        // Either another writer answers this post while it waits (it then leaves the lock's
        // queue at once, instead of taking the lock only to find its work done), or it gets the
        // lock and writes whatever is queued, its own post or the ones that came after.
        tokio::select! {
            biased;
            done = &mut answer => return done.unwrap_or(Err(VisitError::Lost)),
            _w = self.writer.lock() => {
                let batch = self.visit_queue.take();
                if !batch.is_empty() {
                    self.write_visits(batch).await;
                }
            }
        }
        answer.await.unwrap_or(Err(VisitError::Lost))
    }

    async fn write_visits(&self, batch: Vec<Pending>) {
        let mut items = Vec::with_capacity(batch.len());
        let mut replies = Vec::with_capacity(batch.len());
        for p in batch {
            items.push((p.who, p.visit));
            replies.push(p.reply);
        }
        let started = std::time::Instant::now();
        let stored = self.store_visits(&items).await;
        tracing::debug!(
            posts = items.len(),
            ms = started.elapsed().as_secs_f64() * 1e3,
            "visits written"
        );
        match stored {
            Ok(results) => {
                for (r, reply) in results.into_iter().zip(replies) {
                    let _ = reply.send(r);
                }
            }
            Err(e) if items.len() == 1 => {
                if let Some(reply) = replies.pop() {
                    let _ = reply.send(Err(e.into()));
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, posts = items.len(), "a batch of visits failed; writing them one by one");
                for (item, reply) in items.into_iter().zip(replies) {
                    let r = match self.store_visits(std::slice::from_ref(&item)).await {
                        Ok(mut v) => v.pop().unwrap_or(Err(VisitError::Lost)),
                        Err(e) => Err(e.into()),
                    };
                    let _ = reply.send(r);
                }
            }
        }
    }

    /// Writes a batch of posts in one transaction; one answer per post, in order. Called with
    /// the writer lock held.
    async fn store_visits(
        &self,
        items: &[(Recorder, NewVisit)],
    ) -> Result<Vec<Result<Recorded, VisitError>>, StorageError> {
        let mut tx = self.store.begin_write().await?;
        lock_events(&mut tx).await?;
        let keys: Vec<(String, String)> = items
            .iter()
            .filter_map(|(w, v)| v.client_id.clone().map(|c| (w.username.clone(), c)))
            .collect();
        let mut earlier: HashMap<(String, String), Plan> = HashMap::new();
        for e in events_by_client(&mut tx, &keys).await? {
            if let Some(c) = e.client_id.clone() {
                earlier.insert((e.recorded_by.clone(), c), Plan::Replay(Box::new(e)));
            }
        }
        let ids: Vec<String> = items
            .iter()
            .map(|(_, v)| v.merchant_id.clone())
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        let rows = merchant_rows(&mut tx, &ids).await?;
        let mut next = next_event_id(&mut tx).await?;
        let mut plans = Vec::with_capacity(items.len());
        let mut new: Vec<NewEvent> = Vec::new();
        for (who, v) in items {
            let key = v.client_id.clone().map(|c| (who.username.clone(), c));
            if let Some(prev) = key.as_ref().and_then(|k| earlier.get(k)) {
                let (merchant, outcome) = match prev {
                    Plan::Replay(e) => (e.merchant_id.as_str(), e.outcome.as_str()),
                    Plan::New(i) => (
                        new[*i].merchant_id.as_str(),
                        match new[*i].step {
                            Step::Outcome(o, _) => o.code(),
                            Step::Imported(_) => "imported",
                        },
                    ),
                    Plan::Fail(_) => ("", ""),
                };
                plans.push(
                    if merchant == v.merchant_id && outcome == v.outcome.code() {
                        match prev {
                            Plan::Replay(e) => Plan::Replay(e.clone()),
                            Plan::New(i) => Plan::New(*i),
                            Plan::Fail(_) => Plan::Fail(VisitError::Lost),
                        }
                    } else {
                        Plan::Fail(VisitError::Invalid(FieldError::new(
                            "client_id",
                            format!(
                                "was already used for another visit ({outcome} at merchant \
                             {merchant}); each visit needs its own"
                            ),
                        )))
                    },
                );
                continue;
            }
            let Some(row) = rows
                .get(&v.merchant_id)
                .filter(|r| who.scope.contains(r.owner_org_id.as_deref()))
            else {
                plans.push(Plan::Fail(VisitError::MerchantNotFound(
                    v.merchant_id.clone(),
                )));
                continue;
            };
            new.push(NewEvent {
                id: next,
                merchant_id: v.merchant_id.clone(),
                step: Step::Outcome(v.outcome, v.reason),
                notes: v.notes.clone(),
                next_follow_up: v.next_follow_up,
                visited_at: v.visited_at,
                recorded_by: who.username.clone(),
                recorded_by_id: who.user_id.clone(),
                org_node_id: row.owner_org_id.clone(),
                owner_name: v.owner_name.clone(),
                owner_phone: v.owner_phone.clone(),
                client_id: v.client_id.clone(),
            });
            next += 1;
            if let Some(k) = key {
                earlier.insert(k, Plan::New(new.len() - 1));
            }
            plans.push(Plan::New(new.len() - 1));
        }
        let recorded_at = insert_events(&mut tx, &new).await?;
        let touched: Vec<String> = plans
            .iter()
            .filter_map(|p| match p {
                Plan::New(i) => Some(new[*i].merchant_id.clone()),
                Plan::Replay(e) => Some(e.merchant_id.clone()),
                Plan::Fail(_) => None,
            })
            .collect();
        let settled = settle(&mut tx, &touched, &rows, &new, false).await?;
        if !new.is_empty() {
            // Other processes reload these merchants (their status, follow-ups) from the feed.
            let ids: Vec<&str> = new.iter().map(|e| e.merchant_id.as_str()).collect();
            self.store
                .record_change(
                    &mut tx,
                    crate::storage::changes::ChangeKind::Merchants,
                    Some(&ids),
                )
                .await?;
        }
        tx.commit().await?;

        // The index follows the commit (the writer lock is still held).
        let mut names: HashMap<String, String> = HashMap::new();
        {
            let mut status_changed = false;
            let mut index = self.index_mut();
            let changed_ids: HashSet<&str> = new.iter().map(|e| e.merchant_id.as_str()).collect();
            for id in &changed_ids {
                let (Some(s), Some(m)) = (settled.get(*id), index.merchants.get(id)) else {
                    continue;
                };
                let mut m = m.to_merchant();
                let before = m.status;
                if s.apply_to(&mut m) {
                    status_changed |= before != m.status;
                    index.merchants.upsert(m);
                }
            }
            if status_changed {
                // Statuses feed the scoring's warm state (signed merchants' pull).
                self.changed();
            } else if !new.is_empty() {
                self.generation_bump();
            }
            for id in &touched {
                if let Some(m) = index.merchants.get(id) {
                    names.insert(id.clone(), m.name().to_string());
                }
            }
        }
        let display: HashMap<&str, Option<String>> = items
            .iter()
            .map(|(w, _)| (w.username.as_str(), w.display_name.clone()))
            .collect();
        Ok(plans
            .into_iter()
            .map(|p| {
                let (mut event, replayed) = match p {
                    Plan::Fail(e) => return Err(e),
                    Plan::New(i) => (new[i].to_stored(&recorded_at), false),
                    Plan::Replay(e) => (*e, true),
                };
                event.merchant_name = names.get(&event.merchant_id).cloned();
                event.recorded_by_name = display.get(event.recorded_by.as_str()).cloned().flatten();
                let merchant = settled
                    .get(&event.merchant_id)
                    .cloned()
                    .ok_or(VisitError::Lost)?;
                Ok(Recorded {
                    merchant_name: event.merchant_name.clone(),
                    event,
                    merchant,
                    replayed,
                })
            })
            .collect())
    }
}
