//! Per-run options: a profiler attached to one run records that run only, and a
//! cancel token stops a run (before it starts, or from another thread) with
//! `Cancelled`, also for callback runs, whose callback still comes exactly once.

use ronn::builder::ModelBuilder;
use ronn::{
    CancelToken, DType, Dim, ErrorCode, Model, OptimizationLevel, ProfileConfig, Profiler, RunOptions, SessionOptions,
    Tensor,
};
use std::sync::{mpsc, Arc};
use std::time::Duration;

/// Y = Relu(X + B); nodes add_0, relu_1.
fn model() -> Model {
    let n = || Dim::Symbolic("N".into());
    let b = Tensor::from_vec(vec![4], vec![1.0f32, -1.0, 0.5, -0.5]).unwrap();
    let bytes = ModelBuilder::new(17)
        .input("X", DType::Float32, &[n(), Dim::Known(4)])
        .output("Y", DType::Float32, &[n(), Dim::Known(4)])
        .initializer("B", &b)
        .node("Add", &["X", "B"], &["S"], vec![])
        .node("Relu", &["S"], &["Y"], vec![])
        .build();
    Model::from_bytes(&bytes).unwrap()
}

fn x() -> Tensor {
    Tensor::from_vec(vec![2, 4], (0..8).map(|i| i as f32 - 4.0).collect()).unwrap()
}

fn options() -> SessionOptions {
    SessionOptions { optimization_level: OptimizationLevel::O0, num_threads: 1, ..Default::default() }
}

#[test]
fn a_run_profiler_sees_only_its_run() {
    let s = model().create_session(options()).unwrap();
    let p = Arc::new(Profiler::new(ProfileConfig::development()));
    p.start();
    s.run([("X", x())]).unwrap();
    assert_eq!(p.event_count(), 0, "a run without the profiler recorded into it");
    let with = RunOptions::new().with_profiler(p.clone());
    let a = s.run_with_options([("X", x())], &with).unwrap();
    let report = p.report();
    assert!(report.entry("Add").is_some() && report.entry("Relu").is_some(), "{}", report.to_json());
    // Same answer as a plain run.
    let b = s.run([("X", x())]).unwrap();
    assert_eq!(a.tensor("Y").unwrap().as_slice::<f32>().unwrap(), b.tensor("Y").unwrap().as_slice::<f32>().unwrap());
}

#[test]
fn a_cancelled_token_stops_the_run() {
    let s = model().create_session(options()).unwrap();
    let token = CancelToken::new();
    let opts = RunOptions::new().with_cancel(token.clone());
    assert!(s.run_with_options([("X", x())], &opts).is_ok());
    token.cancel();
    let e = s.run_with_options([("X", x())], &opts).unwrap_err();
    assert_eq!(e.code(), ErrorCode::Cancelled, "{e}");
}

#[test]
fn a_cancelled_callback_run_answers_once_with_cancelled() {
    let s = Arc::new(model().create_session(options()).unwrap());
    let token = CancelToken::new();
    token.cancel();
    let (tx, rx) = mpsc::channel();
    s.run_with_callback_and_options(
        vec![("X".to_string(), x().into())],
        RunOptions::new().with_cancel(token),
        move |r| tx.send(r.map(|_| ()).map_err(|e| e.code())).unwrap(),
    );
    assert_eq!(rx.recv_timeout(Duration::from_secs(10)).unwrap(), Err(ErrorCode::Cancelled));
    assert!(rx.recv_timeout(Duration::from_millis(100)).is_err(), "the callback came twice");
}
