//! ronn-sys against a real libronn: with `bundled` (the engine compiled in) or
//! `system` (an installed libronn.so; CI runs this with
//! `RONN_LIB_DIR=target/release --no-default-features --features system`).
//! Loads the embedded digits model, runs it blocking and async, and checks the
//! callback contract's basics through the raw declarations.

use ronn_sys::*;
use std::ffi::{c_char, c_void, CStr, CString};
use std::sync::mpsc;
use std::time::Duration;

const MODEL: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../crates/ronn-cli/assets/digits.onnx");

fn ok(s: ronn_status) {
    if s != RONN_STATUS_OK {
        // SAFETY: the library returns a valid NUL-terminated thread-local message.
        let msg = unsafe { CStr::from_ptr(ronn_last_error_message()) };
        panic!("status {s}: {msg:?}");
    }
}

unsafe extern "C" fn on_done(
    user_data: *mut c_void,
    status: ronn_status,
    _message: *const c_char,
    outputs: *const *mut ronn_tensor,
    n: usize,
) {
    // SAFETY: user_data is the Box'd sender the test passed; taken back exactly once.
    let tx = unsafe { Box::from_raw(user_data as *mut mpsc::Sender<(ronn_status, usize, std::thread::ThreadId)>) };
    for i in 0..n {
        // SAFETY: the callback owns the n output handles.
        unsafe { ronn_tensor_free(*outputs.add(i)) };
    }
    let _ = tx.send((status, n, std::thread::current().id()));
}

#[test]
fn versions_match_the_declarations() {
    // SAFETY: plain calls without arguments.
    unsafe {
        assert_eq!(ronn_api_version(), RONN_API_VERSION);
        let v = CStr::from_ptr(ronn_version()).to_str().unwrap();
        assert_eq!(v, format!("{RONN_VERSION_MAJOR}.{RONN_VERSION_MINOR}.{RONN_VERSION_PATCH}"));
    }
}

#[test]
fn runs_blocking_and_async() {
    let path = CString::new(MODEL).unwrap();
    let mut s: *mut ronn_session = std::ptr::null_mut();
    let mut x: *mut ronn_tensor = std::ptr::null_mut();
    let data = vec![0.5f32; 3 * 64];
    let shape = [3i64, 64];
    // SAFETY: valid pointers to live locals; handles freed below.
    unsafe {
        ok(ronn_session_new(std::ptr::null(), path.as_ptr(), std::ptr::null(), &mut s));
        let mut info = ronn_value_info {
            struct_size: std::mem::size_of::<ronn_value_info>() as u32,
            dtype: 0,
            name: std::ptr::null(),
            rank: 0,
            shape: std::ptr::null(),
            dim_names: std::ptr::null(),
        };
        ok(ronn_session_input_info(s, 0, &mut info));
        ok(ronn_tensor_new_borrowed(
            RONN_DTYPE_FLOAT32,
            shape.as_ptr(),
            2,
            data.as_ptr() as *mut c_void,
            data.len() * 4,
            None,
            std::ptr::null_mut(),
            &mut x,
        ));
        let ins = [x as *const ronn_tensor];
        let mut out: [*mut ronn_tensor; 1] = [std::ptr::null_mut()];
        let mut oinfo = info;
        ok(ronn_session_output_info(s, 1, &mut oinfo));
        ok(ronn_session_run(s, std::ptr::null(), &info.name, ins.as_ptr(), 1, &oinfo.name, out.as_mut_ptr(), 1));
        let mut rank = 0usize;
        let mut dims: *const i64 = std::ptr::null();
        ok(ronn_tensor_shape(out[0], &mut dims, &mut rank));
        assert_eq!(std::slice::from_raw_parts(dims, rank), &[3]);
        ronn_tensor_free(out[0]);

        let (tx, rx) = mpsc::channel::<(ronn_status, usize, std::thread::ThreadId)>();
        let done = ronn_completion {
            struct_size: std::mem::size_of::<ronn_completion>() as u32,
            callback: Some(on_done),
            user_data: Box::into_raw(Box::new(tx)) as *mut c_void,
        };
        let mut req: *mut ronn_request = std::ptr::null_mut();
        ok(ronn_session_run_async(
            s,
            std::ptr::null(),
            &info.name,
            ins.as_ptr(),
            1,
            std::ptr::null(),
            0,
            &done,
            &mut req,
        ));
        ok(ronn_request_wait(req, -1));
        let (status, n, thread) = rx.recv_timeout(Duration::from_secs(30)).unwrap();
        assert_eq!((status, n), (RONN_STATUS_OK, 2));
        assert_ne!(thread, std::thread::current().id(), "the callback ran on the caller's thread");
        ronn_request_free(req);
        ronn_tensor_free(x);
        ronn_session_free(s);
    }
}
