//! The state folder of one engine, and everything that must not outlive it.
//!
//! An engine's folder (`run/<test pid>-<n>-<label>` in the lab) holds dockerd's data
//! root, exec root, socket and log, plus two bookkeeping files: `owner`, the test
//! process, and `pids`, every process the engine started (namespace holders, the
//! `unshare` that runs dockerd, dockerd). Containers get the cgroup parent
//! `/nfdoctor-lab-<name>`. So whoever removes the folder — the engine itself, or the
//! next test run after this one was killed — knows exactly what to kill and which
//! cgroups to delete. Processes are named by pid *and* start time, so a recycled pid is
//! never killed.

use super::lab::Lab;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::sleep;
use std::time::{Duration, Instant};

#[derive(Debug)]
pub struct RunDir {
    path: PathBuf,
}

impl RunDir {
    /// A new, empty folder owned by this test process.
    pub fn create(lab: &Lab, label: &str) -> RunDir {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let name = format!(
            "{}-{}-{label}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let path = lab.run_dir().join(name);
        let _ = fs::remove_dir_all(&path); // a leftover of a recycled test pid
        fs::create_dir_all(&path)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", path.display()));
        let me = std::process::id();
        fs::write(
            path.join("owner"),
            format!("{me} {}\n", start_time(me).unwrap_or(0)),
        )
        .unwrap_or_else(|e| panic!("cannot write to {}: {e}", path.display()));
        RunDir { path }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The cgroup parent of this engine's containers.
    pub fn cgroup_parent(&self) -> String {
        format!(
            "/nfdoctor-lab-{}",
            self.path.file_name().unwrap_or_default().to_string_lossy()
        )
    }

    /// Records a process this engine started, for clean-up.
    pub fn own(&self, pid: u32) {
        let Some(start) = start_time(pid) else { return }; // already gone
        fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.path.join("pids"))
            .and_then(|mut f| writeln!(f, "{pid} {start}"))
            .unwrap_or_else(|e| panic!("cannot record pid in {}: {e}", self.path.display()));
    }

    /// Kills what is left of the recorded processes, deletes the containers' cgroups
    /// and removes the folder. The processes' mounts need nothing: they were all made
    /// in the engine's private mount namespace, which is gone with its processes.
    pub fn remove(&self) -> Result<(), String> {
        let pids = fs::read_to_string(self.path.join("pids")).unwrap_or_default();
        let alive: Vec<u32> = pids.lines().filter_map(still_running).collect();
        if !alive.is_empty() {
            let _ = Command::new("kill")
                .arg("-KILL")
                .args(alive.iter().map(u32::to_string))
                .output();
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        while pids.lines().any(|l| still_running(l).is_some()) && Instant::now() < deadline {
            sleep(Duration::from_millis(20));
        }
        let mut errors = Vec::new();
        if let Some(pid) = pids.lines().find_map(still_running) {
            errors.push(format!("process {pid} survived SIGKILL"));
        }
        for mount in cgroup_mounts() {
            let dir = mount.join(self.cgroup_parent().trim_start_matches('/'));
            if dir.exists() {
                if let Err(e) = remove_cgroup_tree(&dir) {
                    errors.push(format!("cannot remove cgroup {}: {e}", dir.display()));
                }
            }
        }
        if let Err(e) = fs::remove_dir_all(&self.path) {
            if e.kind() != std::io::ErrorKind::NotFound {
                errors.push(format!("cannot remove {}: {e}", self.path.display()));
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors.join("; "))
        }
    }

    /// Removes the folders of engines whose test process is gone (killed mid-run).
    pub fn sweep_stale(lab: &Lab) {
        let Ok(entries) = fs::read_dir(lab.run_dir()) else {
            return;
        };
        for entry in entries.flatten() {
            let owner = fs::read_to_string(entry.path().join("owner")).unwrap_or_default();
            if still_running(owner.trim()).is_none() {
                let stale = RunDir { path: entry.path() };
                // Straight to stderr: libtest captures eprintln! of passing tests.
                let _ = match stale.remove() {
                    Ok(()) => writeln!(
                        std::io::stderr(),
                        "lab: cleaned up after a killed run: {}",
                        entry.path().display()
                    ),
                    Err(e) => writeln!(
                        std::io::stderr(),
                        "lab: cannot clean up {}: {e}",
                        entry.path().display()
                    ),
                };
            }
        }
    }
}

/// The start time of a process (field 22 of /proc/PID/stat), None when it is gone or
/// a zombie.
fn start_time(pid: u32) -> Option<u64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    if fields.first() == Some(&"Z") {
        return None;
    }
    fields.get(19)?.parse().ok()
}

/// The pid of a `"PID START"` record if that very process still runs.
fn still_running(record: &str) -> Option<u32> {
    let (pid, start) = record.split_once(' ')?;
    let pid: u32 = pid.parse().ok()?;
    (start_time(pid)? == start.parse::<u64>().ok()?).then_some(pid)
}

/// Mount points of the cgroup (v1 and v2) hierarchies.
fn cgroup_mounts() -> Vec<PathBuf> {
    let info = fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    info.lines()
        .filter_map(|line| {
            let (mount, fs_type) = line.split_once(" - ")?;
            let fs_type = fs_type.split_whitespace().next()?;
            let mount_point = mount.split_whitespace().nth(4)?;
            matches!(fs_type, "cgroup" | "cgroup2").then(|| PathBuf::from(mount_point))
        })
        .collect()
}

/// Deletes a cgroup and its children, deepest first (cgroup folders are deleted with
/// rmdir; their files go with them). Killed tasks can take a moment to leave.
fn remove_cgroup_tree(dir: &Path) -> std::io::Result<()> {
    for entry in fs::read_dir(dir)?.flatten() {
        if entry.file_type()?.is_dir() {
            remove_cgroup_tree(&entry.path())?;
        }
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match fs::remove_dir(dir) {
            Err(e) if e.raw_os_error() == Some(16 /* EBUSY */) && Instant::now() < deadline => {
                sleep(Duration::from_millis(20))
            }
            result => return result,
        }
    }
}
