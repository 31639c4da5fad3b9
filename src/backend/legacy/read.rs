//! Reading legacy tables: which exist, and each one's blob decoded.

use super::blob::{decode_table, Hooks};
use super::sockopt::XtKernel;
use crate::backend::BackendError;
use crate::ruleset::{Ruleset, Table};
use crate::Family;

/// `/proc/net/ip_tables_names` or `ip6_tables_names`: the tables this
/// network namespace has instantiated, in the kernel's order (the order
/// iptables-legacy-save prints them in). Empty when legacy support is
/// absent.
pub fn table_names(family: Family) -> Vec<String> {
    x_tables_list(family, "names")
}

/// The lines of `/proc/net/ip{,6}_tables_{what}` (`names`, `matches`,
/// `targets`): what x_tables has for the family. Empty when x_tables is
/// not loaded.
pub fn x_tables_list(family: Family, what: &str) -> Vec<String> {
    let prefix = match family {
        Family::Ipv4 => "ip",
        Family::Ipv6 => "ip6",
    };
    std::fs::read_to_string(format!("/proc/net/{prefix}_tables_{what}"))
        .map(|t| {
            t.lines()
                .map(str::to_string)
                .filter(|l| !l.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

/// A table's entry blob as the kernel gave it, with the hook offsets that
/// give it meaning.
#[derive(Debug, Clone)]
pub struct TableBlob {
    pub name: String,
    pub hooks: Hooks,
    /// The blob, from `start` (the kernel's reply header precedes it).
    buf: Vec<u8>,
    start: usize,
}

impl TableBlob {
    pub fn blob(&self) -> &[u8] {
        self.buf.get(self.start..).unwrap_or_default()
    }
}

/// Fetches one table's blob (GET_INFO, then GET_ENTRIES, again while the
/// table changes in between). The kernel creates a missing built-in table
/// on first access, as iptables-legacy does.
pub fn fetch_table<K: XtKernel>(
    kernel: &mut K,
    family: Family,
    name: &str,
) -> Result<TableBlob, BackendError> {
    let mut attempts = 0;
    loop {
        attempts += 1;
        let info = kernel
            .get_info(name)
            .map_err(|e| BackendError::legacy_io(family, format!("GET_INFO of table {name}"), e))?;
        let (buf, start) = match kernel.get_entries_buf(name, info.size) {
            Ok(b) => b,
            Err(e) if e.raw_os_error() == Some(libc::EAGAIN) && attempts < 10 => continue,
            Err(e) => {
                return Err(BackendError::legacy_io(
                    family,
                    format!("GET_ENTRIES of table {name}"),
                    e,
                ))
            }
        };
        return Ok(TableBlob {
            name: name.to_string(),
            hooks: Hooks {
                valid_hooks: info.valid_hooks,
                hook_entry: info.hook_entry,
                underflow: info.underflow,
            },
            buf,
            start,
        });
    }
}

/// Reads one table. The kernel creates a missing built-in table on first
/// access, as iptables-legacy does.
pub fn read_table<K: XtKernel>(
    kernel: &mut K,
    family: Family,
    name: &str,
) -> Result<Table, BackendError> {
    let t = fetch_table(kernel, family, name)?;
    decode_table(family, name, &t.hooks, t.blob()).map_err(BackendError::from)
}

/// All instantiated tables (or just `only`).
pub fn read_ruleset<K: XtKernel>(
    kernel: &mut K,
    family: Family,
    names: &[String],
) -> Result<Ruleset, BackendError> {
    let mut tables = Vec::new();
    for name in names {
        tables.push(read_table(kernel, family, name)?);
    }
    Ok(Ruleset { family, tables })
}
