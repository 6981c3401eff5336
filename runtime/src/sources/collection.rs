//! `from_collection(expr)`: a bounded source over any `IntoIterator`.
//!
//! The expression is evaluated once per process, before the workers start; worker `i` of
//! `n` emits the elements at positions `i, i + n, i + 2n, ...`, so the union over all
//! workers of all processes is the collection, each element exactly once.

use std::sync::Arc;

use timely::dataflow::operators::generic::operator::source;
use timely::dataflow::{Scope, StreamVec};

use crate::context::JobContext;

/// How many elements a source emits before yielding to other operators.
const BATCH: usize = 4096;

/// A bounded source over an in-memory collection.
pub struct Collection<T> {
    items: Arc<Vec<T>>,
}

impl<T: Clone + 'static> Collection<T> {
    /// Gathers the elements of `items`.
    pub fn new(items: impl IntoIterator<Item = T>) -> Self {
        Collection {
            items: Arc::new(items.into_iter().collect()),
        }
    }

    /// This worker's share of the collection, as a stream at time 0.
    pub fn build<'scope>(
        &self,
        scope: Scope<'scope, u64>,
        context: &JobContext,
    ) -> StreamVec<'scope, u64, T> {
        let items = Arc::clone(&self.items);
        let context = context.clone();
        let (index, peers) = (scope.index(), scope.peers());
        source(scope, "from_collection", move |capability, info| {
            let activator = scope.activator_for(info.address);
            let mut capability = Some(capability);
            let mut next = index;
            move |output| {
                let Some(cap) = capability.as_ref() else {
                    return;
                };
                let mut session = output.session(cap);
                let mut emitted = 0;
                while next < items.len() && emitted < BATCH {
                    session.give(items[next].clone());
                    next += peers;
                    emitted += 1;
                }
                drop(session);
                if next >= items.len() || context.is_cancelled() {
                    capability = None;
                } else {
                    activator.activate();
                }
            }
        })
    }
}
