//! Coalescing: identical questions in flight share one upstream exchange. The first asker
//! (the leader) registers the question and runs the exchange; later askers (followers) wait
//! on the same result, and lead anew if the leader goes away. Each shard lock is held only
//! to look up or insert, never across an await.

use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::watch;

use super::{ForwardError, Priority, Question, UpstreamResponse};

/// Shards of the in-flight map.
const SHARDS: usize = 16;

/// The result of one exchange, shared by everyone who asked.
pub(super) type Outcome = Result<Arc<UpstreamResponse>, ForwardError>;

/// One exchange in flight.
#[derive(Debug)]
struct Entry {
    outcome: watch::Receiver<Option<Outcome>>,
    client_waiting: Arc<AtomicBool>,
}

/// One shard: in-flight questions, hashed like the shard choice.
type QuestionMap = HashMap<Question, Entry, foldhash::quality::RandomState>;

/// The questions in flight.
#[derive(Debug, Default)]
pub(super) struct InFlight {
    /// Picks the shard. Clients choose the names, so the hash is seeded per process
    /// (foldhash's quality variant: resistant enough for a map bounded by what is in
    /// flight, at a fraction of SipHash's cost per miss).
    hasher: foldhash::quality::RandomState,
    shards: [Mutex<QuestionMap>; SHARDS],
}

/// What the caller of [`InFlight::join`] is.
#[derive(Debug)]
pub(super) enum Joined {
    /// First to ask: run the exchange, publish through `Lead::publish`.
    Leader(Lead),
    /// The question is in flight: wait for its outcome.
    Follower(watch::Receiver<Option<Outcome>>),
}

/// The leader's side of an exchange.
#[derive(Debug)]
pub(super) struct Lead {
    /// Where the outcome goes.
    pub(super) publish: watch::Sender<Option<Outcome>>,
    /// True once any client (not only prefetches) waits for this exchange: its packets then
    /// spend the budget's client reserve.
    pub(super) client_waiting: Arc<AtomicBool>,
}

impl InFlight {
    /// Joins the exchange for `question` in flight, or registers a new one. The caller that
    /// gets [`Joined::Leader`] must call [`finish`](Self::finish) when the exchange ends.
    pub(super) fn join(&self, question: &Question, priority: Priority) -> Joined {
        let is_client = priority == Priority::Client;
        let mut shard = self.shard(question);
        if let Some(entry) = shard.get(question) {
            if is_client {
                entry.client_waiting.store(true, Ordering::Relaxed);
            }
            return Joined::Follower(entry.outcome.clone());
        }
        let (publish, outcome) = watch::channel(None);
        let client_waiting = Arc::new(AtomicBool::new(is_client));
        shard.insert(
            question.clone(),
            Entry {
                outcome,
                client_waiting: Arc::clone(&client_waiting),
            },
        );
        Joined::Leader(Lead {
            publish,
            client_waiting,
        })
    }

    /// The exchange for `question` ended: later askers start a new one. Followers already
    /// holding a receiver still see the outcome (a watch channel keeps its last value).
    pub(super) fn finish(&self, question: &Question) {
        self.shard(question).remove(question);
    }

    /// Questions in flight now (for tests).
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().unwrap_or_else(PoisonError::into_inner).len())
            .sum()
    }

    fn shard(&self, question: &Question) -> std::sync::MutexGuard<'_, QuestionMap> {
        let index = usize::try_from(self.hasher.hash_one(question) % SHARDS as u64).unwrap_or(0);
        // In range: the modulus is the array length.
        self.shards[index]
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// Waits for the outcome of an exchange; `None` when its leader went away without
/// publishing (its future was dropped): the caller joins again.
pub(super) async fn wait(mut outcome: watch::Receiver<Option<Outcome>>) -> Option<Outcome> {
    match outcome.wait_for(Option::is_some).await {
        Ok(value) => value.clone(),
        Err(_) => None,
    }
}
