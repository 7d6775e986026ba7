//! The one bounded queue between tasks and threads, and what it does when full.
//!
//! Every queue in the server is made by [`Registry::queue`], which bounds it by items and by
//! bytes (each item says what it weighs, [`Weigh`]) and registers its figures (capacity,
//! depth, drops) under a name, for `/api/v1/stats` and, later, `/metrics`. Several queues of one
//! kind (every tail's) share one name, and their figures add up.
//!
//! What a full queue does is the consumer's [`Policy`], stated where the queue is made:
//! - [`Policy::Wait`]: the sender waits for room ([`Sender::send`]); for sources that can make
//!   their peer wait (syslog over TCP).
//! - [`Policy::HandBack`]: a full queue hands the item back ([`Sender::offer`]) for the sender to
//!   hold a while or drop and count (UDP, which cannot make its peer wait).
//! - [`Policy::LoseNewest`]: the newest item is dropped and counted (live tails, which report
//!   the loss in-band).
//! - [`Policy::DisplaceOldest`]: the oldest items make room and are counted (drains, whose next
//!   delivery reports the loss, as Logplex's L10 does).
//!
//! One item is always admitted into an empty queue whatever it weighs, so a queue never stalls
//! on an item larger than its byte bound; its memory is then at most its bound plus one item.
//! A sender that builds an item from input it has not decoded yet can first reserve room for
//! it ([`Sender::reserve`]), so that nothing decoded waits outside the queue's bound.
//! The queue works from async tasks and from plain threads alike.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use tokio::sync::Notify;

/// What an item costs a queue in bytes.
pub trait Weigh {
    fn weight(&self) -> usize;
}

/// What a full queue does (see the module's documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    Wait,
    HandBack,
    LoseNewest,
    DisplaceOldest,
}

/// The figures of every queue, by name.
#[derive(Default)]
pub struct Registry {
    gauges: Mutex<Vec<Arc<Gauge>>>,
}

/// One named queue's figures (the sum over the queues that share the name).
#[derive(Debug)]
pub struct Gauge {
    name: String,
    policy: Policy,
    capacity: usize,
    capacity_bytes: usize,
    /// Queues made under this name and still open.
    queues: AtomicUsize,
    depth: AtomicUsize,
    depth_bytes: AtomicUsize,
    /// Items lost to a full queue (by `LoseNewest` or `DisplaceOldest`, or handed back and
    /// then dropped by the sender).
    dropped: AtomicU64,
}

/// A queue's figures at one moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueFigures {
    pub name: String,
    pub policy: Policy,
    /// Items and bytes each queue of this name may hold.
    pub capacity: usize,
    pub capacity_bytes: usize,
    pub queues: usize,
    pub depth: usize,
    pub depth_bytes: usize,
    pub dropped: u64,
}

impl Policy {
    pub fn as_str(self) -> &'static str {
        match self {
            Policy::Wait => "wait",
            Policy::HandBack => "hand_back",
            Policy::LoseNewest => "lose_newest",
            Policy::DisplaceOldest => "displace_oldest",
        }
    }
}

impl Registry {
    /// A new queue of at most `capacity` items and `capacity_bytes` bytes, registered under
    /// `name` (with the queues of that name, if any).
    pub fn queue<T: Weigh>(
        &self,
        name: &str,
        capacity: usize,
        capacity_bytes: usize,
        policy: Policy,
    ) -> (Sender<T>, Receiver<T>) {
        let gauge = {
            let mut gauges = self.gauges.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            match gauges.iter().find(|g| g.name == name) {
                Some(gauge) => Arc::clone(gauge),
                None => {
                    let gauge = Arc::new(Gauge {
                        name: name.to_owned(),
                        policy,
                        capacity,
                        capacity_bytes,
                        queues: AtomicUsize::new(0),
                        depth: AtomicUsize::new(0),
                        depth_bytes: AtomicUsize::new(0),
                        dropped: AtomicU64::new(0),
                    });
                    gauges.push(Arc::clone(&gauge));
                    gauge
                }
            }
        };
        gauge.queues.fetch_add(1, Ordering::Relaxed);
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                items: VecDeque::new(),
                bytes: 0,
                reserved: 0,
                reserved_bytes: 0,
                senders: 1,
                receiver: true,
            }),
            readable: Notify::new(),
            writable: Notify::new(),
            changed: Condvar::new(),
            capacity: capacity.max(1),
            capacity_bytes,
            policy,
            gauge,
        });
        (Sender { shared: Arc::clone(&shared) }, Receiver { shared })
    }

    /// Every queue's figures, in the order they were first made.
    pub fn figures(&self) -> Vec<QueueFigures> {
        let gauges = self.gauges.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        gauges
            .iter()
            .map(|g| QueueFigures {
                name: g.name.clone(),
                policy: g.policy,
                capacity: g.capacity,
                capacity_bytes: g.capacity_bytes,
                queues: g.queues.load(Ordering::Relaxed),
                depth: g.depth.load(Ordering::Relaxed),
                depth_bytes: g.depth_bytes.load(Ordering::Relaxed),
                dropped: g.dropped.load(Ordering::Relaxed),
            })
            .collect()
    }
}

struct Shared<T> {
    state: Mutex<State<T>>,
    /// Async receivers wait here for an item (or the last sender to go).
    readable: Notify,
    /// Async senders wait here for room (or the receiver to go).
    writable: Notify,
    /// Threads wait here for either.
    changed: Condvar,
    capacity: usize,
    capacity_bytes: usize,
    policy: Policy,
    gauge: Arc<Gauge>,
}

struct State<T> {
    items: VecDeque<(T, usize)>,
    bytes: usize,
    /// Room reserved for items not yet sent ([`Sender::reserve`]).
    reserved: usize,
    reserved_bytes: usize,
    senders: usize,
    receiver: bool,
}

impl<T> State<T> {
    fn has_room(&self, weight: usize, capacity: usize, capacity_bytes: usize) -> bool {
        let (items, bytes) = (self.items.len() + self.reserved, self.bytes + self.reserved_bytes);
        items == 0 || (items < capacity && bytes.saturating_add(weight) <= capacity_bytes)
    }
}

impl<T> Shared<T> {
    fn lock(&self) -> MutexGuard<'_, State<T>> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn push(&self, state: &mut State<T>, item: T, weight: usize) {
        state.items.push_back((item, weight));
        state.bytes += weight;
        self.gauge.depth.fetch_add(1, Ordering::Relaxed);
        self.gauge.depth_bytes.fetch_add(weight, Ordering::Relaxed);
        self.readable.notify_one();
        self.changed.notify_all();
    }

    fn pop(&self, state: &mut State<T>) -> Option<T> {
        let (item, weight) = state.items.pop_front()?;
        state.bytes -= weight;
        self.gauge.depth.fetch_sub(1, Ordering::Relaxed);
        self.gauge.depth_bytes.fetch_sub(weight, Ordering::Relaxed);
        self.writable.notify_waiters();
        self.changed.notify_all();
        Some(item)
    }
}

/// Why an item was not queued.
#[derive(Debug, PartialEq, Eq)]
pub enum Refused<T> {
    /// The queue is full (policy `HandBack`): the item comes back.
    Full(T),
    /// The receiver is gone: nothing will read the item.
    Closed(T),
}

/// Putting items in. Cloning makes another sender; the queue closes when the last one goes.
pub struct Sender<T> {
    shared: Arc<Shared<T>>,
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        self.shared.lock().senders += 1;
        Sender { shared: Arc::clone(&self.shared) }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        let mut state = self.shared.lock();
        state.senders -= 1;
        if state.senders == 0 {
            drop(state);
            self.shared.readable.notify_waiters();
            self.shared.readable.notify_one();
            self.shared.changed.notify_all();
        }
    }
}

impl<T: Weigh> Sender<T> {
    /// Queues `item`, doing what the queue's policy says when it is full: waiting (`Wait`),
    /// handing it back (`HandBack`), dropping it (`LoseNewest`) or dropping the oldest
    /// (`DisplaceOldest`). Returns the items dropped to make this happen (0 or more), or the
    /// item when it was refused. Never waits unless the policy is `Wait`; see [`Sender::send`].
    pub fn offer(&self, item: T) -> Result<u64, Refused<T>> {
        let weight = item.weight();
        let shared = &self.shared;
        let mut state = shared.lock();
        if !state.receiver {
            return Err(Refused::Closed(item));
        }
        if state.has_room(weight, shared.capacity, shared.capacity_bytes) {
            shared.push(&mut state, item, weight);
            return Ok(0);
        }
        match shared.policy {
            Policy::Wait | Policy::HandBack => Err(Refused::Full(item)),
            Policy::LoseNewest => {
                shared.gauge.dropped.fetch_add(1, Ordering::Relaxed);
                drop(item);
                Ok(1)
            }
            Policy::DisplaceOldest => {
                let mut displaced = 0;
                while !state.has_room(weight, shared.capacity, shared.capacity_bytes) {
                    if shared.pop(&mut state).is_none() {
                        break;
                    }
                    displaced += 1;
                }
                shared.gauge.dropped.fetch_add(displaced, Ordering::Relaxed);
                shared.push(&mut state, item, weight);
                Ok(displaced)
            }
        }
    }

    /// Queues `item`, waiting for room; the item comes back if the receiver is gone.
    pub async fn send(&self, mut item: T) -> Result<(), T> {
        loop {
            let room = self.shared.writable.notified();
            tokio::pin!(room);
            // Registered before trying, so a pop between the try and the wait is not missed.
            room.as_mut().enable();
            match self.offer(item) {
                Ok(_) => return Ok(()),
                Err(Refused::Closed(back)) => return Err(back),
                Err(Refused::Full(back)) => item = back,
            }
            room.await;
        }
    }

    /// Waits for room for an item of about `weight` bytes and holds it until the item is sent
    /// through the returned [`Reservation`] (or the reservation is dropped); `None` when the
    /// receiver is gone.
    pub async fn reserve(&self, weight: usize) -> Option<Reservation<T>> {
        let shared = &self.shared;
        loop {
            let room = shared.writable.notified();
            tokio::pin!(room);
            room.as_mut().enable();
            {
                let mut state = shared.lock();
                if !state.receiver {
                    return None;
                }
                if state.has_room(weight, shared.capacity, shared.capacity_bytes) {
                    state.reserved += 1;
                    state.reserved_bytes += weight;
                    shared.gauge.depth_bytes.fetch_add(weight, Ordering::Relaxed);
                    return Some(Reservation { shared: Arc::clone(shared), weight: Some(weight) });
                }
            }
            room.await;
        }
    }

    /// Drops the oldest items while `stale` says so (a tail's batches that the ring no longer
    /// holds, say), counts them as dropped, and returns how many went.
    pub fn discard_front_while(&self, mut stale: impl FnMut(&T) -> bool) -> u64 {
        let shared = &self.shared;
        let mut state = shared.lock();
        let mut discarded = 0;
        while state.items.front().is_some_and(|(item, _)| stale(item)) {
            shared.pop(&mut state);
            discarded += 1;
        }
        shared.gauge.dropped.fetch_add(discarded, Ordering::Relaxed);
        discarded
    }

    /// Counts `n` items the sender dropped because the queue was full.
    pub fn count_dropped(&self, n: u64) {
        self.shared.gauge.dropped.fetch_add(n, Ordering::Relaxed);
    }

    /// Whether the receiver is gone.
    pub fn is_closed(&self) -> bool {
        !self.shared.lock().receiver
    }
}

/// Room held in a queue for one item ([`Sender::reserve`]).
pub struct Reservation<T> {
    shared: Arc<Shared<T>>,
    /// The bytes held, until the item is sent.
    weight: Option<usize>,
}

impl<T: Weigh> Reservation<T> {
    /// Queues `item` in the room held for it (its real weight replaces the estimate); the
    /// item comes back if the receiver is gone.
    pub fn send(mut self, item: T) -> Result<(), T> {
        let shared = Arc::clone(&self.shared);
        let mut state = shared.lock();
        self.release(&mut state);
        if !state.receiver {
            return Err(item);
        }
        let weight = item.weight();
        shared.push(&mut state, item, weight);
        Ok(())
    }
}

impl<T> Reservation<T> {
    fn release(&mut self, state: &mut State<T>) {
        if let Some(weight) = self.weight.take() {
            state.reserved -= 1;
            state.reserved_bytes -= weight;
            self.shared.gauge.depth_bytes.fetch_sub(weight, Ordering::Relaxed);
            self.shared.writable.notify_waiters();
            self.shared.changed.notify_all();
        }
    }
}

impl<T> Drop for Reservation<T> {
    fn drop(&mut self) {
        if self.weight.is_some() {
            let shared = Arc::clone(&self.shared);
            let mut state = shared.lock();
            self.release(&mut state);
        }
    }
}

/// Taking items out. Dropping it closes the queue for the senders and empties it.
pub struct Receiver<T> {
    shared: Arc<Shared<T>>,
}

impl<T> Receiver<T> {
    /// The next item, waiting for one; `None` once every sender is gone and the queue is empty.
    pub async fn recv(&mut self) -> Option<T> {
        loop {
            let ready = self.shared.readable.notified();
            tokio::pin!(ready);
            ready.as_mut().enable();
            {
                let mut state = self.shared.lock();
                if let Some(item) = self.shared.pop(&mut state) {
                    return Some(item);
                }
                if state.senders == 0 {
                    return None;
                }
            }
            ready.await;
        }
    }

    /// The next item, blocking the thread until there is one; `None` once every sender is
    /// gone and the queue is empty.
    pub fn blocking_recv(&mut self) -> Option<T> {
        let mut state = self.shared.lock();
        loop {
            if let Some(item) = self.shared.pop(&mut state) {
                return Some(item);
            }
            if state.senders == 0 {
                return None;
            }
            state = self.shared.changed.wait(state).unwrap_or_else(|poisoned| poisoned.into_inner());
        }
    }

    /// An item already waiting, if any.
    pub fn try_recv(&mut self) -> Option<T> {
        let mut state = self.shared.lock();
        self.shared.pop(&mut state)
    }

    /// Items waiting now.
    pub fn len(&self) -> usize {
        self.shared.lock().items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        let mut state = self.shared.lock();
        state.receiver = false;
        while self.shared.pop(&mut state).is_some() {}
        drop(state);
        self.shared.gauge.queues.fetch_sub(1, Ordering::Relaxed);
        self.shared.writable.notify_waiters();
        self.shared.changed.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, Eq)]
    struct Item(usize);

    impl Weigh for Item {
        fn weight(&self) -> usize {
            self.0
        }
    }

    fn figures(registry: &Registry) -> QueueFigures {
        registry.figures().remove(0)
    }

    #[test]
    fn bounded_by_items_and_bytes_and_always_admitting_one() {
        let registry = Registry::default();
        let (tx, mut rx) = registry.queue::<Item>("q", 3, 100, Policy::HandBack);
        assert_eq!(tx.offer(Item(500)), Ok(0), "an empty queue takes one item of any weight");
        assert_eq!(tx.offer(Item(1)), Err(Refused::Full(Item(1))));
        assert_eq!(rx.try_recv(), Some(Item(500)));
        for _ in 0..3 {
            assert_eq!(tx.offer(Item(10)), Ok(0));
        }
        assert_eq!(tx.offer(Item(10)), Err(Refused::Full(Item(10))), "three items at most");
        let f = figures(&registry);
        assert_eq!((f.depth, f.depth_bytes, f.capacity, f.capacity_bytes), (3, 30, 3, 100));
    }

    #[test]
    fn lose_newest_and_displace_oldest_count_what_they_drop() {
        let registry = Registry::default();
        let (tx, mut rx) = registry.queue::<Item>("tails", 2, 1000, Policy::LoseNewest);
        tx.offer(Item(1)).unwrap();
        tx.offer(Item(2)).unwrap();
        assert_eq!(tx.offer(Item(3)), Ok(1));
        assert_eq!((rx.try_recv(), rx.try_recv(), rx.try_recv()), (Some(Item(1)), Some(Item(2)), None));
        assert_eq!(figures(&registry).dropped, 1);

        let (tx, mut rx) = registry.queue::<Item>("drains", 10, 25, Policy::DisplaceOldest);
        for weight in [10, 10] {
            tx.offer(Item(weight)).unwrap();
        }
        assert_eq!(tx.offer(Item(12)), Ok(1), "the oldest made room");
        assert_eq!((rx.try_recv(), rx.try_recv()), (Some(Item(10)), Some(Item(12))));
        assert_eq!(registry.figures()[1].dropped, 1);
    }

    #[test]
    fn queues_of_one_name_add_up_and_a_dropped_receiver_empties_its_queue() {
        let registry = Registry::default();
        let (a, ra) = registry.queue::<Item>("tails", 8, 1000, Policy::LoseNewest);
        let (b, _rb) = registry.queue::<Item>("tails", 8, 1000, Policy::LoseNewest);
        a.offer(Item(5)).unwrap();
        b.offer(Item(7)).unwrap();
        let f = figures(&registry);
        assert_eq!((f.queues, f.depth, f.depth_bytes), (2, 2, 12));
        drop(ra);
        let f = figures(&registry);
        assert_eq!((f.queues, f.depth, f.depth_bytes), (1, 1, 7));
        assert_eq!(a.offer(Item(1)), Err(Refused::Closed(Item(1))));
    }

    #[test]
    fn stale_items_at_the_front_are_discarded_and_counted() {
        let registry = Registry::default();
        let (tx, mut rx) = registry.queue::<Item>("tails", 8, 1000, Policy::LoseNewest);
        for weight in [1, 2, 30, 4] {
            tx.offer(Item(weight)).unwrap();
        }
        assert_eq!(tx.discard_front_while(|item| item.0 < 10), 2, "only from the front, up to the first kept");
        assert_eq!((rx.try_recv(), rx.try_recv(), rx.try_recv()), (Some(Item(30)), Some(Item(4)), None));
        let f = figures(&registry);
        assert_eq!((f.depth, f.depth_bytes, f.dropped), (0, 0, 2));
    }

    #[tokio::test]
    async fn a_waiting_sender_goes_on_once_there_is_room_and_the_receiver_ends_with_the_senders() {
        let registry = Registry::default();
        let (tx, mut rx) = registry.queue::<Item>("q", 1, 100, Policy::Wait);
        tx.send(Item(1)).await.unwrap();
        let waiting = tokio::spawn(async move { tx.send(Item(2)).await });
        assert_eq!(rx.recv().await, Some(Item(1)));
        waiting.await.unwrap().unwrap();
        assert_eq!(rx.recv().await, Some(Item(2)));
        assert_eq!(rx.recv().await, None, "the sender is gone");
    }

    #[tokio::test]
    async fn a_reservation_holds_room_until_its_item_is_sent_or_it_is_dropped() {
        let registry = Registry::default();
        let (tx, mut rx) = registry.queue::<Item>("q", 2, 100, Policy::Wait);
        let held = tx.reserve(60).await.expect("room");
        assert_eq!(figures(&registry).depth_bytes, 60);
        assert_eq!(tx.offer(Item(50)), Err(Refused::Full(Item(50))), "the reserved bytes count");
        let second = tx.reserve(40).await.expect("room");
        drop(second);
        held.send(Item(70)).unwrap();
        let f = figures(&registry);
        assert_eq!((f.depth, f.depth_bytes), (1, 70), "the real weight replaces the estimate");
        assert_eq!(rx.recv().await, Some(Item(70)));
        assert_eq!(figures(&registry).depth_bytes, 0);
    }

    #[test]
    fn a_thread_receives_what_a_task_sends() {
        let registry = Registry::default();
        let (tx, mut rx) = registry.queue::<Item>("q", 4, 100, Policy::Wait);
        let reader = std::thread::spawn(move || {
            let mut got = Vec::new();
            while let Some(item) = rx.blocking_recv() {
                got.push(item.0);
            }
            got
        });
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        runtime.block_on(async move {
            for i in 0..20 {
                tx.send(Item(i)).await.unwrap();
            }
        });
        assert_eq!(reader.join().unwrap(), (0..20).collect::<Vec<_>>());
    }
}
