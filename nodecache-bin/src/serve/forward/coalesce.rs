//! Coalescing: identical questions in flight share one upstream exchange. The first asker
//! (the leader) registers the question and runs the exchange; later askers (followers) wait
//! on the same result, and lead anew if the leader goes away. Each shard lock is held only
//! to look up or insert, never across an await.
//!
//! The channel that carries the result to followers is made by the first follower: most
//! questions never get one, and a channel made, published to and dropped per miss was
//! ~1,000 instructions of a miss's ~25,000 (callgrind).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::watch;

use super::{ForwardError, Priority, Question, UpstreamResponse};

/// Shards of the in-flight map.
const SHARDS: usize = 16;
const _: () = assert!(SHARDS.is_power_of_two() && SHARDS > 1);

/// The result of one exchange, shared by everyone who asked.
pub(super) type Outcome = Result<Arc<UpstreamResponse>, ForwardError>;

/// Where the result of an exchange goes: to the followers, once one has joined.
pub(super) type Followers = watch::Sender<Option<Outcome>>;

/// One exchange in flight.
#[derive(Debug)]
struct Entry {
    /// Made by the first follower.
    followers: Option<Followers>,
    /// See [`Lead::client_waiting`].
    client_waiting: Option<Arc<AtomicBool>>,
}

/// One shard: in-flight questions, hashed like the shard choice.
type QuestionMap = HashMap<Question, Entry, foldhash::quality::RandomState>;

/// The questions in flight.
#[derive(Debug, Default)]
pub(super) struct InFlight {
    /// By the question's key, which is seeded per process (clients choose the names), so
    /// nobody can aim at one shard; within a shard the map hashes the key under its own
    /// seed (foldhash's quality variant: resistant enough for a map bounded by what is in
    /// flight, at a fraction of SipHash's cost per miss).
    shards: [Mutex<QuestionMap>; SHARDS],
}

/// What the caller of [`InFlight::join`] is.
#[derive(Debug)]
pub(super) enum Joined {
    /// First to ask: run the exchange, then [`InFlight::finish`] and publish to the
    /// followers it returns.
    Leader(Lead),
    /// The question is in flight: wait for its outcome.
    Follower(watch::Receiver<Option<Outcome>>),
}

/// The leader's side of an exchange.
#[derive(Debug)]
pub(super) struct Lead {
    /// For a prefetch: true once a client waits for this exchange too, whose packets then
    /// spend the budget's client reserve. `None` when a client led it: that never changes,
    /// so there is no flag to share (dhat: the flag was one allocation per client miss).
    pub(super) client_waiting: Option<Arc<AtomicBool>>,
}

impl InFlight {
    /// Joins the exchange for `question` in flight, or registers a new one. The caller that
    /// gets [`Joined::Leader`] must call [`finish`](Self::finish) when the exchange ends.
    pub(super) fn join(&self, question: &Question, priority: Priority) -> Joined {
        let is_client = priority == Priority::Client;
        let mut shard = self.shard(question);
        if let Some(entry) = shard.get_mut(question) {
            if is_client && let Some(flag) = &entry.client_waiting {
                flag.store(true, Ordering::Relaxed);
            }
            let followers = entry
                .followers
                .get_or_insert_with(|| watch::channel(None).0);
            return Joined::Follower(followers.subscribe());
        }
        let client_waiting = (!is_client).then(|| Arc::new(AtomicBool::new(false)));
        shard.insert(
            question.clone(),
            Entry {
                followers: None,
                client_waiting: client_waiting.clone(),
            },
        );
        Joined::Leader(Lead { client_waiting })
    }

    /// The exchange for `question` ended: later askers start a new one. Returns where the
    /// followers wait, if any joined: the leader publishes there (a follower already holding
    /// a receiver sees the value; dropping the sender unpublished tells them to retry).
    pub(super) fn finish(&self, question: &Question) -> Option<Followers> {
        self.shard(question)
            .remove(question)
            .and_then(|entry| entry.followers)
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
        // The key is seeded already (see `Question::key`): its top bits pick the shard, the
        // map hashes it again under its own seed for the buckets.
        let index = usize::try_from(question.key() >> (64 - SHARDS.trailing_zeros())).unwrap_or(0);
        // In range: the key's top log2(SHARDS) bits.
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
