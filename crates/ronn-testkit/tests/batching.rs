//! BatchProcessor: split outputs reach the right requests, shapes are never
//! mixed, dynamic timeouts and static flushes, overload answered by QueueFull
//! with every accepted request answered once, and close (drain / cancel).

mod common;

use common::*;
use ronn::{BatchConfig, BatchProcessor, BatchStrategy, CloseMode, ErrorCode, Tensor};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

fn dynamic(max: usize, ms: u64, cap: usize) -> BatchConfig {
    BatchConfig {
        strategy: BatchStrategy::Dynamic { max_batch_size: max, max_delay: std::time::Duration::from_millis(ms) },
        queue_capacity: cap,
    }
}

fn fixed(n: usize, cap: usize) -> BatchConfig {
    BatchConfig { strategy: BatchStrategy::Static { batch_size: n }, queue_capacity: cap }
}

fn x(id: usize, rows: usize, f: usize) -> Tensor {
    Tensor::from_vec(vec![rows, f], rows_for(id, rows, f)).unwrap()
}

fn check_y(out: &ronn::Outputs, id: usize, rows: usize, f: usize) {
    let y = out.tensor("Y").unwrap();
    assert_eq!(y.shape(), &[rows, f], "request {id}");
    assert_eq!(y.as_slice::<f32>().unwrap(), affine_expected(&rows_for(id, rows, f)).as_slice(), "request {id}");
}

#[test]
fn each_request_gets_exactly_its_own_rows() {
    let p = Arc::new(BatchProcessor::new(session(&affine(), 2), dynamic(16, 2, 1024)).unwrap());
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let p = p.clone();
            std::thread::spawn(move || {
                for r in 0..40 {
                    let id = t * 100 + r;
                    let rows = 1 + (t + r) % 3;
                    let out = p.submit([("X", x(id, rows, 4))]).unwrap().wait().unwrap();
                    check_y(&out, id, rows, 4);
                }
            })
        })
        .collect();
    for h in threads {
        h.join().unwrap();
    }
    let s = p.stats();
    assert_eq!(s.requests, 320);
    assert!(s.batches <= 320 && s.batches > 0, "{s:?}");
    assert_eq!(s.rejected, 0);
}

#[test]
fn a_full_static_batch_runs_once_in_submission_order() {
    let p = BatchProcessor::new(session(&affine(), 1), fixed(4, 16)).unwrap();
    let tickets: Vec<_> = (0..4).map(|id| p.submit([("X", x(id, 1, 3))]).unwrap()).collect();
    for (id, t) in tickets.into_iter().enumerate() {
        check_y(&t.wait().unwrap(), id, 1, 3);
    }
    let s = p.stats();
    assert_eq!((s.requests, s.batches), (4, 1), "{s:?}");
    assert_eq!(s.average_batch_size, 4.0);
}

#[test]
fn requests_of_other_widths_are_not_mixed_but_all_answered() {
    let p = BatchProcessor::new(session(&affine(), 1), fixed(2, 16)).unwrap();
    let widths = [3, 5, 3, 5];
    let tickets: Vec<_> = widths.iter().enumerate().map(|(id, &f)| p.submit([("X", x(id, 1, f))]).unwrap()).collect();
    for (id, t) in tickets.into_iter().enumerate() {
        check_y(&t.wait().unwrap(), id, 1, widths[id]);
    }
    let s = p.stats();
    assert_eq!(s.batches, 2, "one batch per width: {s:?}");
    assert_eq!(s.average_batch_size, 2.0);
}

#[test]
fn a_lone_dynamic_request_waits_for_the_timeout_and_not_much_longer() {
    let p = BatchProcessor::new(session(&affine(), 1), dynamic(8, 200, 16)).unwrap();
    let t0 = Instant::now();
    let mut t = p.submit([("X", x(7, 1, 4))]).unwrap();
    let early = t.wait_timeout(Duration::from_millis(100)).unwrap_err();
    assert_eq!(early.code(), ErrorCode::Timeout, "answered before the timeout");
    let out = t.wait().unwrap();
    let waited = t0.elapsed();
    check_y(&out, 7, 1, 4);
    assert!(waited >= Duration::from_millis(195), "answered after {waited:?}, before the 200 ms timeout");
    assert!(waited < Duration::from_millis(700), "answered only after {waited:?}");
    let s = p.stats();
    assert!(s.queue_wait_p50_ms >= 195.0, "{s:?}");
}

#[test]
fn a_full_dynamic_batch_does_not_wait_for_the_timeout() {
    let p = BatchProcessor::new(session(&affine(), 1), dynamic(4, 10_000, 16)).unwrap();
    let t0 = Instant::now();
    let tickets: Vec<_> = (0..4).map(|id| p.submit([("X", x(id, 1, 4))]).unwrap()).collect();
    for (id, t) in tickets.into_iter().enumerate() {
        check_y(&t.wait().unwrap(), id, 1, 4);
    }
    assert!(t0.elapsed() < Duration::from_secs(2), "a full batch waited {:?}", t0.elapsed());
}

#[test]
fn static_batching_waits_for_a_full_batch_until_flushed() {
    let p = BatchProcessor::new(session(&affine(), 1), fixed(4, 16)).unwrap();
    let mut a = p.submit([("X", x(1, 1, 4))]).unwrap();
    let mut b = p.submit([("X", x(2, 2, 4))]).unwrap();
    assert_eq!(a.wait_timeout(Duration::from_millis(150)).unwrap_err().code(), ErrorCode::Timeout);
    assert!(!b.is_ready());
    p.flush();
    check_y(&a.wait_timeout(Duration::from_secs(10)).unwrap(), 1, 1, 4);
    check_y(&b.wait_timeout(Duration::from_secs(10)).unwrap(), 2, 2, 4);
    assert_eq!(p.stats().batches, 1);
}

#[test]
fn tenfold_overload_is_refused_with_queue_full_and_nothing_is_lost() {
    const K: usize = 16;
    const THREADS: usize = 8;
    let p = Arc::new(BatchProcessor::new(session(&slow(256, 8), 2), dynamic(4, 1, K)).unwrap());
    let start = Arc::new(Barrier::new(THREADS));
    let answered = Arc::new(AtomicUsize::new(0));
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let (p, start, answered) = (p.clone(), start.clone(), answered.clone());
            std::thread::spawn(move || {
                start.wait();
                let mut accepted = Vec::new();
                let mut rejected = 0;
                for r in 0..10 * K / THREADS {
                    let id = t * 1000 + r;
                    let a = answered.clone();
                    let done = move |res: ronn::Result<ronn::Outputs>| {
                        a.fetch_add(1, Ordering::SeqCst);
                        check_y(&res.unwrap(), id, 1, 256);
                    };
                    // Half through tickets, half through callbacks: both must answer once.
                    let x = x(id, 1, 256);
                    if r % 2 == 0 {
                        match p.submit([("X", x)]) {
                            Ok(ticket) => accepted.push((id, ticket)),
                            Err(e) => {
                                assert_eq!(e.code(), ErrorCode::QueueFull, "{e}");
                                rejected += 1;
                            }
                        }
                    } else {
                        match p.submit_with_callback([("X", x)], done) {
                            Ok(()) => {}
                            Err(e) => {
                                assert_eq!(e.code(), ErrorCode::QueueFull, "{e}");
                                rejected += 1;
                            }
                        }
                    }
                }
                let tickets = accepted.len();
                for (id, ticket) in accepted {
                    check_y(&ticket.wait().unwrap(), id, 1, 256);
                }
                (tickets, rejected)
            })
        })
        .collect();
    let (mut tickets, mut rejected) = (0, 0);
    for h in handles {
        let (a, r) = h.join().unwrap();
        tickets += a;
        rejected += r;
    }
    p.close(CloseMode::Drain);
    let s = p.stats();
    let callbacks = answered.load(Ordering::SeqCst);
    assert_eq!(s.requests as usize + s.rejected as usize, 10 * K, "{s:?}");
    assert_eq!(s.requests as usize, tickets + callbacks, "every accepted callback ran exactly once: {s:?}");
    assert_eq!(s.rejected as usize, rejected, "{s:?}");
    assert!(rejected > 0, "a 10x overload must be refused in part: {s:?}");
    assert!(s.max_queue_depth <= K, "the queue grew past its capacity: {s:?}");
    assert_eq!(s.queue_depth, 0);
}

#[test]
fn close_with_cancel_answers_every_pending_request() {
    let p = BatchProcessor::new(session(&affine(), 1), fixed(100, 64)).unwrap();
    let tickets: Vec<_> = (0..10).map(|id| p.submit([("X", x(id, 1, 4))]).unwrap()).collect();
    p.close(CloseMode::Cancel);
    for t in tickets {
        assert_eq!(t.wait().unwrap_err().code(), ErrorCode::Cancelled);
    }
    assert_eq!(p.stats().cancelled, 10);
    let e = p.submit([("X", x(0, 1, 4))]).unwrap_err();
    assert_eq!(e.code(), ErrorCode::ShuttingDown);
}

#[test]
fn close_with_drain_runs_every_pending_request() {
    let p = BatchProcessor::new(session(&affine(), 1), fixed(100, 64)).unwrap();
    let tickets: Vec<_> = (0..10).map(|id| p.submit([("X", x(id, 1, 4))]).unwrap()).collect();
    p.close(CloseMode::Drain);
    for (id, t) in tickets.into_iter().enumerate() {
        check_y(&t.wait().unwrap(), id, 1, 4);
    }
    assert_eq!(p.submit([("X", x(0, 1, 4))]).unwrap_err().code(), ErrorCode::ShuttingDown);
    p.close(CloseMode::Cancel); // a second close is a no-op
}

#[test]
fn dropping_the_processor_drains() {
    let p = BatchProcessor::new(session(&affine(), 1), fixed(100, 64)).unwrap();
    let tickets: Vec<_> = (0..3).map(|id| p.submit([("X", x(id, 2, 4))]).unwrap()).collect();
    drop(p);
    for (id, t) in tickets.into_iter().enumerate() {
        check_y(&t.wait().unwrap(), id, 2, 4);
    }
}

#[test]
fn models_without_a_batch_axis_and_bad_configs_are_refused() {
    let e = BatchProcessor::new(session(&fixed_batch(), 1), BatchConfig::default()).err().unwrap();
    assert_eq!(e.code(), ErrorCode::InvalidArgument);
    assert!(e.to_string().contains("'X'") && e.to_string().contains("symbolic first"), "{e}");
    let s = session(&affine(), 1);
    assert_eq!(BatchProcessor::new(s.clone(), fixed(0, 4)).err().unwrap().code(), ErrorCode::InvalidArgument);
    assert_eq!(BatchProcessor::new(s.clone(), dynamic(0, 1, 4)).err().unwrap().code(), ErrorCode::InvalidArgument);
    assert_eq!(BatchProcessor::new(s, fixed(2, 0)).err().unwrap().code(), ErrorCode::InvalidArgument);
}

#[test]
fn bad_requests_are_refused_at_submit_and_do_not_fail_others() {
    let p = BatchProcessor::new(session(&affine(), 1), fixed(2, 16)).unwrap();
    let e = p.submit([("nope", x(0, 1, 4))]).err().unwrap();
    assert_eq!(e.code(), ErrorCode::NotFound);
    let wrong = Tensor::from_vec(vec![1, 4], vec![0i64; 4]).unwrap();
    assert_eq!(p.submit([("X", wrong)]).err().unwrap().code(), ErrorCode::TypeMismatch);
    let rank1 = Tensor::from_vec(vec![4], vec![0f32; 4]).unwrap();
    assert_eq!(p.submit([("X", rank1)]).err().unwrap().code(), ErrorCode::ShapeMismatch);
    let a = p.submit([("X", x(1, 1, 4))]).unwrap();
    let b = p.submit([("X", x(2, 1, 4))]).unwrap();
    check_y(&a.wait().unwrap(), 1, 1, 4);
    check_y(&b.wait().unwrap(), 2, 1, 4);
    assert_eq!(p.stats().requests, 2);
}

#[test]
fn an_output_that_is_not_batch_major_is_an_error_naming_it() {
    let p = BatchProcessor::new(session(&reduce_over_batch(), 1), fixed(2, 16)).unwrap();
    let a = p.submit([("X", Tensor::from_vec(vec![1, 4], vec![1f32; 4]).unwrap())]).unwrap();
    let b = p.submit([("X", Tensor::from_vec(vec![1, 4], vec![2f32; 4]).unwrap())]).unwrap();
    for t in [a, b] {
        let e = t.wait().unwrap_err();
        assert_eq!(e.code(), ErrorCode::ShapeMismatch);
        assert!(e.to_string().contains("output 'Y'"), "{e}");
    }
}

#[test]
fn a_panicking_callback_does_not_stop_the_worker() {
    let p = BatchProcessor::new(session(&affine(), 1), dynamic(4, 1, 16)).unwrap();
    p.submit_with_callback([("X", x(0, 1, 4))], |_| panic!("callback panics")).unwrap();
    let out = p.submit([("X", x(5, 1, 4))]).unwrap().wait().unwrap();
    check_y(&out, 5, 1, 4);
}

#[test]
fn process_is_awaitable() {
    let p = BatchProcessor::new(session(&affine(), 2), dynamic(8, 5, 256)).unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(async {
        let (a, b, c) = tokio::join!(
            p.process([("X", x(1, 1, 4))]),
            p.process([("X", x(2, 3, 4))]),
            p.process([("X", x(3, 1, 4))])
        );
        check_y(&a.unwrap(), 1, 1, 4);
        check_y(&b.unwrap(), 2, 3, 4);
        check_y(&c.unwrap(), 3, 1, 4);
    });
    let s = p.stats();
    assert_eq!(s.requests, 3);
    assert_eq!(s.batches, 1, "three requests joined at once fit one dynamic batch: {s:?}");
}
