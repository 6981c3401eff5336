//! `from_collection(expr)`: a bounded source over any `IntoIterator`.
//!
//! The expression is evaluated once per process, before the workers start; worker `i` of
//! `n` emits the elements at positions `i, i + n, i + 2n, ...`, so the union over all
//! workers of all processes is the collection, each element exactly once.

use std::sync::Arc;

use super::{Reader, SourceSpec, Status};
use crate::error::Result;

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
}

/// One worker's elements of a [`Collection`].
pub struct CollectionReader<T> {
    items: Arc<Vec<T>>,
    next: usize,
    step: usize,
}

impl<T: Clone + 'static> SourceSpec for Collection<T> {
    type Reader = CollectionReader<T>;
    fn open(&self, index: usize, peers: usize) -> Result<CollectionReader<T>> {
        Ok(CollectionReader {
            items: Arc::clone(&self.items),
            next: index,
            step: peers,
        })
    }

    fn bounded(&self) -> bool {
        true
    }
}

impl<T: Clone + 'static> Reader for CollectionReader<T> {
    type Item = T;
    #[inline]
    fn read(&mut self, budget: usize, out: &mut dyn FnMut(T)) -> Result<Status> {
        for _ in 0..budget {
            match self.items.get(self.next) {
                Some(item) => out(item.clone()),
                None => return Ok(Status::Done),
            }
            self.next += self.step;
        }
        Ok(if self.next < self.items.len() {
            Status::More
        } else {
            Status::Done
        })
    }

    fn position(&self) -> Option<Vec<(u32, u64)>> {
        Some(vec![(0, self.next as u64)])
    }

    fn seek(&mut self, position: &[(u32, u64)]) -> Result<()> {
        if let Some(&(_, next)) = position.first() {
            self.next = next as usize;
        }
        Ok(())
    }
}
