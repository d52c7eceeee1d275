//! End-to-end behaviour of Model and Session: input validation errors,
//! concurrent runs on one session, optimization levels agreeing.

use ronn::builder::ModelBuilder;
use ronn::{DType, Dim, ErrorCode, Model, OptimizationLevel, SessionOptions, Tensor};
use std::sync::Arc;

/// Y = Relu(X + B) with X float32 [N, 4] and B a [4] initializer.
fn add_relu() -> Model {
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

fn expected(x: &[f32]) -> Vec<f32> {
    let b = [1.0f32, -1.0, 0.5, -0.5];
    x.iter().enumerate().map(|(i, v)| (v + b[i % 4]).max(0.0)).collect()
}

#[test]
fn runs_and_reports_interface() {
    let m = add_relu();
    let ins = m.inputs();
    assert_eq!(ins.len(), 1, "the initializer B is not an input");
    assert_eq!(ins[0].name, "X");
    assert_eq!(ins[0].dtype, Some(DType::Float32));
    assert_eq!(ins[0].shape, Some(vec![Dim::Symbolic("N".into()), Dim::Known(4)]));
    for level in [OptimizationLevel::O0, OptimizationLevel::O1, OptimizationLevel::O2, OptimizationLevel::O3] {
        let s = m
            .create_session(SessionOptions { optimization_level: level, num_threads: 2, ..Default::default() })
            .unwrap();
        let x: Vec<f32> = (0..8).map(|i| i as f32 - 4.0).collect();
        let out = s.run([("X", Tensor::from_vec(vec![2, 4], x.clone()).unwrap())]).unwrap();
        assert_eq!(out.tensor("Y").unwrap().as_slice::<f32>().unwrap(), expected(&x).as_slice());
    }
}

#[test]
fn wrong_inputs_are_typed_errors_naming_the_input() {
    let s = add_relu().create_session(SessionOptions::default()).unwrap();
    let e = s.run([("nope", Tensor::from_vec(vec![1, 4], vec![0f32; 4]).unwrap())]).unwrap_err();
    assert_eq!(e.code(), ErrorCode::NotFound);
    assert!(e.to_string().contains("'nope'") && e.to_string().contains("\"X\""), "{e}");

    let e = s.run([("X", Tensor::from_vec(vec![1, 4], vec![0i64; 4]).unwrap())]).unwrap_err();
    assert_eq!(e.code(), ErrorCode::TypeMismatch);
    assert!(e.to_string().contains("'X' must be float32, got int64"), "{e}");

    let e = s.run([("X", Tensor::from_vec(vec![4], vec![0f32; 4]).unwrap())]).unwrap_err();
    assert_eq!(e.code(), ErrorCode::ShapeMismatch);
    assert!(e.to_string().contains("rank 2"), "{e}");

    let e = s.run([("X", Tensor::from_vec(vec![1, 3], vec![0f32; 3]).unwrap())]).unwrap_err();
    assert_eq!(e.code(), ErrorCode::ShapeMismatch);
    assert!(e.to_string().contains("dim 1 must be 4"), "{e}");

    let e = s.run(Vec::<(&str, Tensor)>::new()).unwrap_err();
    assert!(e.to_string().contains("'X'") && e.to_string().contains("missing"), "{e}");

    let e = s.run([("B", Tensor::from_vec(vec![4], vec![0f32; 4]).unwrap())]).unwrap_err();
    assert_eq!(e.code(), ErrorCode::NotFound);
}

#[test]
fn concurrent_runs_on_one_session_are_correct() {
    let s = Arc::new(add_relu().create_session(SessionOptions { num_threads: 2, ..Default::default() }).unwrap());
    let handles: Vec<_> = (0..8)
        .map(|t| {
            let s = s.clone();
            std::thread::spawn(move || {
                for r in 0..25 {
                    let rows = 1 + (t + r) % 5;
                    let x: Vec<f32> =
                        (0..rows * 4).map(|i| (i as f32 * 0.37 + t as f32 - r as f32) % 7.0 - 3.0).collect();
                    let out = s.run([("X", Tensor::from_vec(vec![rows, 4], x.clone()).unwrap())]).unwrap();
                    let y = out.tensor("Y").unwrap();
                    assert_eq!(y.shape(), &[rows, 4]);
                    assert_eq!(y.as_slice::<f32>().unwrap(), expected(&x).as_slice(), "thread {t} run {r}");
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
}

#[test]
fn unavailable_provider_names_the_available_ones() {
    let e = add_relu()
        .create_session(SessionOptions { provider: ronn::ProviderType::Gpu, ..Default::default() })
        .err()
        .unwrap();
    assert_eq!(e.code(), ErrorCode::UnsupportedOp);
    assert!(e.to_string().contains("available: cpu"), "{e}");
}
