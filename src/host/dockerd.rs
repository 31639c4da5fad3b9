//! dockerd as configured and as running: its processes and command-line
//! flags (`/proc/PID/cmdline`), `daemon.json` (with the parse error's
//! position, as dockerd would refuse it), the `docker.service` unit and its
//! drop-ins, and the settings that decide Docker's rules. Read only.

use super::process::{find_processes, own_netns, Process};
use super::root::HostRoot;
use serde::Serialize;
use std::collections::BTreeMap;

/// The default daemon.json of a rootful daemon.
pub const DEFAULT_DAEMON_JSON: &str = "/etc/docker/daemon.json";

/// The rule-affecting flags dockerd was given.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DaemonFlags {
    pub iptables: Option<bool>,
    pub ip6tables: Option<bool>,
    pub userland_proxy: Option<bool>,
    pub ip_forward: Option<bool>,
    pub ip_masq: Option<bool>,
    pub firewall_backend: Option<String>,
    pub config_file: Option<String>,
    pub bridge: Option<String>,
    pub rootless: Option<bool>,
    /// Flags with values dockerd would reject (`--iptables=maybe`).
    pub errors: Vec<String>,
}

impl DaemonFlags {
    /// `(daemon.json key, value)` of every flag that was set.
    pub fn set_keys(&self) -> Vec<(&'static str, String)> {
        let mut v = Vec::new();
        let b = |x: &Option<bool>| x.map(|x| x.to_string());
        for (k, val) in [
            ("iptables", b(&self.iptables)),
            ("ip6tables", b(&self.ip6tables)),
            ("userland-proxy", b(&self.userland_proxy)),
            ("ip-forward", b(&self.ip_forward)),
            ("ip-masq", b(&self.ip_masq)),
            ("firewall-backend", self.firewall_backend.clone()),
            ("bridge", self.bridge.clone()),
        ] {
            if let Some(val) = val {
                v.push((k, val));
            }
        }
        v
    }
}

/// Go's `strconv.ParseBool`, which pflag uses for `--flag=value`.
fn parse_go_bool(v: &str) -> Option<bool> {
    match v {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// Parses dockerd's arguments (argv without or with the program name) the
/// way pflag does for the flags that matter here: booleans only as
/// `--flag` or `--flag=value`, strings as `--flag=value` or `--flag value`.
pub fn parse_flags(args: &[String]) -> DaemonFlags {
    let mut f = DaemonFlags::default();
    let mut i = 0;
    while i < args.len() {
        let arg = &args[i];
        i += 1;
        if arg == "--" {
            break;
        }
        let (name, inline) = match arg.strip_prefix("--") {
            Some(rest) => match rest.split_once('=') {
                Some((n, v)) => (n.to_string(), Some(v.to_string())),
                None => (rest.to_string(), None),
            },
            None => match arg.as_str() {
                "-b" => ("bridge".to_string(), None),
                a if a.starts_with("-b=") => ("bridge".to_string(), Some(a[3..].to_string())),
                _ => continue,
            },
        };
        let mut boolean = |slot: &mut Option<bool>| match &inline {
            None => *slot = Some(true),
            Some(v) => match parse_go_bool(v) {
                Some(b) => *slot = Some(b),
                None => f.errors.push(format!(
                    "invalid argument \"{v}\" for \"--{name}\" flag: parse error"
                )),
            },
        };
        match name.as_str() {
            "iptables" => boolean(&mut f.iptables),
            "ip6tables" => boolean(&mut f.ip6tables),
            "userland-proxy" => boolean(&mut f.userland_proxy),
            "ip-forward" => boolean(&mut f.ip_forward),
            "ip-masq" => boolean(&mut f.ip_masq),
            "rootless" => boolean(&mut f.rootless),
            "firewall-backend" | "config-file" | "bridge" => {
                let value = match inline {
                    Some(v) => Some(v),
                    None if i < args.len() => {
                        i += 1;
                        Some(args[i - 1].clone())
                    }
                    None => {
                        f.errors.push(format!("flag needs an argument: --{name}"));
                        None
                    }
                };
                match name.as_str() {
                    "firewall-backend" => f.firewall_backend = value,
                    "config-file" => f.config_file = value,
                    _ => f.bridge = value,
                }
            }
            _ => {}
        }
    }
    f
}

/// A daemon.json parse failure, with its position.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JsonError {
    pub line: usize,
    pub column: usize,
    pub message: String,
    /// What dockerd prints when it refuses the file.
    pub docker_message: String,
}

/// One daemon.json file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DaemonJson {
    pub path: String,
    pub present: bool,
    /// Unreadable (permissions, a directory, …).
    pub read_error: Option<String>,
    /// Not valid JSON (or not an object): dockerd will not start.
    pub parse_error: Option<JsonError>,
    pub iptables: Option<bool>,
    pub ip6tables: Option<bool>,
    pub ip_forward: Option<bool>,
    pub ip_masq: Option<bool>,
    pub userland_proxy: Option<bool>,
    pub firewall_backend: Option<String>,
    pub bridge: Option<String>,
    /// Keys present with the wrong JSON type (dockerd refuses those too).
    pub type_errors: Vec<String>,
    /// Every top-level key, for reference.
    pub keys: Vec<String>,
}

impl DaemonJson {
    fn value_of(&self, key: &str) -> Option<String> {
        let b = |x: Option<bool>| x.map(|x| x.to_string());
        match key {
            "iptables" => b(self.iptables),
            "ip6tables" => b(self.ip6tables),
            "ip-forward" => b(self.ip_forward),
            "ip-masq" => b(self.ip_masq),
            "userland-proxy" => b(self.userland_proxy),
            "firewall-backend" => self.firewall_backend.clone(),
            "bridge" => self.bridge.clone(),
            _ => None,
        }
    }
}

/// Parses daemon.json text.
pub fn parse_daemon_json(path: &str, text: &str) -> DaemonJson {
    let mut d = DaemonJson {
        path: path.to_string(),
        present: true,
        ..DaemonJson::default()
    };
    // dockerd accepts an empty (or blank) file as "no settings".
    if text.trim().is_empty() {
        return d;
    }
    let value: serde_json::Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => {
            let full = e.to_string();
            let suffix = format!(" at line {} column {}", e.line(), e.column());
            let message = full.strip_suffix(&suffix).unwrap_or(&full).to_string();
            // serde_json says "column 0" when the error is seen at a newline:
            // point at the end of the line before instead.
            let (line, column) = match (e.line(), e.column()) {
                (l, 0) if l > 1 => {
                    let prev = text.lines().nth(l - 2).unwrap_or("");
                    (l - 1, prev.chars().count() + 1)
                }
                (l, c) => (l, c),
            };
            d.parse_error = Some(JsonError {
                line,
                column,
                docker_message: format!(
                    "unable to configure the Docker daemon with file {path}: {message}"
                ),
                message,
            });
            return d;
        }
    };
    let Some(obj) = value.as_object() else {
        d.parse_error = Some(JsonError {
            line: 1,
            column: 1,
            message: "the top level is not a JSON object".into(),
            docker_message: format!(
                "unable to configure the Docker daemon with file {path}: json: cannot unmarshal into a configuration object"
            ),
        });
        return d;
    };
    d.keys = obj.keys().cloned().collect();
    let boolean = |key: &str, errs: &mut Vec<String>| -> Option<bool> {
        match obj.get(key)? {
            serde_json::Value::Bool(b) => Some(*b),
            other => {
                errs.push(format!("\"{key}\" must be true or false, found {other}"));
                None
            }
        }
    };
    let mut errs = Vec::new();
    d.iptables = boolean("iptables", &mut errs);
    d.ip6tables = boolean("ip6tables", &mut errs);
    d.ip_forward = boolean("ip-forward", &mut errs);
    d.ip_masq = boolean("ip-masq", &mut errs);
    d.userland_proxy = boolean("userland-proxy", &mut errs);
    let string = |key: &str, errs: &mut Vec<String>| -> Option<String> {
        match obj.get(key)? {
            serde_json::Value::String(s) => Some(s.clone()),
            other => {
                errs.push(format!("\"{key}\" must be a string, found {other}"));
                None
            }
        }
    };
    d.firewall_backend = string("firewall-backend", &mut errs);
    d.bridge = string("bridge", &mut errs);
    d.type_errors = errs;
    d
}

/// Reads daemon.json at `path` under `root`.
pub fn read_daemon_json(root: &HostRoot, path: &str) -> DaemonJson {
    match root.read_string(path) {
        Ok(text) => parse_daemon_json(path, &text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => DaemonJson {
            path: path.to_string(),
            ..DaemonJson::default()
        },
        Err(e) => DaemonJson {
            path: path.to_string(),
            present: true,
            read_error: Some(e.to_string()),
            ..DaemonJson::default()
        },
    }
}

/// A running dockerd.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DockerdProcess {
    pub pid: u32,
    pub uid: Option<u32>,
    pub argv: Vec<String>,
    pub flags: DaemonFlags,
    pub netns: Option<String>,
    /// In the same network namespace as nfdoctor (its rules are the ones
    /// nfdoctor sees); `None` when either namespace is unreadable.
    pub same_netns: Option<bool>,
    /// Run by a non-root user, with `--rootless`, or under RootlessKit.
    pub rootless: bool,
    /// The daemon.json it reads: `--config-file`, else the default for its
    /// mode (`$XDG_CONFIG_HOME/docker/daemon.json` for rootless).
    pub config_file: String,
    /// `DOCKER_FIREWALL_BACKEND` from its environment (28.2–28.5).
    pub env_firewall_backend: Option<String>,
    /// The `iptables` Docker's iptables back end runs: the first one along
    /// this dockerd's `PATH`, with its symlinks followed (nft or legacy).
    pub iptables: Option<crate::host::alternatives::CommandLink>,
}

fn environ(root: &HostRoot, pid: u32) -> BTreeMap<String, String> {
    root.read_bytes_limited(format!("/proc/{pid}/environ"), 1 << 20)
        .map(|(b, _)| {
            b.split(|&c| c == 0)
                .filter_map(|kv| {
                    let kv = String::from_utf8_lossy(kv);
                    let (k, v) = kv.split_once('=')?;
                    Some((k.to_string(), v.to_string()))
                })
                .collect()
        })
        .unwrap_or_default()
}

fn is_dockerd(p: &Process) -> bool {
    p.comm == "dockerd" || p.program() == "dockerd"
}

/// The default `PATH` of a daemon started without one (systemd's).
const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// The first `iptables` along `path`, resolved through its links.
fn iptables_in_path(
    root: &HostRoot,
    path: Option<&str>,
) -> Option<crate::host::alternatives::CommandLink> {
    path.unwrap_or(DEFAULT_PATH)
        .split(':')
        .filter(|d| d.starts_with('/'))
        .map(|d| format!("{}/iptables", d.trim_end_matches('/')))
        .find(|p| root.exists(std::path::Path::new(p)))
        .map(|p| crate::host::alternatives::resolve_chain(root, &p))
}

pub fn dockerd_processes(root: &HostRoot) -> Vec<DockerdProcess> {
    let ours = own_netns(root);
    let found = find_processes(root, is_dockerd);
    // A child of a dockerd still named dockerd is the daemon forking a
    // command (`iptables`, for one, all the time on a busy host), not a
    // daemon: its environment may already be the command's, or gone. With
    // pids wrapping around, it may even come first.
    let daemons: std::collections::HashSet<u32> = found.iter().map(|p| p.pid).collect();
    found
        .into_iter()
        .filter(|p| !p.ppid.is_some_and(|parent| daemons.contains(&parent)))
        .map(|p| {
            let flags = parse_flags(p.argv.get(1..).unwrap_or_default());
            let env = environ(root, p.pid);
            let rootless = p.uid.is_some_and(|u| u != 0)
                || flags.rootless == Some(true)
                || env.contains_key("ROOTLESSKIT_STATE_DIR");
            let config_file = flags.config_file.clone().unwrap_or_else(|| {
                if rootless {
                    let base = env
                        .get("XDG_CONFIG_HOME")
                        .cloned()
                        .or_else(|| env.get("HOME").map(|h| format!("{h}/.config")))
                        .unwrap_or_else(|| "~/.config".into());
                    format!("{base}/docker/daemon.json")
                } else {
                    DEFAULT_DAEMON_JSON.to_string()
                }
            });
            DockerdProcess {
                pid: p.pid,
                uid: p.uid,
                argv: p.argv.clone(),
                flags,
                same_netns: match (&p.netns, &ours) {
                    (Some(a), Some(b)) => Some(a == b),
                    _ => None,
                },
                netns: p.netns.clone(),
                rootless,
                config_file,
                env_firewall_backend: env.get("DOCKER_FIREWALL_BACKEND").cloned(),
                iptables: iptables_in_path(root, env.get("PATH").map(String::as_str)),
            }
        })
        .collect()
}

/// `docker.service` and its drop-ins.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct UnitReport {
    /// The unit file systemd uses (highest-priority directory).
    pub unit_file: Option<String>,
    /// Drop-ins in the order systemd applies them.
    pub dropins: Vec<String>,
    /// The resulting `ExecStart=` command, split into words.
    pub exec_start: Option<Vec<String>>,
    /// Where that `ExecStart=` came from.
    pub exec_start_from: Option<String>,
    pub flags: Option<DaemonFlags>,
    /// `Environment=` assignments (e.g. `DOCKER_FIREWALL_BACKEND=nftables`).
    pub environment: Vec<String>,
}

const UNIT_DIRS: &[&str] = &[
    "/etc/systemd/system",
    "/run/systemd/system",
    "/usr/local/lib/systemd/system",
    "/usr/lib/systemd/system",
    "/lib/systemd/system",
];

pub fn probe_unit(root: &HostRoot, unit: &str) -> UnitReport {
    let mut r = UnitReport {
        unit_file: UNIT_DIRS
            .iter()
            .map(|d| format!("{d}/{unit}"))
            .find(|p| root.exists(p)),
        ..UnitReport::default()
    };
    // Drop-ins: same file name in a higher-priority directory wins; applied
    // in file-name order.
    let mut by_name: BTreeMap<String, String> = BTreeMap::new();
    for d in UNIT_DIRS.iter().rev() {
        let dir = format!("{d}/{unit}.d");
        for n in root.read_dir_names(&dir).unwrap_or_default() {
            if n.ends_with(".conf") {
                by_name.insert(n.clone(), format!("{dir}/{n}"));
            }
        }
    }
    r.dropins = by_name.into_values().collect();
    let files: Vec<String> = r
        .unit_file
        .iter()
        .chain(r.dropins.iter())
        .cloned()
        .collect();
    for file in files {
        let Ok(text) = root.read_string(&file) else {
            continue;
        };
        for (key, value) in service_assignments(&text) {
            match key.as_str() {
                "ExecStart" if value.is_empty() => {
                    r.exec_start = None;
                    r.exec_start_from = None;
                }
                "ExecStart" => {
                    r.exec_start = Some(split_exec(&value));
                    r.exec_start_from = Some(file.clone());
                }
                "Environment" => r.environment.extend(split_exec(&value)),
                _ => {}
            }
        }
    }
    r.flags = r
        .exec_start
        .as_ref()
        .map(|argv| parse_flags(argv.get(1..).unwrap_or_default()));
    r
}

/// `Key=value` lines of the `[Service]` section, continuations joined.
fn service_assignments(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut in_service = false;
    let mut pending = String::new();
    for raw in text.lines() {
        let line = raw.trim();
        if pending.is_empty() && (line.starts_with('#') || line.starts_with(';')) {
            continue;
        }
        if let Some(cont) = line.strip_suffix('\\') {
            pending.push_str(cont);
            pending.push(' ');
            continue;
        }
        let full = std::mem::take(&mut pending) + line;
        let full = full.trim();
        if full.starts_with('[') {
            in_service = full == "[Service]";
            continue;
        }
        if !in_service {
            continue;
        }
        if let Some((k, v)) = full.split_once('=') {
            out.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    out
}

/// Splits a command line as systemd does (quotes, backslash escapes) and
/// drops the `-@:+!` prefixes of the executable.
pub fn split_exec(value: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (_, '\\') => {
                if let Some(n) = chars.next() {
                    cur.push(n);
                    in_word = true;
                }
            }
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => cur.push(c),
            (None, '"') | (None, '\'') => {
                quote = Some(c);
                in_word = true;
            }
            (None, c) if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            (None, c) => {
                cur.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    if let Some(first) = words.first_mut() {
        *first = first
            .trim_start_matches(['-', '@', ':', '+', '!'])
            .to_string();
    }
    words
}

/// Where a setting's value comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Source {
    Flag,
    DaemonJson,
    Environment,
    Default,
}

/// One effective setting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Setting {
    pub name: String,
    pub value: String,
    pub source: Source,
}

/// The rule-affecting settings of one daemon: flags over daemon.json over
/// defaults (see docker-rules.md §9).
pub fn effective_settings(
    flags: &DaemonFlags,
    json: Option<&DaemonJson>,
    env_backend: Option<&str>,
) -> Vec<Setting> {
    let defaults = [
        ("iptables", "true"),
        ("ip6tables", "true"),
        ("ip-forward", "true"),
        ("ip-masq", "true"),
        ("userland-proxy", "true"),
        ("firewall-backend", "iptables"),
    ];
    let set = flags.set_keys();
    defaults
        .iter()
        .map(|(name, default)| {
            let from_flag = set.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
            let (value, source) = if let Some(v) = from_flag {
                (v, Source::Flag)
            } else if let Some(v) = json.and_then(|j| j.value_of(name)) {
                (v, Source::DaemonJson)
            } else if let (true, Some(v)) = (*name == "firewall-backend", env_backend) {
                (v.to_string(), Source::Environment)
            } else {
                (default.to_string(), Source::Default)
            };
            Setting {
                name: name.to_string(),
                value,
                source,
            }
        })
        .collect()
}

/// Directives set both as a flag and in daemon.json: dockerd refuses to
/// start ("the following directives are specified both as a flag and in
/// the configuration file").
pub fn flag_file_conflicts(flags: &DaemonFlags, json: &DaemonJson) -> Vec<String> {
    flags
        .set_keys()
        .into_iter()
        .filter_map(|(k, flag)| {
            json.value_of(k)
                .map(|file| format!("{k}: (from flag: {flag}, from file: {file})"))
        })
        .collect()
}

/// One dockerd instance (running, or as its unit would start it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DaemonView {
    /// `process PID` or the unit file.
    pub origin: String,
    pub pid: Option<u32>,
    pub rootless: bool,
    pub config: DaemonJson,
    pub settings: Vec<Setting>,
    /// Messages that mean dockerd will not start (or did not).
    pub startup_errors: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DockerdReport {
    pub processes: Vec<DockerdProcess>,
    pub unit: UnitReport,
    /// One view per running daemon, or the unit's (or defaults) when none runs.
    pub daemons: Vec<DaemonView>,
}

pub fn probe_dockerd(root: &HostRoot) -> DockerdReport {
    let processes = dockerd_processes(root);
    let unit = probe_unit(root, "docker.service");
    let view = |origin: String,
                pid: Option<u32>,
                rootless: bool,
                flags: &DaemonFlags,
                config_file: &str,
                env_backend: Option<&str>| {
        let config = read_daemon_json(root, config_file);
        let mut startup_errors = flags.errors.clone();
        if let Some(e) = &config.parse_error {
            startup_errors.push(format!(
                "{} (line {}, column {})",
                e.docker_message, e.line, e.column
            ));
        }
        if let Some(e) = &config.read_error {
            startup_errors.push(format!("cannot read {}: {e}", config.path));
        }
        startup_errors.extend(
            config
                .type_errors
                .iter()
                .map(|e| format!("{}: {e}", config.path)),
        );
        let conflicts = flag_file_conflicts(flags, &config);
        if !conflicts.is_empty() {
            startup_errors.push(format!(
                "the following directives are specified both as a flag and in the configuration file: {}",
                conflicts.join(", ")
            ));
        }
        DaemonView {
            origin,
            pid,
            rootless,
            settings: effective_settings(flags, Some(&config), env_backend),
            config,
            startup_errors,
        }
    };
    let mut daemons: Vec<DaemonView> = processes
        .iter()
        .map(|p| {
            view(
                format!("process {}", p.pid),
                Some(p.pid),
                p.rootless,
                &p.flags,
                &p.config_file,
                p.env_firewall_backend.as_deref(),
            )
        })
        .collect();
    if daemons.is_empty() {
        let flags = unit.flags.clone().unwrap_or_default();
        let file = flags
            .config_file
            .clone()
            .unwrap_or_else(|| DEFAULT_DAEMON_JSON.to_string());
        let env_backend = unit
            .environment
            .iter()
            .find_map(|e| e.strip_prefix("DOCKER_FIREWALL_BACKEND="));
        let origin = unit
            .exec_start_from
            .clone()
            .map(|f| format!("unit {f} (not running)"))
            .unwrap_or_else(|| "defaults (no dockerd running, no unit found)".into());
        daemons.push(view(origin, None, false, &flags, &file, env_backend));
    }
    DockerdReport {
        processes,
        unit,
        daemons,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::root::testing::FakeTree;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn flags_as_pflag_reads_them() {
        let f = parse_flags(&s(&[
            "-H",
            "fd://",
            "--iptables=false",
            "--ip6tables",
            "--userland-proxy=0",
            "--firewall-backend",
            "nftables",
            "--config-file=/srv/d.json",
            "-b",
            "br0",
            "--ip-forward=maybe",
        ]));
        assert_eq!(f.iptables, Some(false));
        assert_eq!(f.ip6tables, Some(true));
        assert_eq!(f.userland_proxy, Some(false));
        assert_eq!(f.firewall_backend.as_deref(), Some("nftables"));
        assert_eq!(f.config_file.as_deref(), Some("/srv/d.json"));
        assert_eq!(f.bridge.as_deref(), Some("br0"));
        assert_eq!(f.ip_forward, None);
        assert_eq!(f.errors.len(), 1);
        assert!(parse_flags(&s(&["--config-file"])).errors[0].contains("needs an argument"));
    }

    #[test]
    fn daemon_json_valid_invalid_and_typed() {
        let d = parse_daemon_json("/etc/docker/daemon.json", "{\n  \"iptables\": false,\n  \"firewall-backend\": \"nftables\",\n  \"ip6tables\": \"yes\"\n}\n");
        assert_eq!(d.iptables, Some(false));
        assert_eq!(d.firewall_backend.as_deref(), Some("nftables"));
        assert_eq!(d.ip6tables, None);
        assert_eq!(d.type_errors.len(), 1);
        assert!(d.parse_error.is_none());

        let d = parse_daemon_json(
            "/etc/docker/daemon.json",
            "{\n  \"iptables\": false,\n  \"bip\": \"172.18.0.1/16\",\n}\n",
        );
        let e = d.parse_error.unwrap();
        assert_eq!((e.line, e.column), (4, 1));
        assert!(e.docker_message.starts_with(
            "unable to configure the Docker daemon with file /etc/docker/daemon.json: trailing comma"
        ), "{}", e.docker_message);

        assert!(parse_daemon_json("x", "  \n").parse_error.is_none());
        assert!(parse_daemon_json("x", "[1]").parse_error.is_some());
        assert!(parse_daemon_json("x", "\u{0}\u{1}garbage")
            .parse_error
            .is_some());
    }

    /// A dockerd forking a command shows as a second dockerd, its child,
    /// whose environment is already gone: the daemon is the parent, even
    /// when the child's pid (wrapped around) comes first.
    #[test]
    fn a_forked_child_of_dockerd_is_not_a_daemon() {
        let t = FakeTree::new();
        t.process(5000, "dockerd", &["/usr/bin/dockerd"], 0)
            .process(300, "dockerd", &["/usr/bin/dockerd"], 0)
            .file(
                "/proc/300/status",
                "Name:\tdockerd\nPPid:\t5000\nUid:\t0\t0\t0\t0\n",
            )
            .file("/proc/5000/environ", "PATH=/lab/legacy:/usr/sbin\0")
            .link("/lab/legacy/iptables", "/usr/sbin/iptables-legacy")
            .file("/usr/sbin/iptables-legacy", "")
            .file("/usr/sbin/iptables", "")
            .link("/proc/5000/ns/net", "net:[4026531840]")
            .link("/proc/300/ns/net", "net:[4026531840]")
            .link("/proc/self/ns/net", "net:[4026531840]");
        let r = probe_dockerd(&t.root());
        let pids: Vec<u32> = r.processes.iter().map(|p| p.pid).collect();
        assert_eq!(pids, [5000]);
        let chain = &r.processes[0].iptables.as_ref().expect("an iptables").chain;
        assert_eq!(
            chain.last().map(String::as_str),
            Some("/usr/sbin/iptables-legacy")
        );
    }

    #[test]
    fn dockerd_with_iptables_false_on_its_command_line() {
        let t = FakeTree::new();
        t.process(
            1234,
            "dockerd",
            &[
                "/usr/bin/dockerd",
                "-H",
                "fd://",
                "--containerd=/run/containerd/containerd.sock",
                "--iptables=false",
            ],
            0,
        )
        .link("/proc/1234/ns/net", "net:[4026531840]")
        .link("/proc/self/ns/net", "net:[4026531840]")
        .file("/etc/docker/daemon.json", "{\"userland-proxy\": false}");
        let r = probe_dockerd(&t.root());
        assert_eq!(r.processes.len(), 1);
        let p = &r.processes[0];
        assert_eq!(p.flags.iptables, Some(false));
        assert!(!p.rootless);
        assert_eq!(p.same_netns, Some(true));
        assert_eq!(p.config_file, DEFAULT_DAEMON_JSON);
        let d = &r.daemons[0];
        assert_eq!(d.pid, Some(1234));
        let get = |n: &str| d.settings.iter().find(|s| s.name == n).unwrap().clone();
        assert_eq!(get("iptables").value, "false");
        assert_eq!(get("iptables").source, Source::Flag);
        assert_eq!(get("userland-proxy").source, Source::DaemonJson);
        assert_eq!(get("ip-masq").source, Source::Default);
        assert!(d.startup_errors.is_empty());
    }

    #[test]
    fn daemon_json_iptables_false_and_conflicts() {
        let t = FakeTree::new();
        t.process(
            77,
            "dockerd",
            &[
                "dockerd",
                "--iptables=true",
                "--config-file",
                "/srv/docker.json",
            ],
            0,
        )
        .file("/srv/docker.json", "{ \"iptables\": false }");
        let r = probe_dockerd(&t.root());
        let d = &r.daemons[0];
        assert_eq!(d.config.path, "/srv/docker.json");
        assert_eq!(d.config.iptables, Some(false));
        assert!(d.startup_errors[0].contains("both as a flag and in the configuration file: iptables: (from flag: true, from file: false)"));
    }

    #[test]
    fn broken_daemon_json_is_a_startup_error_with_position() {
        let t = FakeTree::new();
        t.file("/etc/docker/daemon.json", "{\n \"iptables\": fals\n}");
        let r = probe_dockerd(&t.root());
        assert!(r.processes.is_empty());
        let d = &r.daemons[0];
        assert!(d.origin.starts_with("defaults"));
        assert!(
            d.startup_errors[0].ends_with("daemon.json: expected ident (line 2, column 18)"),
            "{:?}",
            d.startup_errors
        );
    }

    #[test]
    fn rootless_dockerd_uses_its_users_config() {
        let t = FakeTree::new();
        t.process(900, "dockerd", &["dockerd"], 1000).file(
            "/proc/900/environ",
            "HOME=/home/u\0ROOTLESSKIT_STATE_DIR=/run/user/1000/dockerd-rootless\0DOCKER_FIREWALL_BACKEND=nftables\0",
        );
        let r = probe_dockerd(&t.root());
        let p = &r.processes[0];
        assert!(p.rootless);
        assert_eq!(p.config_file, "/home/u/.config/docker/daemon.json");
        let fb = r.daemons[0]
            .settings
            .iter()
            .find(|s| s.name == "firewall-backend")
            .unwrap();
        assert_eq!(
            (fb.value.as_str(), fb.source),
            ("nftables", Source::Environment)
        );
    }

    #[test]
    fn unit_files_and_dropins() {
        let t = FakeTree::new();
        t.file(
            "/lib/systemd/system/docker.service",
            "[Unit]\nDescription=Docker\n[Service]\nType=notify\nExecStart=/usr/bin/dockerd -H fd:// \\\n  --containerd=/run/containerd/containerd.sock\n",
        )
        .file(
            "/etc/systemd/system/docker.service.d/override.conf",
            "[Service]\n# reset, then replace\nExecStart=\nExecStart=/usr/bin/dockerd --iptables=false --ip6tables=false\nEnvironment=\"DOCKER_FIREWALL_BACKEND=nftables\" FOO=1\n",
        )
        .file("/lib/systemd/system/docker.service.d/override.conf", "[Service]\nExecStart=/masked\n")
        .file("/run/systemd/system/docker.service.d/10-a.conf", "[Service]\nEnvironment=A=1\n");
        let u = probe_unit(&t.root(), "docker.service");
        assert_eq!(
            u.unit_file.as_deref(),
            Some("/lib/systemd/system/docker.service")
        );
        assert_eq!(
            u.dropins,
            [
                "/run/systemd/system/docker.service.d/10-a.conf",
                "/etc/systemd/system/docker.service.d/override.conf"
            ]
        );
        assert_eq!(u.exec_start.as_ref().unwrap()[0], "/usr/bin/dockerd");
        let f = u.flags.as_ref().unwrap();
        assert_eq!((f.iptables, f.ip6tables), (Some(false), Some(false)));
        assert_eq!(
            u.environment,
            ["A=1", "DOCKER_FIREWALL_BACKEND=nftables", "FOO=1"]
        );
        let r = probe_dockerd(&t.root());
        assert!(r.daemons[0].origin.contains("override.conf"));
        let fb = r.daemons[0]
            .settings
            .iter()
            .find(|s| s.name == "firewall-backend")
            .unwrap();
        assert_eq!(fb.source, Source::Environment);
    }

    #[test]
    fn exec_splitting() {
        assert_eq!(
            split_exec("-/usr/bin/dockerd --label \"a b\" 'c d' e\\ f"),
            ["/usr/bin/dockerd", "--label", "a b", "c d", "e f"]
        );
        assert!(split_exec("").is_empty());
    }
}
