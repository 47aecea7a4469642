//! `Mutex<T: ?Sized>`: slices and trait objects behind the lock.

use k_lock::Mutex;
use std::fmt::Debug;
use std::sync::Arc;

#[test]
fn arc_of_array_coerces_to_slice() {
    let m: Arc<Mutex<[u8]>> = Arc::new(Mutex::new([1u8, 2, 3, 4]));
    m.lock().unwrap()[2] = 30;
    assert_eq!(&*m.lock().unwrap(), &[1, 2, 30, 4]);
    assert_eq!(m.lock().unwrap().len(), 4);
}

#[test]
fn box_of_array_coerces_to_slice() {
    let mut m: Box<Mutex<[u8]>> = Box::new(Mutex::new([0u8; 3]));
    m.get_mut().unwrap().copy_from_slice(&[7, 8, 9]);
    assert_eq!(&*m.try_lock().unwrap(), &[7, 8, 9]);
    assert_eq!(
        format!("{m:?}"),
        "Mutex { data: [7, 8, 9], poisoned: false, .. }"
    );
}

#[test]
fn trait_object_behind_the_lock() {
    let m: Box<Mutex<dyn Debug + Send>> = Box::new(Mutex::new(42u64));
    assert_eq!(format!("{:?}", &*m.lock().unwrap()), "42");
}
