//! The `nfdoctor` binary: everything lives in the library; this only sets up
//! the allocator and runs it.

fn main() {
    grow_heap_in_large_steps();
    std::process::exit(nfdoctor::cli::main());
}

/// glibc grows a thread's heap 128 KiB at a time, one `mprotect` each: a
/// `fix` on a host with 10k published ports made 3,220 of them (about 12 ms
/// of CPU, in the read that decides how long it takes). Asking for 64 MiB
/// of slack per growth makes it a few dozen. Pages still count only once
/// touched; and a short-lived command has no use for handing freed memory
/// back early.
fn grow_heap_in_large_steps() {
    #[cfg(target_env = "gnu")]
    {
        const TOP_PAD: libc::c_int = 64 << 20;
        // SAFETY: mallopt only sets an allocator parameter; it is called
        // before any other thread exists, and a refusal (0) leaves the
        // default in place, which is correct, only slower.
        unsafe {
            libc::mallopt(libc::M_TOP_PAD, TOP_PAD);
        }
    }
}
