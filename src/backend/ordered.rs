//! Ordered parallel work: numbered jobs (a chain to dump or to print) run on
//! a few threads, and their output reaches one consumer, on the calling
//! thread, in job order, chunk by chunk, as soon as it exists for the job
//! being consumed.
//!
//! Reading big rulesets is dominated by work that cannot be split (the
//! kernel walking one chain, copying one table), so the engine runs several
//! such jobs at once, biggest first, while keeping the job the consumer
//! waits for running at all times. Output of jobs ahead of the consumer is
//! held in memory up to a budget; beyond it their workers wait (the job
//! being consumed never waits, so the engine cannot deadlock).
//!
//! Jobs may depend on a preparatory task ("prep": fetching a legacy table's
//! blob); preps run before any job, and a job runs once its prep is done.
//!
//! Our own work beside the jobs (the Engine API client, while `check` and
//! `fix` dump the rules) holds a CPU for a while and then ends: it
//! registers as [`busy`], and the engine keeps a worker waiting for each
//! such CPU, which starts on the heaviest job left once the work ends.

use std::collections::VecDeque;
use std::ops::ControlFlow;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};

/// Output of a job, handed over in pieces.
pub trait Chunk: Send + Sized {
    /// Roughly how many bytes it holds (for the budget).
    fn bytes(&self) -> usize;

    /// An empty chunk with this one's room: a worker's next chunk then
    /// reaches the same size without growing (and copying) on the way.
    fn empty_like(&self) -> Self;
}

impl Chunk for String {
    fn bytes(&self) -> usize {
        self.len()
    }

    fn empty_like(&self) -> Self {
        String::with_capacity(self.capacity())
    }
}

impl<T: Send> Chunk for Vec<T> {
    fn bytes(&self) -> usize {
        self.len() * std::mem::size_of::<T>()
    }

    fn empty_like(&self) -> Self {
        Vec::with_capacity(self.capacity())
    }
}

/// The work: what the engine calls, from its threads.
pub trait Jobs: Sync {
    type Chunk: Chunk;
    /// How a job ended (done, or why not).
    type End: Send;
    /// Per-thread state (sockets, printers), made on the thread.
    type Worker;

    fn worker(&self) -> Self::Worker;

    /// Number of preparatory tasks.
    fn preps(&self) -> usize {
        0
    }

    /// Runs prep `prep`; its outcome is for [`Jobs::run`] to find.
    fn prep(&self, _worker: &mut Self::Worker, _prep: usize) {}

    /// The prep job `job` needs, if any.
    fn needs(&self, _job: usize) -> Option<usize> {
        None
    }

    /// How long job `job` will take, roughly; heavier jobs start first.
    fn weight(&self, _job: usize) -> u64 {
        0
    }

    /// Runs job `job`, handing its output to `emit` (which returns false
    /// when everything is cancelled: return at once, with any end).
    fn run(
        &self,
        worker: &mut Self::Worker,
        job: usize,
        emit: &mut dyn FnMut(Self::Chunk) -> bool,
    ) -> Self::End;
}

/// What the consumer receives for a job: any number of chunks, then its end.
#[derive(Debug)]
pub enum Delivery<C, E> {
    Chunk(C),
    End(E),
}

#[derive(Debug, Clone)]
pub struct Options {
    /// Threads running jobs.
    pub threads: usize,
    /// More threads, each starting only when a piece of our [`busy`] work
    /// ends.
    pub late: usize,
    /// Bytes of output held for jobs the consumer has not reached before
    /// their workers wait.
    pub budget: usize,
}

impl Default for Options {
    /// As many threads as CPUs are free ([`free_cpus`], at most 8) but those
    /// our [`busy`] work holds, which come later; or `NFDOCTOR_THREADS`
    /// when set (for measurements), none later.
    fn default() -> Self {
        let (threads, late) = match std::env::var("NFDOCTOR_THREADS")
            .ok()
            .and_then(|t| t.parse::<usize>().ok())
        {
            Some(threads) => (threads, 0),
            None => {
                let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
                let busy = busy_now();
                // Whether or not the load average caught it running.
                let threads = free_cpus().min(cpus.saturating_sub(busy)).max(1);
                (threads, busy.min(cpus.min(8).saturating_sub(threads)))
            }
        };
        Options {
            threads: threads.clamp(1, 8),
            late,
            budget: usize::MAX,
        }
    }
}

/// How many pieces of [`busy`] work are running.
static BUSY: Mutex<usize> = Mutex::new(0);
/// Notified when one ends, and when an engine ends (its late workers then
/// have nothing to wait for).
static BUSY_CHANGED: Condvar = Condvar::new();

fn busy_lock() -> MutexGuard<'static, usize> {
    BUSY.lock().unwrap_or_else(|e| e.into_inner())
}

fn busy_now() -> usize {
    *busy_lock()
}

/// Marks CPU-bound work of ours that runs beside engine jobs and ends on
/// its own, until the guard drops. Take it before starting the work's
/// thread, so that an engine starting meanwhile counts it.
#[must_use = "the work counts as busy until the guard drops"]
pub fn busy() -> Busy {
    *busy_lock() += 1;
    Busy(())
}

/// See [`busy`].
#[derive(Debug)]
pub struct Busy(());

impl Drop for Busy {
    fn drop(&mut self) {
        let mut busy = busy_lock();
        *busy = busy.saturating_sub(1);
        drop(busy);
        BUSY_CHANGED.notify_all();
    }
}

/// CPUs free for this process's threads right now: those it may use, less
/// the tasks others are running (`/proc/loadavg`'s runnable count, in
/// which the reading thread counts itself; the least of a few readings).
/// The work is CPU-bound, and threads taking turns on one CPU are slower
/// than one thread: the kernel's walks over big chains thrash the caches
/// at every switch.
pub fn free_cpus() -> usize {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let running = (0..3)
        .filter_map(|_| {
            let text = std::fs::read_to_string("/proc/loadavg").ok()?;
            runnable(&text)
        })
        .min();
    match running {
        Some(r) => cpus.saturating_sub(r.saturating_sub(1)).max(1),
        None => cpus,
    }
}

/// The runnable count of a `/proc/loadavg` line (`0.50 0.40 0.30 2/95 123`).
fn runnable(loadavg: &str) -> Option<usize> {
    loadavg
        .split_whitespace()
        .nth(3)?
        .split('/')
        .next()?
        .parse()
        .ok()
}

struct Slot<C, E> {
    chunks: VecDeque<(C, usize)>,
    end: Option<E>,
    assigned: bool,
    finished: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Prep {
    Waiting,
    Running,
    Done,
}

struct State<C, E> {
    slots: Vec<Slot<C, E>>,
    preps: Vec<Prep>,
    /// The job the consumer is on.
    head: usize,
    /// Bytes in chunks not yet consumed.
    buffered: usize,
}

enum Task {
    Prep(usize),
    Job(usize),
}

struct Engine<'j, J: Jobs> {
    jobs: &'j J,
    budget: usize,
    state: Mutex<State<J::Chunk, J::End>>,
    changed: Condvar,
    cancelled: AtomicBool,
}

impl<J: Jobs> Engine<'_, J> {
    fn lock(&self) -> MutexGuard<'_, State<J::Chunk, J::End>> {
        // A panic elsewhere cannot leave the state inconsistent in a way that
        // matters more than the panic itself.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn wait<'a>(
        &self,
        guard: MutexGuard<'a, State<J::Chunk, J::End>>,
    ) -> MutexGuard<'a, State<J::Chunk, J::End>> {
        self.changed.wait(guard).unwrap_or_else(|e| e.into_inner())
    }

    fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::Relaxed)
    }

    /// Records the end of `done` and picks the next task: the first
    /// unassigned job when it is ready and every job before it has finished
    /// (so the job the consumer waits for always runs); else a waiting
    /// prep; else the heaviest ready job; else waits for a prep to finish.
    /// (A worker takes a job ahead of the consumer only when no prep waits,
    /// so the prep the consumer's job needs is always running or done.)
    fn next(&self, done: Option<Task>) -> Option<Task> {
        let mut state = self.lock();
        match done {
            Some(Task::Prep(p)) => {
                state.preps[p] = Prep::Done;
                self.changed.notify_all();
            }
            Some(Task::Job(j)) => state.slots[j].finished = true,
            None => {}
        }
        loop {
            if self.is_cancelled() {
                return None;
            }
            let ready = |state: &State<_, _>, j: usize| {
                self.jobs
                    .needs(j)
                    .map_or(true, |p| state.preps.get(p) == Some(&Prep::Done))
            };
            let first = state.slots.iter().position(|s| !s.assigned);
            if let Some(first) = first {
                if ready(&state, first) && state.slots[..first].iter().all(|s| s.finished) {
                    state.slots[first].assigned = true;
                    return Some(Task::Job(first));
                }
            }
            // Preps before other jobs: they are what the rest waits for.
            if let Some(p) = state.preps.iter().position(|p| *p == Prep::Waiting) {
                state.preps[p] = Prep::Running;
                return Some(Task::Prep(p));
            }
            let first = first?;
            let pick = (first..state.slots.len())
                .filter(|&j| !state.slots[j].assigned && ready(&state, j))
                .max_by_key(|&j| (self.jobs.weight(j), std::cmp::Reverse(j)));
            match pick {
                Some(j) => {
                    state.slots[j].assigned = true;
                    return Some(Task::Job(j));
                }
                None => state = self.wait(state),
            }
        }
    }

    /// Hands a chunk over; waits while too much is held ahead of the
    /// consumer. False when cancelled.
    fn push(&self, job: usize, chunk: J::Chunk) -> bool {
        let bytes = chunk.bytes();
        let mut state = self.lock();
        while job != state.head && state.buffered > self.budget && !self.is_cancelled() {
            state = self.wait(state);
        }
        if self.is_cancelled() {
            return false;
        }
        state.buffered += bytes;
        state.slots[job].chunks.push_back((chunk, bytes));
        drop(state);
        self.changed.notify_all();
        true
    }

    fn end(&self, job: usize, end: J::End) {
        self.lock().slots[job].end = Some(end);
        self.changed.notify_all();
    }

    fn cancel(&self) {
        self.cancelled.store(true, Ordering::Relaxed);
        let _guard = self.lock();
        self.changed.notify_all();
        // Late workers wait on the busy count: taking its lock orders this
        // after any check of `cancelled` they made before waiting.
        let _busy = busy_lock();
        BUSY_CHANGED.notify_all();
    }

    /// A late worker's start: once at most `busy` pieces of busy work are
    /// left; false if the engine ended first.
    fn wait_for_cpu(&self, busy: usize) -> bool {
        let mut now = busy_lock();
        while *now > busy && !self.is_cancelled() {
            now = BUSY_CHANGED.wait(now).unwrap_or_else(|e| e.into_inner());
        }
        !self.is_cancelled()
    }

    fn work(&self) {
        // A panicking worker cancels everything, or the consumer would wait
        // for its job forever (the panic then surfaces when it is joined).
        struct OnPanic<'e, 'j, J: Jobs>(&'e Engine<'j, J>);
        impl<J: Jobs> Drop for OnPanic<'_, '_, J> {
            fn drop(&mut self) {
                if std::thread::panicking() {
                    self.0.cancel();
                }
            }
        }
        let _on_panic = OnPanic(self);
        let mut worker = self.jobs.worker();
        let mut done = None;
        while let Some(task) = self.next(done.take()) {
            match task {
                Task::Prep(p) => {
                    self.jobs.prep(&mut worker, p);
                    done = Some(Task::Prep(p));
                }
                Task::Job(j) => {
                    let mut emit = |chunk: J::Chunk| self.push(j, chunk);
                    let end = self.jobs.run(&mut worker, j, &mut emit);
                    if self.is_cancelled() {
                        return;
                    }
                    self.end(j, end);
                    done = Some(Task::Job(j));
                }
            }
        }
    }
}

/// Cancels the workers however the consumer leaves, so they can be joined.
struct CancelOnDrop<'e, 'j, J: Jobs>(&'e Engine<'j, J>);

impl<J: Jobs> Drop for CancelOnDrop<'_, '_, J> {
    fn drop(&mut self) {
        self.0.cancel();
    }
}

/// Runs jobs `0..count` of `jobs` and hands their output to `consume` in
/// job order. `consume` can stop everything with `Break`; running jobs are
/// then told to stop and their output is dropped.
pub fn run<J: Jobs>(
    jobs: &J,
    count: usize,
    options: &Options,
    mut consume: impl FnMut(usize, Delivery<J::Chunk, J::End>) -> ControlFlow<()>,
) {
    if count == 0 {
        return;
    }
    let busy = busy_now();
    let late = options.late.min(busy);
    if options.threads <= 1 && late == 0 {
        return run_here(jobs, count, consume);
    }
    let engine = Engine {
        jobs,
        budget: options.budget,
        state: Mutex::new(State {
            slots: (0..count)
                .map(|_| Slot {
                    chunks: VecDeque::new(),
                    end: None,
                    assigned: false,
                    finished: false,
                })
                .collect(),
            preps: vec![Prep::Waiting; jobs.preps()],
            head: 0,
            buffered: 0,
        }),
        changed: Condvar::new(),
        cancelled: AtomicBool::new(false),
    };
    // One thread with work of ours still busy: the calling thread runs the
    // jobs in order itself, as `run_here` does, and the late workers take
    // the heaviest jobs ahead of it once they start. (Handing every chunk
    // to the calling thread from a worker would make three busy threads,
    // which cost most where CPUs are few.) Preps need a worker thread.
    let inline = options.threads <= 1 && jobs.preps() == 0;
    let threads = if inline {
        0
    } else {
        options.threads.clamp(1, count.max(jobs.preps()))
    };
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| engine.work());
        }
        for k in 1..=late {
            let engine = &engine;
            scope.spawn(move || {
                if engine.wait_for_cpu(busy - k) {
                    engine.work();
                }
            });
        }
        let _cancel = CancelOnDrop(&engine);
        let mut own = None;
        'jobs: for job in 0..count {
            let mut state = engine.lock();
            state.head = job;
            engine.changed.notify_all();
            if inline && !state.slots[job].assigned {
                state.slots[job].assigned = true;
                drop(state);
                let worker = own.get_or_insert_with(|| jobs.worker());
                if run_consumed(jobs, worker, job, &mut consume).is_break() {
                    break 'jobs;
                }
                engine.lock().slots[job].finished = true;
                engine.changed.notify_all();
                continue 'jobs;
            }
            loop {
                if let Some((chunk, bytes)) = state.slots[job].chunks.pop_front() {
                    state.buffered -= bytes;
                    drop(state);
                    engine.changed.notify_all();
                    if consume(job, Delivery::Chunk(chunk)).is_break() {
                        break 'jobs;
                    }
                    state = engine.lock();
                    continue;
                }
                if let Some(end) = state.slots[job].end.take() {
                    drop(state);
                    if consume(job, Delivery::End(end)).is_break() {
                        break 'jobs;
                    }
                    continue 'jobs;
                }
                if engine.is_cancelled() {
                    break 'jobs;
                }
                state = engine.wait(state);
            }
        }
    });
}

/// [`run`] with one thread: every job on the calling thread, in order,
/// its output consumed as it comes. (Handing chunks to another thread would
/// only add wake-ups, which cost most on a busy machine.)
fn run_here<J: Jobs>(
    jobs: &J,
    count: usize,
    mut consume: impl FnMut(usize, Delivery<J::Chunk, J::End>) -> ControlFlow<()>,
) {
    let mut worker = jobs.worker();
    let mut prepped = vec![false; jobs.preps()];
    for job in 0..count {
        if let Some(p) = jobs.needs(job) {
            if !prepped.get(p).copied().unwrap_or(true) {
                jobs.prep(&mut worker, p);
                prepped[p] = true;
            }
        }
        if run_consumed(jobs, &mut worker, job, &mut consume).is_break() {
            return;
        }
    }
}

/// Runs `job` on the calling thread, its output consumed as it comes;
/// `Break` if `consume` stopped everything.
fn run_consumed<J: Jobs>(
    jobs: &J,
    worker: &mut J::Worker,
    job: usize,
    consume: &mut impl FnMut(usize, Delivery<J::Chunk, J::End>) -> ControlFlow<()>,
) -> ControlFlow<()> {
    let mut stopped = false;
    let end = jobs.run(worker, job, &mut |chunk| {
        stopped = stopped || consume(job, Delivery::Chunk(chunk)).is_break();
        !stopped
    });
    if stopped || consume(job, Delivery::End(end)).is_break() {
        return ControlFlow::Break(());
    }
    ControlFlow::Continue(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    struct Panicking;

    impl Jobs for Panicking {
        type Chunk = String;
        type End = ();
        type Worker = ();

        fn worker(&self) {}

        fn run(&self, _: &mut (), job: usize, _: &mut dyn FnMut(String) -> bool) {
            assert!(job != 3, "job 3 fails");
        }
    }

    #[test]
    fn a_panicking_job_does_not_hang_the_consumer() {
        let result = std::panic::catch_unwind(|| {
            run(
                &Panicking,
                10,
                &Options {
                    threads: 2,
                    late: 0,
                    budget: 0,
                },
                |_, _| ControlFlow::Continue(()),
            )
        });
        assert!(result.is_err());
    }

    /// Job `j` emits `j` chunks of `size` bytes; heavier jobs are later.
    struct Counting {
        size: usize,
        preps: usize,
    }

    impl Jobs for Counting {
        type Chunk = Vec<u8>;
        type End = usize;
        type Worker = ();

        fn worker(&self) {}

        fn preps(&self) -> usize {
            self.preps
        }

        fn prep(&self, _: &mut (), _: usize) {
            std::thread::sleep(Duration::from_millis(5));
        }

        fn needs(&self, job: usize) -> Option<usize> {
            (self.preps > 0).then(|| job % self.preps)
        }

        fn weight(&self, job: usize) -> u64 {
            job as u64
        }

        fn run(&self, _: &mut (), job: usize, emit: &mut dyn FnMut(Vec<u8>) -> bool) -> usize {
            for _ in 0..job {
                if !emit(vec![job as u8; self.size]) {
                    break;
                }
            }
            job
        }
    }

    /// What the consumer sees: (job, chunk length, `usize::MAX`) per chunk,
    /// each chunk's bytes being its job's number, and (job, 0, end) per end.
    fn collect<J: Jobs<Chunk = Vec<u8>, End = usize>>(
        jobs: &J,
        count: usize,
        options: &Options,
    ) -> Vec<(usize, usize, usize)> {
        let mut seen = Vec::new();
        run(jobs, count, options, |job, d| {
            match d {
                Delivery::Chunk(c) => {
                    assert!(c.iter().all(|&b| b == job as u8));
                    seen.push((job, c.len(), usize::MAX));
                }
                Delivery::End(e) => seen.push((job, 0, e)),
            }
            ControlFlow::Continue(())
        });
        seen
    }

    /// Job 0 ends the busy work it holds, then takes its time; every job
    /// records the thread it ran on.
    struct Handing {
        busy: Mutex<Option<Busy>>,
        ran_on: Mutex<Vec<(usize, std::thread::ThreadId)>>,
    }

    impl Jobs for Handing {
        type Chunk = Vec<u8>;
        type End = usize;
        type Worker = ();

        fn worker(&self) {}

        fn weight(&self, job: usize) -> u64 {
            job as u64
        }

        fn run(&self, _: &mut (), job: usize, emit: &mut dyn FnMut(Vec<u8>) -> bool) -> usize {
            if job == 0 {
                drop(self.busy.lock().unwrap().take());
                // Time for the late worker to start on the heaviest job.
                std::thread::sleep(Duration::from_millis(200));
            }
            let me = std::thread::current().id();
            self.ran_on.lock().unwrap().push((job, me));
            emit(vec![job as u8; 3]);
            job
        }
    }

    fn in_order(count: usize) -> Vec<(usize, usize, usize)> {
        (0..count)
            .flat_map(|j| [(j, 3, usize::MAX), (j, 0, j)])
            .collect()
    }

    #[test]
    fn a_late_worker_takes_the_heaviest_job_once_the_busy_work_ends() {
        let jobs = Handing {
            busy: Mutex::new(Some(busy())),
            ran_on: Mutex::new(Vec::new()),
        };
        let options = Options {
            threads: 1,
            late: 1,
            budget: usize::MAX,
        };
        assert_eq!(collect(&jobs, 5, &options), in_order(5));
        let me = std::thread::current().id();
        let ran_on = jobs.ran_on.into_inner().unwrap();
        let thread_of = |job| ran_on.iter().find(|(j, _)| *j == job).map(|(_, t)| *t);
        // The calling thread runs the jobs in order itself, but the heaviest
        // one, which the late worker took while job 0 still ran.
        assert_eq!(thread_of(0), Some(me));
        assert_ne!(thread_of(4), Some(me), "{ran_on:?}");
        assert_eq!(ran_on.first().map(|(j, _)| *j), Some(4), "{ran_on:?}");
    }

    #[test]
    fn an_engine_ends_without_waiting_for_busy_work() {
        let _busy = busy();
        let jobs = Counting { size: 10, preps: 0 };
        for threads in [1, 2] {
            let options = Options {
                threads,
                late: 1,
                budget: usize::MAX,
            };
            assert_eq!(collect(&jobs, 6, &options).len(), 15 + 6);
        }
    }

    #[test]
    fn output_arrives_in_job_order_whatever_the_threads_and_budget() {
        let expected: Vec<_> = (0..20)
            .flat_map(|j| {
                std::iter::repeat((j, 10, usize::MAX))
                    .take(j)
                    .chain([(j, 0, j)])
            })
            .collect();
        for threads in [1, 2, 3, 8] {
            for budget in [0, 15, usize::MAX] {
                for preps in [0, 1, 3] {
                    let jobs = Counting { size: 10, preps };
                    let got = collect(
                        &jobs,
                        20,
                        &Options {
                            threads,
                            late: 0,
                            budget,
                        },
                    );
                    assert_eq!(
                        got, expected,
                        "threads {threads} budget {budget} preps {preps}"
                    );
                }
            }
        }
    }

    #[test]
    fn loadavg_gives_the_runnable_count() {
        assert_eq!(runnable("2.42 2.43 2.24 3/94 10240\n"), Some(3));
        assert_eq!(runnable("0.00 0.00 0.00 1/80 7"), Some(1));
        assert_eq!(runnable("garbage"), None);
        assert!(free_cpus() >= 1);
    }

    #[test]
    fn the_consumer_can_stop_everything() {
        let jobs = Counting { size: 1, preps: 0 };
        let mut ends = 0;
        run(
            &jobs,
            50,
            &Options {
                threads: 4,
                late: 0,
                budget: 0,
            },
            |_, d| {
                if matches!(d, Delivery::End(_)) {
                    ends += 1;
                }
                if ends == 5 {
                    ControlFlow::Break(())
                } else {
                    ControlFlow::Continue(())
                }
            },
        );
        assert_eq!(ends, 5);
    }
}
