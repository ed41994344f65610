//! `ferrolb-pause`: the process of every pod sandbox on the real cluster (containerd's
//! `sandbox_image`). It holds the pod's namespaces open and does nothing else: it sleeps until
//! SIGTERM or SIGINT ends it, and reaps any child handed to it, since it may be PID 1 of the
//! pod's PID namespace, where unhandled signals are ignored and orphans are re-parented.
#![allow(unsafe_code)]

extern "C" fn stop(_signal: libc::c_int) {
    // SAFETY: _exit is async-signal-safe.
    unsafe { libc::_exit(0) }
}

extern "C" fn reap(_signal: libc::c_int) {
    // SAFETY: waitpid is async-signal-safe; a null status pointer is allowed.
    while unsafe { libc::waitpid(-1, std::ptr::null_mut(), libc::WNOHANG) } > 0 {}
}

fn main() {
    let handlers: [(libc::c_int, extern "C" fn(libc::c_int)); 3] = [
        (libc::SIGTERM, stop),
        (libc::SIGINT, stop),
        (libc::SIGCHLD, reap),
    ];
    for (signal, handler) in handlers {
        // SAFETY: the handlers only call async-signal-safe functions.
        unsafe { libc::signal(signal, handler as libc::sighandler_t) };
    }
    loop {
        // SAFETY: pause has no preconditions; it returns after each handled signal.
        unsafe { libc::pause() };
    }
}
