//! AsyncSession: many awaited runs on one session are correct, the executor is
//! never blocked, dropped futures are harmless; Session::run_with_callback.

mod common;

use common::*;
use ronn::{AsyncSession, ErrorCode, Tensor};
use std::sync::mpsc;
use std::time::Duration;

fn x(id: usize, rows: usize) -> Tensor {
    Tensor::from_vec(vec![rows, 4], rows_for(id, rows, 4)).unwrap()
}

#[test]
fn a_hundred_joined_runs_on_one_session_are_correct() {
    let s = AsyncSession::new(session(&affine(), 2));
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(async {
        // Each run starts when made; awaiting them in order still overlaps them all.
        let runs: Vec<_> = (0..100).map(|id| (id, s.run([("X", x(id, 1 + id % 3))]))).collect();
        for (id, run) in runs {
            let y = run.await.unwrap();
            let y = y.tensor("Y").unwrap();
            assert_eq!(y.as_slice::<f32>().unwrap(), affine_expected(&rows_for(id, 1 + id % 3, 4)).as_slice());
        }
        let (a, b) = tokio::join!(s.run([("X", x(1, 1))]), s.run([("X", x(2, 2))]));
        assert_eq!(a.unwrap().tensor("Y").unwrap().shape(), &[1, 4]);
        assert_eq!(b.unwrap().tensor("Y").unwrap().shape(), &[2, 4]);
        // Spawned tasks on other executor threads.
        let tasks: Vec<_> = (0..16)
            .map(|id| {
                let s = s.clone();
                tokio::spawn(async move { (id, s.run([("X", x(id, 1))]).await) })
            })
            .collect();
        for t in tasks {
            let (id, r) = t.await.unwrap();
            let out = r.unwrap();
            assert_eq!(out.tensor("Y").unwrap().as_slice::<f32>().unwrap(), affine_expected(&rows_for(id, 1, 4)));
        }
    });
}

#[test]
fn runs_in_flight_do_not_block_a_current_thread_runtime() {
    let s = AsyncSession::new(session(&slow(256, 16), 1));
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let runs: Vec<_> =
            (0..8).map(|id| s.run([("X", Tensor::from_vec(vec![64, 256], rows_for(id, 64, 256)).unwrap())])).collect();
        let all = async {
            for r in runs {
                r.await.unwrap();
            }
        };
        tokio::pin!(all);
        // The one executor thread keeps ticking a timer while the runs compute.
        let mut ticks = 0;
        let done = loop {
            tokio::select! {
                _ = &mut all => break true,
                _ = tokio::time::sleep(Duration::from_millis(2)) => {
                    ticks += 1;
                    if ticks == 5 {
                        break false;
                    }
                }
            }
        };
        assert!(!done, "the runs finished before the timer ticked 5 times: the executor was blocked");
        all.await;
    });
}

#[test]
fn invalid_inputs_and_dropped_futures_are_harmless() {
    let s = AsyncSession::new(session(&affine(), 1));
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    rt.block_on(async {
        let e = s.run([("nope", x(0, 1))]).await.unwrap_err();
        assert_eq!(e.code(), ErrorCode::NotFound);
        for id in 0..20 {
            drop(s.run([("X", x(id, 1))]));
        }
        let y = s.run([("X", x(3, 1))]).await.unwrap();
        assert_eq!(y.tensor("Y").unwrap().as_slice::<f32>().unwrap(), affine_expected(&rows_for(3, 1, 4)));
    });
}

#[test]
fn run_with_callback_answers_once_on_a_pool_thread_and_survives_a_panicking_callback() {
    let s = session(&affine(), 2);
    s.run_with_callback(vec![("X".into(), x(0, 1).into())], |_| panic!("callback panics"));
    let (tx, rx) = mpsc::channel();
    for id in 0..32 {
        let tx = tx.clone();
        s.run_with_callback(vec![("X".into(), x(id, 1).into())], move |r| {
            let name = std::thread::current().name().unwrap_or("").to_string();
            tx.send((id, r, name)).unwrap();
        });
    }
    drop(tx);
    let mut seen = vec![0; 32];
    for (id, r, thread) in rx.iter() {
        seen[id] += 1;
        assert!(thread.starts_with("ronn-worker-"), "called on '{thread}'");
        let y = r.unwrap();
        assert_eq!(y.tensor("Y").unwrap().as_slice::<f32>().unwrap(), affine_expected(&rows_for(id, 1, 4)));
    }
    assert!(seen.iter().all(|&n| n == 1), "{seen:?}");
}
