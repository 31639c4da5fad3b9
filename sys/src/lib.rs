//! Linux kernel ABI used by nfdoctor: `#[repr(C)]` structs and constants for
//! netlink, nfnetlink, nf_tables, x_tables, ip_tables, ip6_tables and the xt
//! extension payloads, rtnetlink links and addresses, and the few host-level
//! numbers the probes use (capabilities, module flags, nsfs ioctls). No I/O
//! lives here.
//!
//! Names follow the kernel's UAPI headers (pinned in `vendor/linux-uapi`) so
//! every item can be checked against its C definition; the layout test in
//! `tests/sys_layout.rs` compiles a C probe against those headers and compares
//! every struct's size and field offsets with the ones below.
//!
//! Structs carry explicit padding fields (`_pad*`) wherever C has implicit
//! padding, so that viewing them as bytes never reads uninitialised memory.

#![no_std]
#![allow(non_camel_case_types)]

pub mod host;
pub mod ip6_tables;
pub mod ip_tables;
pub mod ipset;
pub mod netfilter;
pub mod netlink;
pub mod nf_tables;
pub mod nfnetlink;
pub mod rtnetlink;
pub mod x_tables;
pub mod xt;

use core::mem::size_of;

/// Plain old data: a `#[repr(C)]` struct made only of integers and arrays of
/// integers, with no implicit padding, for which every bit pattern is valid.
///
/// # Safety
/// Implement only for types that satisfy the description above; the default
/// methods read and write such values as raw bytes.
pub unsafe trait Pod: Copy + 'static {
    /// The all-zero value.
    fn zeroed() -> Self {
        // SAFETY: `Pod` types are integers and arrays of integers, for which
        // the all-zero bit pattern is a valid value.
        unsafe { core::mem::zeroed() }
    }

    /// Reads a value from the first `size_of::<Self>()` bytes of `bytes`, or
    /// `None` when `bytes` is shorter than that.
    fn read_from_prefix(bytes: &[u8]) -> Option<Self> {
        if bytes.len() < size_of::<Self>() {
            return None;
        }
        // SAFETY: the length was checked above, `read_unaligned` has no
        // alignment requirement, and every bit pattern is a valid `Self`.
        Some(unsafe { core::ptr::read_unaligned(bytes.as_ptr().cast::<Self>()) })
    }

    /// The value's bytes, exactly as the kernel sees them.
    fn as_bytes(&self) -> &[u8] {
        // SAFETY: `Self` has no implicit padding, so all `size_of::<Self>()`
        // bytes behind the reference are initialised; the slice borrows `self`.
        unsafe {
            core::slice::from_raw_parts((self as *const Self).cast::<u8>(), size_of::<Self>())
        }
    }
}

/// `XT_ALIGN`: x_tables rounds every match, target and entry to the alignment
/// of `struct _xt_align` (u8, u16, u32, u64), which is 8 on every Linux ABI
/// nfdoctor supports.
pub const XT_ALIGN_TO: usize = 8;

/// Rounds `len` up to [`XT_ALIGN_TO`].
pub const fn xt_align(len: usize) -> usize {
    (len + XT_ALIGN_TO - 1) & !(XT_ALIGN_TO - 1)
}

/// `NLA_ALIGN` / `NLMSG_ALIGN`: netlink pads headers and attributes to 4 bytes.
pub const fn nl_align(len: usize) -> usize {
    (len + 3) & !3
}

/// Copies `name` into a fixed, NUL-padded C name field; `None` when it does
/// not fit with its terminating NUL.
pub fn c_name<const N: usize>(name: &str) -> Option<[u8; N]> {
    let bytes = name.as_bytes();
    if bytes.len() >= N || bytes.contains(&0) {
        return None;
    }
    let mut out = [0u8; N];
    out[..bytes.len()].copy_from_slice(bytes);
    Some(out)
}

/// The bytes of a NUL-padded C name field up to its first NUL.
pub fn c_name_bytes(field: &[u8]) -> &[u8] {
    let end = field.iter().position(|&b| b == 0).unwrap_or(field.len());
    &field[..end]
}
