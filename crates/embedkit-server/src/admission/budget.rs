//! A budget of some resource (requests, tokens, pixels, bytes) shared by every request, and
//! the reservations taken from it. Nothing waits for a budget: what does not fit now is
//! refused at once, and the client retries later.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Why a reservation was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shortfall {
    /// Other requests hold too much of the budget now; it fits once they are answered.
    Busy,
    /// More than the whole budget: it never fits.
    NeverFits,
}

/// A limit and how much of it admitted requests hold.
#[derive(Debug)]
pub struct Budget {
    limit: u64,
    used: AtomicU64,
}

impl Budget {
    /// A budget of `limit` units, none held.
    pub fn new(limit: u64) -> Self {
        Self {
            limit,
            used: AtomicU64::new(0),
        }
    }

    /// The limit.
    pub fn limit(&self) -> u64 {
        self.limit
    }

    /// Units held now.
    pub fn used(&self) -> u64 {
        self.used.load(Ordering::Relaxed)
    }

    fn take(&self, n: u64) -> Result<(), Shortfall> {
        if n > self.limit {
            return Err(Shortfall::NeverFits);
        }
        self.used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                used.checked_add(n).filter(|&total| total <= self.limit)
            })
            .map(drop)
            .map_err(|_| Shortfall::Busy)
    }

    fn give(&self, n: u64) {
        self.used.fetch_sub(n, Ordering::AcqRel);
    }
}

/// Units held from a budget, given back when dropped.
#[derive(Debug)]
pub struct Reservation {
    budget: Arc<Budget>,
    amount: u64,
}

impl Reservation {
    /// Takes `n` units of `budget`.
    pub fn take(budget: &Arc<Budget>, n: u64) -> Result<Self, Shortfall> {
        budget.take(n)?;
        Ok(Self {
            budget: budget.clone(),
            amount: n,
        })
    }

    /// Units held.
    pub fn amount(&self) -> u64 {
        self.amount
    }

    /// Takes `n` more units.
    pub fn grow(&mut self, n: u64) -> Result<(), Shortfall> {
        if self.amount.saturating_add(n) > self.budget.limit {
            return Err(Shortfall::NeverFits);
        }
        self.budget.take(n)?;
        self.amount += n;
        Ok(())
    }

    /// Gives back all but `n` units (nothing when `n` is more than is held).
    pub fn shrink_to(&mut self, n: u64) {
        if n < self.amount {
            self.budget.give(self.amount - n);
            self.amount = n;
        }
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        self.budget.give(self.amount);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reservations_fit_the_limit_and_come_back_when_dropped() {
        let b = Arc::new(Budget::new(10));
        let mut r = Reservation::take(&b, 6).unwrap();
        assert_eq!(Reservation::take(&b, 5).unwrap_err(), Shortfall::Busy);
        assert_eq!(Reservation::take(&b, 11).unwrap_err(), Shortfall::NeverFits);
        let s = Reservation::take(&b, 4).unwrap();
        assert_eq!(b.used(), 10);
        assert_eq!(r.grow(1).unwrap_err(), Shortfall::Busy);
        assert_eq!(r.grow(5).unwrap_err(), Shortfall::NeverFits);
        drop(s);
        r.grow(3).unwrap();
        assert_eq!((r.amount(), b.used()), (9, 9));
        r.shrink_to(2);
        assert_eq!((r.amount(), b.used()), (2, 2));
        r.shrink_to(5);
        assert_eq!(r.amount(), 2);
        drop(r);
        assert_eq!(b.used(), 0);
    }

    #[test]
    fn concurrent_takers_never_exceed_the_limit() {
        let b = Arc::new(Budget::new(100));
        let held: Vec<Vec<Reservation>> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..8)
                .map(|_| {
                    s.spawn(|| {
                        (0..50)
                            .filter_map(|_| Reservation::take(&b, 3).ok())
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let n: usize = held.iter().map(Vec::len).sum();
        // 33 reservations of 3 fit in 100, and every one that fits is taken.
        assert_eq!((n, b.used()), (33, 99));
        drop(held);
        assert_eq!(b.used(), 0);
    }
}
