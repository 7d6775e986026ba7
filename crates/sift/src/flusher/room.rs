//! How much CPU the machine left over since the flusher last looked: idle time from
//! `/proc/stat`, plus what the flusher's idle-priority threads used (they would give it up to
//! anything else). Segments are written only while at least [`MIN_ROOM`] cores were left over, so a
//! burst of ingest runs at the speed of the WAL and its segments are written once it has
//! passed. `SCHED_IDLE` alone is not enough: a segment thread still takes every gap in which
//! ingest waits for its group commit, and measured, a burst then ran about 10% slower.

use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Cores left over from which segments are written while the backlog is not pressing.
pub const MIN_ROOM: f64 = 0.5;

/// What is known of the cores.
pub trait Room: Send {
    /// Cores left over since the last call, or `None` when that cannot be known (no
    /// `/proc/stat`: then segments are written as if there were room).
    fn left_over(&mut self) -> Option<f64>;
}

/// [`Room`] from `/proc/stat` and the CPU clocks of the flusher's idle-priority threads.
pub struct ProcRoom {
    flusher_threads: FlusherThreads,
    last: Option<Sample>,
}

/// The CPU clocks of the flusher's idle-priority threads, registered as each starts.
#[derive(Clone, Default)]
pub struct FlusherThreads(Arc<Mutex<Vec<libc::clockid_t>>>);

impl FlusherThreads {
    /// Registers the calling thread.
    pub fn register_current(&self) {
        let mut clock: libc::clockid_t = 0;
        // SAFETY: `pthread_self` is the calling thread, alive during the call; `clock` is a
        // valid place for the answer.
        if unsafe { libc::pthread_getcpuclockid(libc::pthread_self(), &mut clock) } == 0 {
            self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).push(clock);
        }
    }

    /// The CPU time of every registered thread, in nanoseconds. A pool's threads live as
    /// long as the flusher, so their clocks stay valid.
    fn cpu_ns(&self) -> u64 {
        let clocks = self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        clocks.iter().map(|&clock| thread_cpu_ns(clock)).sum()
    }
}

fn thread_cpu_ns(clock: libc::clockid_t) -> u64 {
    let mut time = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `time` is a valid place for the answer; a bad clock is an error, not UB.
    if unsafe { libc::clock_gettime(clock, &mut time) } != 0 {
        return 0;
    }
    time.tv_sec as u64 * 1_000_000_000 + time.tv_nsec as u64
}

#[derive(Clone, Copy)]
struct Sample {
    at: Instant,
    cpu: CpuTicks,
    flusher_ns: u64,
}

impl ProcRoom {
    pub fn new(flusher_threads: FlusherThreads) -> ProcRoom {
        let mut room = ProcRoom { flusher_threads, last: None };
        room.last = room.sample();
        room
    }

    fn sample(&self) -> Option<Sample> {
        let text = std::fs::read_to_string("/proc/stat").ok()?;
        Some(Sample { at: Instant::now(), cpu: CpuTicks::parse(&text)?, flusher_ns: self.flusher_threads.cpu_ns() })
    }
}

impl Room for ProcRoom {
    fn left_over(&mut self) -> Option<f64> {
        let now = self.sample()?;
        self.last.replace(now)?.left_over_until(&now)
    }
}

impl Sample {
    /// Cores left over from this sample to `now`: idle, or used by the flusher.
    fn left_over_until(&self, now: &Sample) -> Option<f64> {
        let wall_ns = now.at.duration_since(self.at).as_nanos() as f64;
        let idle = now.cpu.idle_cores_since(&self.cpu)?;
        let flusher = now.flusher_ns.saturating_sub(self.flusher_ns) as f64 / wall_ns.max(1.0);
        Some(idle + flusher)
    }
}

/// The machine's CPU time so far, from the `cpu` line of `/proc/stat`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CpuTicks {
    idle: u64,
    total: u64,
    cpus: usize,
}

impl CpuTicks {
    /// Reads the summary line (`cpu  user nice system idle iowait irq softirq steal ...`)
    /// and counts the `cpuN` lines.
    pub fn parse(text: &str) -> Option<CpuTicks> {
        let mut lines = text.lines();
        let summary = lines.next()?.strip_prefix("cpu ")?;
        let ticks: Vec<u64> = summary.split_whitespace().map(str::parse).collect::<Result<_, _>>().ok()?;
        // user nice system idle iowait irq softirq steal; guest time is already in user.
        let counted = ticks.get(..8).unwrap_or(&ticks);
        let idle = ticks.get(3)? + ticks.get(4).unwrap_or(&0);
        let cpus = lines.filter(|line| line.starts_with("cpu")).count();
        (cpus > 0).then(|| CpuTicks { idle, total: counted.iter().sum(), cpus })
    }

    /// Idle cores on average from `earlier` to now.
    pub fn idle_cores_since(&self, earlier: &CpuTicks) -> Option<f64> {
        let total = self.total.checked_sub(earlier.total).filter(|&t| t > 0)?;
        let idle = self.idle.saturating_sub(earlier.idle);
        Some(idle as f64 / total as f64 * self.cpus as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BUSY: &str =
        "cpu  1000 0 200 500 100 0 0 0 0 0\ncpu0 500 0 100 250 50 0 0 0 0 0\ncpu1 500 0 100 250 50 0 0 0 0 0\nintr 1\n";
    // 400 ticks later on two cores: 340 busy, 60 idle.
    const LATER: &str =
        "cpu  1300 0 240 550 110 0 0 0 0 0\ncpu0 650 0 120 275 55 0 0 0 0 0\ncpu1 650 0 120 275 55 0 0 0 0 0\nintr 1\n";

    #[test]
    fn idle_cores_are_the_idle_share_of_the_ticks_times_the_cores() {
        let earlier = CpuTicks::parse(BUSY).unwrap();
        assert_eq!(earlier, CpuTicks { idle: 600, total: 1800, cpus: 2 });
        let later = CpuTicks::parse(LATER).unwrap();
        let idle = later.idle_cores_since(&earlier).unwrap();
        assert!((idle - 0.3).abs() < 1e-9, "{idle}");
        assert_eq!(earlier.idle_cores_since(&earlier), None, "no time has passed");
    }

    #[test]
    fn a_stat_without_the_summary_line_is_unknown() {
        assert_eq!(CpuTicks::parse(""), None);
        assert_eq!(CpuTicks::parse("intr 1\n"), None);
        assert_eq!(CpuTicks::parse("cpu  x y\ncpu0 1 2\n"), None);
    }

    #[test]
    fn the_flusher_threads_own_cpu_counts_as_left_over() {
        let at = Instant::now();
        let earlier = Sample { at, cpu: CpuTicks::parse(BUSY).unwrap(), flusher_ns: 1_000_000_000 };
        // 400 ms later, during which the flusher used 200 ms of CPU.
        let later = Sample {
            at: at + std::time::Duration::from_millis(400),
            cpu: CpuTicks::parse(LATER).unwrap(),
            flusher_ns: 1_200_000_000,
        };
        let left = earlier.left_over_until(&later).unwrap();
        assert!((left - 0.8).abs() < 1e-9, "0.3 idle and 0.5 used by the flusher: {left}");
    }

    #[test]
    fn a_registered_thread_s_cpu_time_is_read() {
        let threads = FlusherThreads::default();
        let read = std::thread::spawn(move || {
            threads.register_current();
            let own = || thread_cpu_ns(libc::CLOCK_THREAD_CPUTIME_ID);
            let mut spins = 0u64;
            while own() < 50_000_000 {
                spins = std::hint::black_box(spins + 1);
            }
            // Read while the thread lives: a finished thread's clock is gone.
            threads.cpu_ns()
        });
        assert!(read.join().unwrap() >= 50_000_000);
    }

    #[test]
    fn the_room_is_known_on_linux() {
        let mut room = ProcRoom::new(FlusherThreads::default());
        std::thread::sleep(std::time::Duration::from_millis(50));
        let left = room.left_over().expect("/proc/stat is readable");
        let stat = std::fs::read_to_string("/proc/stat").unwrap();
        let cpus = stat.lines().filter(|line| line.starts_with("cpu") && !line.starts_with("cpu ")).count();
        // Nothing registered: only idle time, which no more cores than the machine has can leave.
        assert!((0.0..=cpus as f64 + 1e-9).contains(&left), "{left} of {cpus} cores");
    }
}
