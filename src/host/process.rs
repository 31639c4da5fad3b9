//! Processes, read from `/proc/PID/{comm,cmdline,status,ns/net}`.

use super::root::HostRoot;
use serde::Serialize;

/// One process as the probes see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Process {
    pub pid: u32,
    /// `/proc/PID/comm` (at most 15 bytes, set by the kernel from the
    /// executable's name).
    pub comm: String,
    /// `/proc/PID/cmdline`, split at NULs.
    pub argv: Vec<String>,
    /// Effective uid, from `/proc/PID/status`.
    pub uid: Option<u32>,
    pub ppid: Option<u32>,
    /// The network namespace link (`net:[4026531840]`), when readable.
    pub netns: Option<String>,
}

impl Process {
    /// The executable's base name from `argv[0]`, else `comm`.
    pub fn program(&self) -> &str {
        self.argv
            .first()
            .map(|a| a.rsplit('/').next().unwrap_or(a))
            .filter(|a| !a.is_empty())
            .unwrap_or(&self.comm)
    }
}

/// Numeric entries of `/proc`, ascending.
pub fn pids(root: &HostRoot) -> Vec<u32> {
    let mut pids: Vec<u32> = root
        .read_dir_names("/proc")
        .unwrap_or_default()
        .iter()
        .filter_map(|n| n.parse().ok())
        .collect();
    pids.sort_unstable();
    pids
}

/// Reads one process; `None` when it has gone (or never existed).
pub fn read_process(root: &HostRoot, pid: u32) -> Option<Process> {
    read_names(root, pid).map(|p| read_details(root, p))
}

/// A process's `comm` and `argv` only, what tells which program it is.
fn read_names(root: &HostRoot, pid: u32) -> Option<Process> {
    let dir = format!("/proc/{pid}");
    let comm = root.read_value(format!("{dir}/comm")).ok()?;
    let argv = root
        .read_bytes_limited(format!("{dir}/cmdline"), 1 << 20)
        .map(|(b, _)| split_nul(&b))
        .unwrap_or_default();
    Some(Process {
        pid,
        comm,
        argv,
        uid: None,
        ppid: None,
        netns: None,
    })
}

/// The rest of a process read by [`read_names`]: uid, parent, netns.
fn read_details(root: &HostRoot, mut p: Process) -> Process {
    let dir = format!("/proc/{}", p.pid);
    let status = root
        .read_string(format!("{dir}/status"))
        .unwrap_or_default();
    let field = |name: &str, index: usize| -> Option<u32> {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().nth(index))
            .and_then(|v| v.parse().ok())
    };
    p.uid = field("Uid:", 1);
    p.ppid = field("PPid:", 0);
    p.netns = root
        .read_link(format!("{dir}/ns/net"))
        .ok()
        .map(|l| l.to_string_lossy().into_owned());
    p
}

/// Every process whose `comm` or program name satisfies `pred` (which
/// sees `comm` and `argv` only: the rest is read for the processes it
/// picks, as a host runs hundreds of others).
pub fn find_processes(root: &HostRoot, pred: impl Fn(&Process) -> bool) -> Vec<Process> {
    pids(root)
        .into_iter()
        .filter_map(|pid| read_names(root, pid))
        .filter(|p| pred(p))
        .map(|p| read_details(root, p))
        .collect()
}

/// The netns link of the calling thread (`/proc/thread-self/ns/net`, which
/// follows `setns` in any thread; `/proc/self` shows the main thread's).
pub fn own_netns(root: &HostRoot) -> Option<String> {
    root.read_link("/proc/thread-self/ns/net")
        .or_else(|_| root.read_link("/proc/self/ns/net"))
        .ok()
        .map(|p| p.to_string_lossy().into_owned())
}

fn split_nul(bytes: &[u8]) -> Vec<String> {
    let bytes = bytes.strip_suffix(&[0]).unwrap_or(bytes);
    if bytes.is_empty() {
        return Vec::new();
    }
    bytes
        .split(|&b| b == 0)
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::root::testing::FakeTree;
    use super::*;

    #[test]
    fn reads_fake_processes() {
        let t = FakeTree::new();
        t.process(42, "dockerd", &["/usr/bin/dockerd", "-H", "fd://"], 0)
            .link("/proc/42/ns/net", "net:[4026531840]")
            .file("/proc/43/comm", "kworker\n")
            .dir("/proc/sys");
        let r = t.root();
        assert_eq!(pids(&r), vec![42, 43]);
        let p = read_process(&r, 42).unwrap();
        assert_eq!(p.argv, ["/usr/bin/dockerd", "-H", "fd://"]);
        assert_eq!(p.program(), "dockerd");
        assert_eq!(p.uid, Some(0));
        assert_eq!(p.ppid, Some(1));
        assert_eq!(p.netns.as_deref(), Some("net:[4026531840]"));
        let k = read_process(&r, 43).unwrap();
        assert!(k.argv.is_empty());
        assert_eq!(k.program(), "kworker");
        assert!(read_process(&r, 44).is_none());
        // What the search picks is read whole; the others only by name.
        let found = find_processes(&r, |p| p.comm == "dockerd");
        assert_eq!(found, vec![p]);
        assert!(find_processes(&r, |p| p.uid.is_some()).is_empty());
    }
}
