//! Thread pool management: a dedicated rayon pool whose size users can cap, rebuilt lazily after
//! `fork()` so the extension keeps working in torch DataLoader workers.
//!
//! rayon's global pool cannot be resized and its worker threads do not survive `fork()`: a child
//! process that used it would wait forever. We therefore own the pool, remember which process
//! built it, and build a fresh one when the process id changed.

use rayon::{ThreadPool, ThreadPoolBuilder};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// Threads requested through `set_num_threads`; 0 means "default".
static REQUESTED: AtomicUsize = AtomicUsize::new(0);

struct PoolState {
    pid: u32,
    threads: usize,
    pool: Arc<ThreadPool>,
}

static STATE: Mutex<Option<PoolState>> = Mutex::new(None);

/// Default thread count: `ECGFAST_NUM_THREADS` if set to a positive integer, else the number of
/// available cores.
pub fn default_num_threads() -> usize {
    if let Ok(value) = std::env::var("ECGFAST_NUM_THREADS") {
        if let Ok(n) = value.trim().parse::<usize>() {
            if n > 0 {
                return n;
            }
        }
    }
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

/// The number of threads batch kernels will use.
pub fn num_threads() -> usize {
    match REQUESTED.load(Ordering::Relaxed) {
        0 => default_num_threads(),
        n => n,
    }
}

/// The count set by [`set_num_threads`]; 0 when none is set (the default applies).
pub fn requested_num_threads() -> usize {
    REQUESTED.load(Ordering::Relaxed)
}

/// Cap the number of threads (0 restores the default).
pub fn set_num_threads(n: usize) {
    REQUESTED.store(n, Ordering::Relaxed);
}

fn current_pool() -> Arc<ThreadPool> {
    let threads = num_threads();
    let pid = std::process::id();
    let mut guard = STATE
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(state) = guard.as_ref() {
        if state.pid == pid && state.threads == threads {
            return Arc::clone(&state.pool);
        }
    }
    if let Some(old) = guard.take() {
        if old.pid != pid {
            // Forked child: the old pool's threads do not exist here; dropping it would try to
            // talk to them. Leak it instead (a few bytes, once per fork).
            std::mem::forget(old);
        }
    }
    let pool = Arc::new(
        ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("ecgfast-{i}"))
            .build()
            .expect("failed to build the ecgfast thread pool"),
    );
    *guard = Some(PoolState {
        pid,
        threads,
        pool: Arc::clone(&pool),
    });
    pool
}

/// Run `f` inside the ecgfast pool: rayon parallel iterators in `f` use at most `num_threads()`.
pub fn install<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    // Always our pool, even for one thread: outside `install`, rayon would use its global pool
    // with every core.
    current_pool().install(f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_and_restore_thread_count() {
        set_num_threads(3);
        assert_eq!(num_threads(), 3);
        let inside = install(rayon::current_num_threads);
        assert_eq!(inside, 3);
        assert_eq!(requested_num_threads(), 3);
        set_num_threads(0);
        assert_eq!(requested_num_threads(), 0);
        assert_eq!(num_threads(), default_num_threads());
    }
}
