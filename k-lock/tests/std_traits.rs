//! `Default`, `From`, `Debug` and `Display` behave like std's.

use k_lock::Mutex;
use std::sync::Arc;
use std::thread;

#[test]
fn default_holds_the_default_value() {
    let m: Mutex<Vec<u8>> = Mutex::default();
    assert!(m.lock().unwrap().is_empty());
}

#[test]
fn from_wraps_the_value() {
    let m = Mutex::from(String::from("hello"));
    assert_eq!(m.into_inner().unwrap(), "hello");
}

#[test]
fn debug_shows_data_when_free() {
    let m = Mutex::new(5);
    assert_eq!(format!("{m:?}"), "Mutex { data: 5, poisoned: false, .. }");
    // Same shape as std's.
    assert_eq!(format!("{m:?}"), format!("{:?}", std::sync::Mutex::new(5)));
}

#[test]
fn debug_shows_locked_when_held() {
    let m = Mutex::new(5);
    let _held = m.lock().unwrap();
    assert_eq!(
        format!("{m:?}"),
        "Mutex { data: <locked>, poisoned: false, .. }"
    );
}

#[test]
fn debug_shows_poisoned() {
    let m = Arc::new(Mutex::new(5));
    let m2 = Arc::clone(&m);
    let _ = thread::spawn(move || {
        let _held = m2.lock().unwrap();
        panic!("poison");
    })
    .join();
    assert_eq!(format!("{m:?}"), "Mutex { data: 5, poisoned: true, .. }");
}

#[test]
fn guard_debug_and_display_forward_to_the_data() {
    let m = Mutex::new(String::from("x\ty"));
    let guard = m.lock().unwrap();
    assert_eq!(format!("{guard:?}"), "\"x\\ty\"");
    assert_eq!(format!("{guard}"), "x\ty");
}

#[test]
fn mutex_is_send_and_sync_like_std() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Mutex<u32>>();
    // `Sync` needs only `T: Send`, as for std.
    send_sync::<Mutex<std::cell::Cell<u32>>>();
}

#[test]
fn mutex_is_unwind_safe_like_std() {
    fn unwind_safe<T: std::panic::UnwindSafe + std::panic::RefUnwindSafe>() {}
    unwind_safe::<Mutex<std::cell::Cell<u32>>>();
}

// Loom's primitives cannot be built in a constant, so `new` is only const
// without it.
#[cfg(not(loom))]
#[test]
fn new_is_const() {
    static GLOBAL: Mutex<u32> = Mutex::new(0);
    *GLOBAL.lock().unwrap() += 1;
    assert_eq!(*GLOBAL.lock().unwrap(), 1);
}
