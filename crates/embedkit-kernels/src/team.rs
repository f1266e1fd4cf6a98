//! The threads the kernels split their work over: the calling thread plus helpers that stay
//! awake between kernels.
//!
//! Why not rayon here: a forward pass of one short query is ~50 parallel kernels of 20 to
//! 300 µs each. With rayon each one was injected into the pool from outside it, the calling
//! thread slept on a latch, and idle workers had to be woken with a futex: on a 2-vCPU VM a
//! wake-up costs tens of µs, and the median GEMM call took 1.5× its best time (see
//! `examples/gemm_bench.rs`). Here the caller works on its own job, and helpers that finished
//! a job recently are still spinning on an atomic when the next one comes, so handing out a
//! job is a few stores. Helpers idle for [`SPIN`] go to sleep, so an idle process costs
//! nothing; the next job wakes them (one futex, as before) but does not wait for them.
//!
//! One job runs at a time. A thread that finds the team busy (two requests at once, or a
//! kernel called from inside a job) runs its job alone, so nothing ever waits on the team.
//! The team has as many threads as rayon's pool (`--threads`), counted at each job.

use std::any::Any;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicPtr, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::{self, Thread};
use std::time::{Duration, Instant};

/// How long an idle helper keeps watching for work before it sleeps.
const SPIN: Duration = Duration::from_millis(2);
/// Of which the first part is a pure spin; after it the helper yields its core between looks,
/// so that other threads of the process (tokenization) can run.
const PURE_SPIN: Duration = Duration::from_micros(100);

/// A helper is awake and free.
const FREE: u8 = 0;
/// A helper has been handed a job (its `job` slot is set) and not yet taken it: the caller
/// may take it back, so that it never waits for a helper that is not running.
const HANDED: u8 = 1;
/// A helper works on the job handed to it.
const WORKING: u8 = 2;
/// A helper sleeps; whoever moves it back to `FREE` unparks it.
const ASLEEP: u8 = 3;

/// One job: `f(i)` for every `i < tasks`, handed out one index at a time.
struct Job<'f> {
    f: &'f (dyn Fn(usize) + Sync),
    tasks: usize,
    next: AtomicUsize,
    done: AtomicUsize,
    panic: Mutex<Option<Box<dyn Any + Send>>>,
}

impl Job<'_> {
    /// Runs tasks until none are left. A panicking task is counted as done and its payload
    /// kept for the caller, so the caller never waits forever and always outlives the job.
    fn work(&self) {
        loop {
            let i = self.next.fetch_add(1, Ordering::Relaxed);
            if i >= self.tasks {
                return;
            }
            if let Err(payload) = panic::catch_unwind(AssertUnwindSafe(|| (self.f)(i))) {
                let mut slot = self.panic.lock().unwrap_or_else(|e| e.into_inner());
                slot.get_or_insert(payload);
            }
            self.done.fetch_add(1, Ordering::Release);
        }
    }
}

/// A helper thread's mailbox.
struct Helper {
    state: AtomicU8,
    /// The job being handed over, type-erased; valid while `state` is `WORKING`.
    job: AtomicPtr<()>,
    thread: Thread,
}

struct Team {
    /// Held by the thread whose job the team runs.
    busy: Mutex<()>,
    helpers: Mutex<Vec<Arc<Helper>>>,
}

fn team() -> &'static Team {
    static TEAM: OnceLock<Team> = OnceLock::new();
    TEAM.get_or_init(|| Team {
        busy: Mutex::new(()),
        helpers: Mutex::new(Vec::new()),
    })
}

/// Runs `f(i)` for every `i < tasks` on the team (the calling thread included) and returns
/// when all have finished. A panic in a task is resumed here once every task has ended.
pub(crate) fn run(tasks: usize, f: &(dyn Fn(usize) + Sync)) {
    let threads = rayon::current_num_threads().min(tasks);
    if threads <= 1 {
        (0..tasks).for_each(f);
        return;
    }
    let team = team();
    let busy = match team.busy.try_lock() {
        Ok(guard) => guard,
        // A task panicked while this lock was held; the team itself is in order.
        Err(std::sync::TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
        Err(std::sync::TryLockError::WouldBlock) => {
            (0..tasks).for_each(f);
            return;
        }
    };
    let job = Job {
        f,
        tasks,
        next: AtomicUsize::new(0),
        done: AtomicUsize::new(0),
        panic: Mutex::new(None),
    };
    let helpers = helpers(team, threads - 1);
    let mut handed = Vec::with_capacity(helpers.len());
    for helper in &helpers {
        helper.job.store(
            std::ptr::from_ref(&job).cast_mut().cast(),
            Ordering::Relaxed,
        );
        match helper
            .state
            .compare_exchange(FREE, HANDED, Ordering::AcqRel, Ordering::Relaxed)
        {
            Ok(_) => handed.push(helper),
            // Asleep: wake it for the jobs to come, but do not wait for it now.
            Err(_) => {
                if helper
                    .state
                    .compare_exchange(ASLEEP, FREE, Ordering::AcqRel, Ordering::Relaxed)
                    .is_ok()
                {
                    helper.thread.unpark();
                }
            }
        }
    }
    job.work();
    // Helpers that have not taken the job yet are not waited for: it is taken back.
    handed.retain(|h| {
        h.state
            .compare_exchange(HANDED, FREE, Ordering::AcqRel, Ordering::Relaxed)
            .is_err()
    });
    // Every task has run once `done` reaches `tasks`; the helpers working on the job may
    // still be looking at it (to find no more tasks), so it must outlive their return to
    // `FREE`.
    while job.done.load(Ordering::Acquire) < tasks
        || handed
            .iter()
            .any(|h| h.state.load(Ordering::Acquire) == WORKING)
    {
        std::hint::spin_loop();
    }
    drop(busy);
    let panic = job.panic.into_inner().unwrap_or_else(|e| e.into_inner());
    if let Some(payload) = panic {
        panic::resume_unwind(payload);
    }
}

/// Runs `f(i)` for every `i < tasks` on the team and returns the results in index order.
pub(crate) fn map<T: Send>(tasks: usize, f: &(dyn Fn(usize) -> T + Sync)) -> Vec<T> {
    let slots: Vec<Mutex<Option<T>>> = (0..tasks).map(|_| Mutex::new(None)).collect();
    run(tasks, &|i| {
        *slots[i].lock().unwrap_or_else(|e| e.into_inner()) = Some(f(i));
    });
    slots
        .into_iter()
        .map(|slot| {
            slot.into_inner()
                .unwrap_or_else(|e| e.into_inner())
                .expect("run returns only after every task has stored its result")
        })
        .collect()
}

/// Calls `f` on every `chunk`-long piece of `x` (the last one may be shorter), on the team.
pub(crate) fn for_each_chunk_mut<T: Send>(
    x: &mut [T],
    chunk: usize,
    f: &(dyn Fn(&mut [T]) + Sync),
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
        f(piece);
    });
}

/// A raw pointer that tasks on other threads may use (each on its own part of the memory).
struct SendPtr<T>(*mut T);

// Not derived: the derive would require `T: Copy`.
impl<T> Clone for SendPtr<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for SendPtr<T> {}

impl<T> SendPtr<T> {
    /// The pointer (a method, so that closures capture the whole `Sync` wrapper).
    fn get(self) -> *mut T {
        self.0
    }
}

// SAFETY: only used by `for_each_chunk_mut`, whose tasks touch disjoint pieces of a slice of
// `Send` elements that outlives them.
unsafe impl<T: Send> Send for SendPtr<T> {}
// SAFETY: as above.
unsafe impl<T: Send> Sync for SendPtr<T> {}

/// The first `count` helpers, starting threads for the missing ones.
fn helpers(team: &Team, count: usize) -> Vec<Arc<Helper>> {
    let mut helpers = team.helpers.lock().unwrap_or_else(|e| e.into_inner());
    while helpers.len() < count {
        match spawn_helper(helpers.len()) {
            Some(helper) => helpers.push(helper),
            // No thread could be started: the caller does the remaining share itself.
            None => break,
        }
    }
    helpers.iter().take(count).cloned().collect()
}

fn spawn_helper(index: usize) -> Option<Arc<Helper>> {
    let (tx, rx) = std::sync::mpsc::channel();
    thread::Builder::new()
        .name(format!("embedkit-kernels-{index}"))
        .spawn(move || {
            let helper = Arc::new(Helper {
                state: AtomicU8::new(FREE),
                job: AtomicPtr::new(std::ptr::null_mut()),
                thread: thread::current(),
            });
            if tx.send(Arc::clone(&helper)).is_ok() {
                serve(&helper);
            }
        })
        .ok()?;
    rx.recv().ok()
}

/// A helper's life: do the jobs handed to it; spin, then yield, then sleep while there are
/// none.
fn serve(helper: &Helper) {
    let mut idle_since = Instant::now();
    loop {
        match helper.state.load(Ordering::Acquire) {
            HANDED => {
                if helper
                    .state
                    .compare_exchange(HANDED, WORKING, Ordering::AcqRel, Ordering::Relaxed)
                    .is_ok()
                {
                    let job = helper.job.load(Ordering::Relaxed).cast::<Job<'_>>();
                    // SAFETY: `run` stored a pointer to its live `Job` before handing the job
                    // over (the Acquire exchange above sees that store), and does not return,
                    // so the job lives, until this helper has moved back to FREE below.
                    unsafe { (*job).work() };
                    helper.state.store(FREE, Ordering::Release);
                }
                idle_since = Instant::now();
            }
            FREE => {
                let idle = idle_since.elapsed();
                if idle < PURE_SPIN {
                    std::hint::spin_loop();
                } else if idle < SPIN {
                    thread::yield_now();
                } else if helper
                    .state
                    .compare_exchange(FREE, ASLEEP, Ordering::AcqRel, Ordering::Relaxed)
                    .is_ok()
                {
                    while helper.state.load(Ordering::Acquire) == ASLEEP {
                        thread::park();
                    }
                    idle_since = Instant::now();
                }
            }
            // WORKING and ASLEEP are only ever left by this thread itself (above).
            _ => unreachable!("a helper found itself working or asleep between jobs"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicU64;

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
    fn map_keeps_index_order() {
        assert_eq!(
            map(50, &|i| i * i),
            (0..50).map(|i| i * i).collect::<Vec<_>>()
        );
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
        // The team is still usable.
        let sum = AtomicU64::new(0);
        run(10, &|i| {
            sum.fetch_add(i as u64, Ordering::Relaxed);
        });
        assert_eq!(sum.load(Ordering::Relaxed), 45);
    }
}
