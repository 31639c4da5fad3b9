//! Host-level ABI used by the probes: capability numbers
//! (`linux/capability.h`), `finit_module` flags (`linux/module.h`) and the
//! namespace ioctls (`linux/nsfs.h`).

// Capability numbers: bit positions in `/proc/PID/status` `Cap*` masks.
pub const CAP_NET_BIND_SERVICE: u32 = 10;
pub const CAP_NET_ADMIN: u32 = 12;
pub const CAP_NET_RAW: u32 = 13;
pub const CAP_SYS_MODULE: u32 = 16;
pub const CAP_SYS_PTRACE: u32 = 19;
pub const CAP_SYS_ADMIN: u32 = 21;
pub const CAP_LAST_CAP: u32 = 40;

// `finit_module` flags.
pub const MODULE_INIT_IGNORE_MODVERSIONS: u32 = 1;
pub const MODULE_INIT_IGNORE_VERMAGIC: u32 = 2;
pub const MODULE_INIT_COMPRESSED_FILE: u32 = 4;

// ioctls on namespace files (`/proc/PID/ns/*`): `_IO(0xb7, n)`.
pub const NSIO: u32 = 0xb7;
/// Returns a descriptor for the user namespace that owns the namespace.
pub const NS_GET_USERNS: u32 = 0xb701;
/// Returns a descriptor for the parent namespace (user and PID namespaces).
pub const NS_GET_PARENT: u32 = 0xb702;
