//! The executor's use of the memory pool: intermediates go back to the pool at
//! their last use and the next run's kernels take them again, results stay
//! right when buffers are reused, and several sessions can share one pool.

use ronn::builder::ModelBuilder;
use ronn::{DType, Dim, MemoryPool, MemoryPoolOption, Model, PoolConfig, SessionOptions, Tensor};
use std::sync::Arc;

/// Y = Relu(MatMul(X, W) + B) * X with X [N, 64] float32 and W [64, 64].
/// Every intermediate is large enough to be pooled.
fn chain() -> Model {
    let n = || Dim::Symbolic("N".into());
    let w: Vec<f32> = (0..64 * 64).map(|i| ((i % 13) as f32 - 6.0) * 0.01).collect();
    let w = Tensor::from_vec(vec![64, 64], w).unwrap();
    let b = Tensor::from_vec(vec![64], (0..64).map(|i| i as f32 * 0.1 - 3.0).collect::<Vec<f32>>()).unwrap();
    let bytes = ModelBuilder::new(17)
        .input("X", DType::Float32, &[n(), Dim::Known(64)])
        .output("Y", DType::Float32, &[n(), Dim::Known(64)])
        .initializer("W", &w)
        .initializer("B", &b)
        .node("MatMul", &["X", "W"], &["M"], vec![])
        .node("Add", &["M", "B"], &["S"], vec![])
        .node("Relu", &["S"], &["R"], vec![])
        .node("Mul", &["R", "X"], &["Y"], vec![])
        .build();
    Model::from_bytes(&bytes).unwrap()
}

fn input(rows: usize, salt: f32) -> Tensor {
    Tensor::from_vec(vec![rows, 64], (0..rows * 64).map(|i| ((i % 29) as f32 - 14.0) * 0.1 + salt).collect()).unwrap()
}

fn session(model: &Model, pool: MemoryPoolOption) -> ronn::Session {
    model.create_session(SessionOptions { num_threads: 1, memory_pool: pool, ..Default::default() }).unwrap()
}

fn run(s: &ronn::Session, x: Tensor) -> Vec<f32> {
    s.run([("X", x)]).unwrap().tensor("Y").unwrap().as_slice::<f32>().unwrap().to_vec()
}

#[test]
fn second_run_reuses_the_first_runs_buffers_and_gives_the_same_answer() {
    let model = chain();
    let pooled = session(&model, MemoryPoolOption::Own);
    let plain = session(&model, MemoryPoolOption::Off);
    assert!(plain.memory_pool().is_none());
    let pool = pooled.memory_pool().unwrap().clone();

    let first = run(&pooled, input(32, 0.0));
    let after_first = pool.stats();
    assert!(after_first.misses >= 2, "the first run allocates: {after_first:?}");
    assert!(after_first.hits >= 1, "a value freed mid-run serves a later node of the same run: {after_first:?}");
    assert!(after_first.buffers >= 2, "freed intermediates are kept: {after_first:?}");
    assert_eq!(first, run(&plain, input(32, 0.0)));

    // Different values, same shapes: the kernels reuse (dirty) buffers.
    for salt in [0.5f32, -1.0, 2.0] {
        let before = pool.stats();
        let got = run(&pooled, input(32, salt));
        let after = pool.stats();
        assert_eq!(got, run(&plain, input(32, salt)), "salt {salt}");
        assert!(after.hits >= before.hits + 2, "later runs hit the pool: {before:?} -> {after:?}");
        assert!(after.misses <= before.misses + 1, "at most the output (which leaves with the caller) is new");
    }
    assert!(pool.stats().hit_rate() > 0.5);
}

#[test]
fn a_pool_shared_by_two_sessions_serves_both() {
    let shared = Arc::new(MemoryPool::new(PoolConfig::default()));
    let model = chain();
    let a = session(&model, MemoryPoolOption::Shared(shared.clone()));
    let b = session(&model, MemoryPoolOption::Shared(shared.clone()));
    assert!(Arc::ptr_eq(a.memory_pool().unwrap(), &shared));
    let ya = run(&a, input(16, 1.0));
    let misses = shared.stats().misses;
    let yb = run(&b, input(16, 1.0));
    assert_eq!(ya, yb);
    assert!(shared.stats().misses <= misses + 1, "b takes the buffers a gave back: {:?}", shared.stats());
    assert!(shared.stats().hits >= 2);
}

#[test]
fn limits_hold_under_concurrent_runs() {
    let cfg = PoolConfig { max_total_buffers: 1, ..PoolConfig::default() };
    let model = chain();
    let s = Arc::new(session(&model, MemoryPoolOption::OwnWith(cfg)));
    let want: Vec<Vec<f32>> =
        (0..4).map(|k| run(&session(&model, MemoryPoolOption::Off), input(48, k as f32))).collect();
    let handles: Vec<_> = (0..4)
        .map(|k| {
            let s = s.clone();
            std::thread::spawn(move || (0..10).map(|_| run(&s, input(48, k as f32))).collect::<Vec<_>>())
        })
        .collect();
    for (k, h) in handles.into_iter().enumerate() {
        for got in h.join().unwrap() {
            assert_eq!(got, want[k]);
        }
    }
    let st = s.memory_pool().unwrap().stats();
    assert!(st.buffers <= 1, "{st:?}");
    assert!(st.discarded > 0, "each run gives back more than one buffer: {st:?}");
    assert!(st.hits > 0, "{st:?}");
    s.memory_pool().unwrap().clear();
    assert_eq!(s.memory_pool().unwrap().stats().bytes, 0);
}
