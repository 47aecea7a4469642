//! CPU time and CPU placement, shared by the rpc and streams benches: the
//! process's CPU time, a thread's CPU-time clock, the CPUs this process may
//! use, and pinning a side's runtime thread to one of them.

use std::fmt;
use std::time::Duration;

/// Process CPU time so far, user + system.
pub(crate) fn cpu_time() -> Duration {
    // SAFETY: an all-zero `rusage` is a valid value of this plain C struct.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `usage` is a valid, writable `rusage` for the call to fill.
    let status = unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    assert_eq!(status, 0, "getrusage");
    let micros = |time: libc::timeval| time.tv_sec as u64 * 1_000_000 + time.tv_usec as u64;
    Duration::from_micros(micros(usage.ru_utime) + micros(usage.ru_stime))
}

/// The calling thread's CPU-time clock, readable from any thread while it lives.
pub(crate) fn this_thread_clock() -> libc::clockid_t {
    let mut clock = 0;
    // SAFETY: `pthread_self` names the calling thread, which is alive, and
    // `clock` is writable.
    let status = unsafe { libc::pthread_getcpuclockid(libc::pthread_self(), &mut clock) };
    assert_eq!(status, 0, "pthread_getcpuclockid");
    clock
}

/// The time on a CPU-time clock.
pub(crate) fn clock_time(clock: libc::clockid_t) -> Duration {
    let mut time = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `time` is a valid, writable `timespec` for the call to fill.
    let status = unsafe { libc::clock_gettime(clock, &mut time) };
    assert_eq!(status, 0, "clock_gettime");
    Duration::new(time.tv_sec as u64, time.tv_nsec as u32)
}

/// The CPUs this process may run on, by number.
pub(crate) fn allowed_cpus() -> Vec<usize> {
    // SAFETY: an all-zero `cpu_set_t` is an empty set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: `set` is a valid, writable `cpu_set_t` of the size passed.
    let status = unsafe { libc::sched_getaffinity(0, std::mem::size_of_val(&set), &mut set) };
    if status != 0 {
        return Vec::new();
    }
    (0..libc::CPU_SETSIZE as usize)
        // SAFETY: `set` was filled by `sched_getaffinity`, and `cpu` is below
        // `CPU_SETSIZE`.
        .filter(|&cpu| unsafe { libc::CPU_ISSET(cpu, &set) })
        .collect()
}

/// Where each side's runtime thread runs: the CPU it is pinned to, if any.
#[derive(Clone, Copy)]
pub(crate) struct Placement {
    name: &'static str,
    /// The server's CPU.
    pub(crate) server: Option<usize>,
    /// The client's CPU.
    pub(crate) client: Option<usize>,
}

impl Placement {
    /// `pinned`: both sides on the first CPU this process may use; `two-cores`:
    /// the server on the first, the client on the second; `free`: no affinity.
    ///
    /// # Panics
    ///
    /// Another name, or `two-cores` with fewer than two CPUs to use.
    pub(crate) fn parse(name: &str) -> Placement {
        let cpus = allowed_cpus();
        let (name, server, client) = match name {
            "pinned" => ("pinned", cpus.first(), cpus.first()),
            "two-cores" => {
                assert!(
                    cpus.len() >= 2,
                    "two-cores needs two CPUs, this process has {cpus:?}"
                );
                ("two-cores", cpus.first(), cpus.get(1))
            }
            "free" => ("free", None, None),
            other => panic!("--placement takes pinned, two-cores or free, not {other}"),
        };
        Placement {
            name,
            server: server.copied(),
            client: client.copied(),
        }
    }
}

impl fmt::Display for Placement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let cpu = |cpu: Option<usize>| cpu.map_or("any CPU".to_owned(), |cpu| format!("CPU {cpu}"));
        write!(
            f,
            "{}: server on {}, client on {}",
            self.name,
            cpu(self.server),
            cpu(self.client)
        )
    }
}

/// Pins the calling thread to `cpu`, if given. Threads it spawns afterwards
/// inherit the mask; called first thing in a child process, that is the whole
/// process.
pub(crate) fn pin(cpu: Option<usize>) {
    let Some(cpu) = cpu else { return };
    // SAFETY: an all-zero `cpu_set_t` is an empty set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: `set` is a valid `cpu_set_t`; `CPU_SET` checks `cpu` against its size.
    unsafe { libc::CPU_SET(cpu, &mut set) };
    // SAFETY: `set` is a valid `cpu_set_t` of the size passed; pid 0 is this thread.
    let status = unsafe { libc::sched_setaffinity(0, std::mem::size_of_val(&set), &set) };
    assert_eq!(status, 0, "sched_setaffinity to CPU {cpu}");
}

/// A current-thread runtime, for a side that runs on one thread.
pub(crate) fn current_thread_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}
