//! The threads the kernels split their work over: the calling thread plus helpers that stay
//! awake between kernels.
//!
//! Why not rayon here: a forward pass of one short query is ~50 parallel kernels of 20 to
//! 300 µs each. With rayon each one was injected into the pool from outside it, the calling
//! thread slept on a latch, and idle workers had to be woken with a futex: on a 2-vCPU VM a
//! wake-up costs tens of µs, and the median GEMM call took 1.5× its best time (see
//! `examples/gemm_bench.rs`). Here the caller publishes its job and works on it; helpers that
//! finished a job recently are still watching for the next one and join it within a few
//! hundred nanoseconds. Helpers idle for [`SPIN`] go to sleep, so an idle process costs
//! nothing; a job wakes them and they join it late (long jobs) or not at all (short ones).
//!
//! One job runs at a time. A thread that finds the team busy (two requests at once, or a
//! kernel called from inside a job) runs its job alone, so nothing ever waits on the team.
//! The team has as many threads as rayon's pool (`--threads`), counted at each job.

use std::any::Any;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, AtomicUsize, Ordering::*};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::{self, Thread};
use std::time::{Duration, Instant};

/// How long an idle helper keeps watching for work before it sleeps.
const SPIN: Duration = Duration::from_millis(2);
/// Of which the first part is a pure spin; after it the helper yields its core between looks,
/// so that other threads of the process (tokenization) can run.
const PURE_SPIN: Duration = Duration::from_micros(100);

/// One job: `f(i)` for every `i < tasks`, handed out one index at a time.
struct Job<'f> {
    f: &'f (dyn Fn(usize) + Sync),
    tasks: usize,
    next: AtomicUsize,
    done: AtomicUsize,
    /// Helpers that may still join (the job's thread count minus the caller).
    seats: AtomicUsize,
    panic: Mutex<Option<Box<dyn Any + Send>>>,
}

impl Job<'_> {
    /// Runs tasks until none are left. A panicking task is counted as done and its payload
    /// kept for the caller, so the caller never waits forever and always outlives the job.
    fn work(&self) {
        loop {
            let i = self.next.fetch_add(1, Relaxed);
            if i >= self.tasks {
                return;
            }
            if let Err(payload) = panic::catch_unwind(AssertUnwindSafe(|| (self.f)(i))) {
                let mut slot = self.panic.lock().unwrap_or_else(|e| e.into_inner());
                slot.get_or_insert(payload);
            }
            self.done.fetch_add(1, Release);
        }
    }

    /// Takes one of the job's helper seats, if any is left.
    fn take_seat(&self) -> bool {
        self.seats
            .fetch_update(AcqRel, Acquire, |n| n.checked_sub(1))
            .is_ok()
    }
}

/// A helper thread, as the team sees it.
struct Helper {
    asleep: AtomicBool,
    thread: Thread,
}

struct Team {
    /// Held by the thread whose job the team runs.
    busy: Mutex<()>,
    /// The job in progress (type-erased `Job`), or null.
    current: AtomicPtr<()>,
    /// Counts published jobs, so a helper can tell a new job from one it has finished even
    /// when both sit at the same address.
    epoch: AtomicU64,
    /// Helpers looking at `current` right now: the caller returns only when none is.
    joined: AtomicUsize,
    helpers: Mutex<Vec<Arc<Helper>>>,
}

fn team() -> &'static Team {
    static TEAM: OnceLock<Team> = OnceLock::new();
    TEAM.get_or_init(|| Team {
        busy: Mutex::new(()),
        current: AtomicPtr::new(std::ptr::null_mut()),
        epoch: AtomicU64::new(0),
        joined: AtomicUsize::new(0),
        helpers: Mutex::new(Vec::new()),
    })
}

/// Runs `f(i)` for every `i < tasks` on the team (the calling thread included) and returns
/// when all have finished. A panic in a task is resumed here once every task has ended.
pub(crate) fn run(tasks: usize, f: &(dyn Fn(usize) + Sync)) {
    let threads = rayon::current_num_threads().min(tasks);
    if threads <= 1 {
        return run_serially(tasks, f);
    }
    let team = team();
    let busy = match team.busy.try_lock() {
        Ok(guard) => guard,
        // A task panicked while this lock was held; the team itself is in order.
        Err(std::sync::TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
        Err(std::sync::TryLockError::WouldBlock) => return run_serially(tasks, f),
    };
    let job = Job {
        f,
        tasks,
        next: AtomicUsize::new(0),
        done: AtomicUsize::new(0),
        seats: AtomicUsize::new(threads - 1),
        panic: Mutex::new(None),
    };
    team.epoch.fetch_add(1, SeqCst);
    team.current
        .store(std::ptr::from_ref(&job).cast_mut().cast(), SeqCst);
    for helper in helpers(team, threads - 1) {
        if helper.asleep.swap(false, SeqCst) {
            helper.thread.unpark();
        }
    }
    job.work();
    // Once `current` is null no helper joins any more; the ones that did may still be
    // looking at the job (to find no more tasks), so it must outlive `joined` reaching 0.
    team.current.store(std::ptr::null_mut(), SeqCst);
    while job.done.load(Acquire) < tasks || team.joined.load(SeqCst) > 0 {
        std::hint::spin_loop();
    }
    drop(busy);
    let panic = job.panic.into_inner().unwrap_or_else(|e| e.into_inner());
    if let Some(payload) = panic {
        panic::resume_unwind(payload);
    }
}

/// [`run`] on the calling thread alone, with the same contract: every task runs even if one
/// panics, and the first panic is resumed once they all have (a team that is busy with
/// another caller's job must not change what a panic leaves done).
fn run_serially(tasks: usize, f: &(dyn Fn(usize) + Sync)) {
    let mut first_panic = None;
    for i in 0..tasks {
        if let Err(payload) = panic::catch_unwind(AssertUnwindSafe(|| f(i))) {
            first_panic.get_or_insert(payload);
        }
    }
    if let Some(payload) = first_panic {
        panic::resume_unwind(payload);
    }
}

/// Calls `f` on every `chunk`-long piece of `x` (the last one may be shorter), on the team.
pub(crate) fn for_each_chunk_mut<T: Send>(
    x: &mut [T],
    chunk: usize,
    f: &(dyn Fn(&mut [T]) + Sync),
) {
    for_each_numbered_chunk_mut(x, chunk, &|_, piece| f(piece));
}

/// [`for_each_chunk_mut`], also telling `f` each piece's number `i` (the piece starts at
/// element `i · chunk`).
pub(crate) fn for_each_numbered_chunk_mut<T: Send>(
    x: &mut [T],
    chunk: usize,
    f: &(dyn Fn(usize, &mut [T]) + Sync),
) {
    let chunk = chunk.max(1);
    let len = x.len();
    let base = SendPtr(x.as_mut_ptr());
    run(len.div_ceil(chunk), &|i| {
        let start = i * chunk;
        let end = (start + chunk).min(len);
        // SAFETY: `start..end` lies inside `x` (i < len / chunk rounded up), and the pieces
        // of different indices do not overlap; `x` stays mutably borrowed until `run` has
        // returned, that is, until every task has finished.
        let piece = unsafe { std::slice::from_raw_parts_mut(base.get().add(start), end - start) };
        f(i, piece);
    });
}

/// A raw pointer that tasks on other threads may use, each on its own part of the memory
/// (the one who made it keeps the memory borrowed until every task has finished).
pub(crate) struct SendPtr<T>(*mut T);

// Not derived: the derive would require `T: Copy`.
impl<T> Clone for SendPtr<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for SendPtr<T> {}

impl<T> SendPtr<T> {
    /// Wraps `ptr` for tasks that each touch their own elements.
    pub(crate) fn new(ptr: *mut T) -> Self {
        Self(ptr)
    }

    /// The pointer (a method, so that closures capture the whole `Sync` wrapper).
    pub(crate) fn get(self) -> *mut T {
        self.0
    }
}

// SAFETY: every user hands the pointer to tasks that touch disjoint elements of `Send`
// values, which outlive the tasks (their owner stays borrowed until `run` returns).
unsafe impl<T: Send> Send for SendPtr<T> {}
// SAFETY: as above.
unsafe impl<T: Send> Sync for SendPtr<T> {}

/// The first `count` helpers, starting threads for the missing ones.
fn helpers(team: &'static Team, count: usize) -> Vec<Arc<Helper>> {
    let mut helpers = team.helpers.lock().unwrap_or_else(|e| e.into_inner());
    while helpers.len() < count {
        match spawn_helper(team, helpers.len()) {
            Some(helper) => helpers.push(helper),
            // No thread could be started: the caller does the remaining share itself.
            None => break,
        }
    }
    helpers.iter().take(count).cloned().collect()
}

fn spawn_helper(team: &'static Team, index: usize) -> Option<Arc<Helper>> {
    let (tx, rx) = std::sync::mpsc::channel();
    thread::Builder::new()
        .name(format!("embedkit-kernels-{index}"))
        .spawn(move || {
            let helper = Arc::new(Helper {
                asleep: AtomicBool::new(false),
                thread: thread::current(),
            });
            if tx.send(Arc::clone(&helper)).is_ok() {
                serve(team, &helper);
            }
        })
        .ok()?;
    rx.recv().ok()
}

/// A helper's life: join each new job; spin, then yield, then sleep while there is none.
fn serve(team: &Team, helper: &Helper) {
    let mut last_epoch = team.epoch.load(SeqCst);
    let mut idle_since = Instant::now();
    loop {
        if try_join(team, &mut last_epoch) {
            idle_since = Instant::now();
            continue;
        }
        let idle = idle_since.elapsed();
        if idle < PURE_SPIN {
            std::hint::spin_loop();
        } else if idle < SPIN {
            thread::yield_now();
        } else {
            helper.asleep.store(true, SeqCst);
            // A job published before the store above must not be slept through: look once
            // more. One published after it finds `asleep` set and unparks this thread.
            if !team.current.load(SeqCst).is_null() {
                helper.asleep.store(false, SeqCst);
            }
            while helper.asleep.load(SeqCst) {
                thread::park();
            }
            idle_since = Instant::now();
        }
    }
}

/// Works on the current job if there is one this helper has not seen and it has a free seat.
/// Returns whether there was a new job.
fn try_join(team: &Team, last_epoch: &mut u64) -> bool {
    let epoch = team.epoch.load(SeqCst);
    let job = team.current.load(SeqCst);
    if job.is_null() || epoch == *last_epoch {
        return false;
    }
    team.joined.fetch_add(1, SeqCst);
    // Re-read under `joined`: if the job is still current, its caller has not yet retracted
    // it, and will not return before `joined` drops back.
    if team.current.load(SeqCst) == job && team.epoch.load(SeqCst) == epoch {
        *last_epoch = epoch;
        // SAFETY: `run` published a pointer to its live `Job`, and keeps it alive until it
        // has retracted it and seen `joined` at 0; the re-read above saw it still published
        // after this thread was counted in `joined`.
        let job = unsafe { &*job.cast::<Job<'_>>() };
        if job.take_seat() {
            job.work();
        }
    }
    team.joined.fetch_sub(1, SeqCst);
    *last_epoch == epoch
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};

    #[test]
    fn every_task_runs_exactly_once() {
        for tasks in [0, 1, 2, 7, 100, 1000] {
            let hits: Vec<AtomicU64> = (0..tasks).map(|_| AtomicU64::new(0)).collect();
            run(tasks, &|i| {
                hits[i].fetch_add(1, Ordering::Relaxed);
            });
            assert!(
                hits.iter().all(|h| h.load(Ordering::Relaxed) == 1),
                "{tasks}"
            );
        }
    }

    #[test]
    fn chunks_cover_the_slice_once() {
        let mut x: Vec<u32> = vec![0; 1001];
        for_each_chunk_mut(&mut x, 64, &|piece| piece.iter_mut().for_each(|v| *v += 1));
        assert!(x.iter().all(|&v| v == 1));
    }

    #[test]
    fn sleeping_helpers_are_woken_and_jobs_still_finish() {
        run(8, &|_| ());
        thread::sleep(SPIN * 3);
        let sum = AtomicU64::new(0);
        run(64, &|i| {
            sum.fetch_add(i as u64, Ordering::Relaxed);
        });
        assert_eq!(sum.load(Ordering::Relaxed), 64 * 63 / 2);
    }

    #[test]
    fn nested_and_concurrent_jobs_run_alone_instead_of_waiting() {
        let total = AtomicU64::new(0);
        thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    for _ in 0..50 {
                        run(4, &|_| {
                            run(3, &|_| {
                                total.fetch_add(1, Ordering::Relaxed);
                            });
                        });
                    }
                });
            }
        });
        assert_eq!(total.load(Ordering::Relaxed), 4 * 50 * 4 * 3);
    }

    #[test]
    fn a_panicking_task_reaches_the_caller_after_the_others_finish() {
        let finished = AtomicU64::new(0);
        let caught = panic::catch_unwind(AssertUnwindSafe(|| {
            run(16, &|i| {
                if i == 5 {
                    panic!("task five");
                }
                finished.fetch_add(1, Ordering::Relaxed);
            })
        }));
        let payload = caught.expect_err("the panic is resumed in the caller");
        assert_eq!(payload.downcast_ref::<&str>(), Some(&"task five"));
        assert_eq!(finished.load(Ordering::Relaxed), 15);
        // The same on one thread (as when the team is busy with another caller's job).
        let finished_alone = AtomicU64::new(0);
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap();
        let caught = pool.install(|| {
            panic::catch_unwind(AssertUnwindSafe(|| {
                run(16, &|i| {
                    if i == 5 {
                        panic!("task five");
                    }
                    finished_alone.fetch_add(1, Ordering::Relaxed);
                })
            }))
        });
        assert!(caught.is_err(), "the panic is resumed in the caller");
        assert_eq!(finished_alone.load(Ordering::Relaxed), 15);
        // The team is still usable.
        let sum = AtomicU64::new(0);
        run(10, &|i| {
            sum.fetch_add(i as u64, Ordering::Relaxed);
        });
        assert_eq!(sum.load(Ordering::Relaxed), 45);
    }
}
