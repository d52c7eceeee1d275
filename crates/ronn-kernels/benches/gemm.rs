//! GEMM kernel benchmarks: `ronn_kernels::gemm::gemm` (f32) alone, on the shapes the
//! model zoo actually multiplies, so a change to the GEMM path is measured without
//! graph, planner or allocator noise.
//!
//! Groups (throughput is reported as flops, `2*m*n*k` "elements" per iteration):
//! - `gemm_resnet50_1t`: resnet50's 1x1 convolutions as GEMMs (`M = C_out`,
//!   `N = H*W`, `K = C_in`) and its classifier, on a 1-thread rayon pool;
//! - `gemm_bert_base_1t`: bert-base at batch 1, sequence 128: QKV/output
//!   projections, the two FFN matmuls, attention scores `Q*K^T` (B transposed)
//!   and `scores*V` per head, on a 1-thread rayon pool;
//! - `gemm_square_1t`: a 1024^3 matmul, on a 1-thread rayon pool;
//! - `gemm_2t`: the large ones again on a 2-thread pool (`parallel = true`).
//!
//! Run: `cargo bench -p ronn-kernels --bench gemm` (add `-- --quick` for a fast
//! pass, `-- bert` to filter by name, `-- --test` to run each benchmark once).

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use ronn_kernels::gemm::{gemm, Mat};
use std::hint::black_box;
use std::time::Duration;

/// One GEMM problem: `C[m x n] = A[m x k] * op(B)[k x n]`.
struct Shape {
    name: &'static str,
    m: usize,
    n: usize,
    k: usize,
    /// B stored as `[n x k]` and used transposed (attention's `Q * K^T`).
    b_trans: bool,
}

const fn s(name: &'static str, m: usize, n: usize, k: usize) -> Shape {
    Shape { name, m, n, k, b_trans: false }
}

/// resnet50's bottleneck 1x1 convolutions (batch 1, 224x224 input) and its FC layer.
const RESNET50: &[Shape] = &[
    s("l1_reduce_64x3136x64", 64, 3136, 64),
    s("l1_reduce_64x3136x256", 64, 3136, 256),
    s("l1_expand_256x3136x64", 256, 3136, 64),
    s("l2_reduce_128x784x512", 128, 784, 512),
    s("l2_expand_512x784x128", 512, 784, 128),
    s("l3_reduce_256x196x1024", 256, 196, 1024),
    s("l3_expand_1024x196x256", 1024, 196, 256),
    s("l4_reduce_512x49x2048", 512, 49, 2048),
    s("l4_expand_2048x49x512", 2048, 49, 512),
    s("fc_1x1000x2048", 1, 1000, 2048),
];

/// bert-base (hidden 768, FFN 3072, 12 heads of 64) at batch 1, sequence 128.
const BERT_BASE: &[Shape] = &[
    s("proj_128x768x768", 128, 768, 768),
    s("ffn1_128x3072x768", 128, 3072, 768),
    s("ffn2_128x768x3072", 128, 768, 3072),
    Shape { name: "attn_qkt_128x128x64", m: 128, n: 128, k: 64, b_trans: true },
    s("attn_v_128x64x128", 128, 64, 128),
];

const SQUARE: &[Shape] = &[s("matmul_1024", 1024, 1024, 1024)];

/// The large problems, on 2 threads.
const TWO_THREADS: &[Shape] = &[
    s("resnet50_l1_expand_256x3136x64", 256, 3136, 64),
    s("resnet50_l2_reduce_128x784x512", 128, 784, 512),
    s("bert_ffn1_128x3072x768", 128, 3072, 768),
    s("bert_ffn2_128x768x3072", 128, 768, 3072),
    s("matmul_1024", 1024, 1024, 1024),
];

/// Deterministic values in [-0.5, 0.5): no RNG dependency, no denormals.
fn fill(len: usize, seed: usize) -> Vec<f32> {
    (0..len).map(|i| ((i.wrapping_mul(7919).wrapping_add(seed * 104_729)) % 1000) as f32 / 1000.0 - 0.5).collect()
}

fn pool(threads: usize) -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new().num_threads(threads).build().expect("rayon pool")
}

fn group(c: &mut Criterion, group_name: &str, shapes: &[Shape], threads: usize) {
    let pool = pool(threads);
    let mut g = c.benchmark_group(group_name);
    g.sample_size(20).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3));
    for sh in shapes {
        let (m, n, k) = (sh.m, sh.n, sh.k);
        let a = fill(m * k, 1);
        let b = fill(k * n, 2);
        let mut out = vec![0f32; m * n];
        g.throughput(Throughput::Elements((2 * m * n * k) as u64));
        g.bench_function(BenchmarkId::from_parameter(sh.name), |bench| {
            pool.install(|| {
                bench.iter(|| {
                    let bm = if sh.b_trans { Mat::t(&b, k) } else { Mat::rm(&b, n) };
                    gemm(m, n, k, Mat::rm(&a, k), bm, &mut out, n, 1.0, 0.0, threads > 1).expect("gemm");
                    black_box(&mut out);
                })
            })
        });
    }
    g.finish();
}

fn benches(c: &mut Criterion) {
    group(c, "gemm_resnet50_1t", RESNET50, 1);
    group(c, "gemm_bert_base_1t", BERT_BASE, 1);
    group(c, "gemm_square_1t", SQUARE, 1);
    group(c, "gemm_2t", TWO_THREADS, 2);
}

criterion_group!(gemm_benches, benches);
criterion_main!(gemm_benches);
