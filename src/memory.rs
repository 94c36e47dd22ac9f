//! Running out of memory ends the run with one `error:` line and exit
//! status 1 — never an abort with a backtrace — and removes the temporary
//! files being written. The global allocator is the system's, with this
//! one check on failure; the failure path allocates nothing.

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::Write;

/// The system allocator, reporting failure as an error line.
pub(crate) struct Guarded;

#[global_allocator]
static GLOBAL: Guarded = Guarded;

/// Writes `n` in decimal into `buf`; returns the digits.
fn digits(mut n: usize, buf: &mut [u8; 20]) -> &[u8] {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            return &buf[i..];
        }
    }
}

#[cold]
fn out_of_memory(size: usize) -> ! {
    let mut buf = [0u8; 20];
    let mut err = std::io::stderr().lock();
    let _ = err.write_all(b"error: out of memory: could not allocate ");
    let _ = err.write_all(digits(size >> 20, &mut buf));
    let _ = err.write_all(
        b" MiB more; the input is too large for this machine's memory (or its limit): \
          use a smaller --batch-rows, split the file, or run where more memory is free\n",
    );
    crate::output::remove_live_temporaries();
    std::process::exit(1)
}

// SAFETY: every call is passed to the system allocator unchanged; only a
// null result (failure) is handled, by ending the process.
unsafe impl GlobalAlloc for Guarded {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract is forwarded.
        let p = unsafe { System.alloc(layout) };
        if p.is_null() {
            out_of_memory(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract is forwarded.
        let p = unsafe { System.alloc_zeroed(layout) };
        if p.is_null() {
            out_of_memory(layout.size());
        }
        p
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller's contract is forwarded.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if p.is_null() {
            out_of_memory(new_size);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract is forwarded.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn sizes_are_written_in_decimal() {
        let mut buf = [0u8; 20];
        assert_eq!(super::digits(0, &mut buf), b"0");
        assert_eq!(super::digits(1234567, &mut buf), b"1234567");
        assert_eq!(
            super::digits(usize::MAX, &mut buf),
            usize::MAX.to_string().as_bytes()
        );
    }
}
