//! Operator kernel benchmarks for the CPU provider: Softmax, LayerNormalization and
//! the elementwise activations of GELU-style models, through the public op API.
//!
//! Each benchmark plans the kernel ONCE, as a session does (registry lookup by op
//! type and opset, the factory sees a [`BuildCtx`] with the constant inputs, here
//! LayerNormalization's scale and bias), and times only `Kernel::run` on f32
//! inputs (output allocation included, as in a session run without memory reuse).
//!
//! - `softmax_1t`: Softmax (opset 13, axis -1) on [12,128,128] (bert-base attention
//!   probabilities, one sequence of 128) and [1,128,30522] (a vocabulary-sized row);
//! - `layernorm_1t`: LayerNormalization (opset 17, axis -1) on [1,128,768];
//! - `activation_1t`: Erf, Tanh, Sigmoid and Gelu (opset 20) on 1M elements;
//! - `ops_2t`: the largest of those on a 2-thread pool.
//!
//! Throughput is reported in elements of the (first) input.
//!
//! Run: `cargo bench -p ronn-cpu --bench ops` (add `-- --quick` for a fast pass,
//! `-- --test` to run each benchmark once).

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use ronn_core::{Error, Result, Tensor, Value};
use ronn_ir::{Attribute, BuildCtx, Graph, Kernel, Node, RunContext, SubgraphCompiler, SubgraphRunner};
use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

struct NoSubgraphs;

impl SubgraphCompiler for NoSubgraphs {
    fn compile(&self, _: &Graph) -> Result<Arc<dyn SubgraphRunner>> {
        Err(Error::UnsupportedOp("no subgraphs in kernel benchmarks".into()))
    }
}

/// One benchmark: a node, its runtime inputs, and the inputs known at planning time.
struct Case {
    name: &'static str,
    node: Node,
    /// Runtime inputs (not constants).
    inputs: Vec<Tensor>,
    /// Planning-time constant inputs, after the runtime ones.
    constants: Vec<Tensor>,
}

/// Deterministic values in [-3, 3): no RNG dependency, no denormals.
fn fill(len: usize, seed: usize) -> Vec<f32> {
    (0..len).map(|i| ((i.wrapping_mul(7919).wrapping_add(seed * 104_729)) % 1000) as f32 * 0.006 - 3.0).collect()
}

fn tensor(shape: &[usize], seed: usize) -> Tensor {
    let n = shape.iter().product();
    Tensor::from_vec(shape.to_vec(), fill(n, seed)).expect("tensor")
}

fn softmax(name: &'static str, shape: &[usize]) -> Case {
    let node = Node::new("Softmax", &["x"], &["y"], 13).with_attr("axis", Attribute::Int(-1));
    Case { name, node, inputs: vec![tensor(shape, 1)], constants: vec![] }
}

fn layernorm(name: &'static str, shape: &[usize]) -> Case {
    let h = *shape.last().expect("rank >= 1");
    let node =
        Node::new("LayerNormalization", &["x", "scale", "bias"], &["y"], 17).with_attr("axis", Attribute::Int(-1));
    Case { name, node, inputs: vec![tensor(shape, 1)], constants: vec![tensor(&[h], 2), tensor(&[h], 3)] }
}

fn unary(name: &'static str, op: &str, opset: i64, len: usize) -> Case {
    let node = Node::new(op, &["x"], &["y"], opset);
    Case { name, node, inputs: vec![tensor(&[len], 1)], constants: vec![] }
}

/// Plans the case's kernel through the public registry, as a session would.
fn plan(case: &Case, threads: usize) -> Box<dyn Kernel> {
    let reg = ronn_cpu::registry();
    let n = &case.node;
    let factory = reg
        .lookup(&n.domain, &n.op_type, n.opset)
        .unwrap_or_else(|| panic!("{} at opset {} is not registered", n.op_type, n.opset));
    let mut constants: Vec<Option<&Tensor>> = vec![None; case.inputs.len()];
    constants.extend(case.constants.iter().map(Some));
    let ctx = BuildCtx { node: n, constants, subgraphs: &NoSubgraphs, num_threads: threads };
    factory(&ctx).unwrap_or_else(|e| panic!("planning {}: {e}", case.name))
}

const M: usize = 1 << 20;

fn one_thread_cases() -> Vec<(&'static str, Vec<Case>)> {
    vec![
        ("softmax_1t", vec![softmax("12x128x128", &[12, 128, 128]), softmax("1x128x30522", &[1, 128, 30522])]),
        ("layernorm_1t", vec![layernorm("1x128x768", &[1, 128, 768])]),
        (
            "activation_1t",
            vec![
                unary("erf_1M", "Erf", 13, M),
                unary("tanh_1M", "Tanh", 13, M),
                unary("sigmoid_1M", "Sigmoid", 13, M),
                unary("gelu_1M", "Gelu", 20, M),
            ],
        ),
    ]
}

fn two_thread_cases() -> Vec<Case> {
    vec![
        softmax("softmax_1x128x30522", &[1, 128, 30522]),
        layernorm("layernorm_1x128x768", &[1, 128, 768]),
        unary("erf_1M", "Erf", 13, M),
        unary("gelu_1M", "Gelu", 20, M),
    ]
}

fn group(c: &mut Criterion, group_name: &str, cases: Vec<Case>, threads: usize) {
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().expect("rayon pool");
    let mut g = c.benchmark_group(group_name);
    g.sample_size(20).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3));
    for case in &cases {
        let kernel = plan(case, threads);
        let values: Vec<Value> = case.inputs.iter().chain(&case.constants).cloned().map(Value::Tensor).collect();
        let refs: Vec<Option<&Value>> = values.iter().map(Some).collect();
        let ctx = RunContext::new(threads);
        g.throughput(Throughput::Elements(case.inputs[0].len() as u64));
        g.bench_function(BenchmarkId::from_parameter(case.name), |bench| {
            pool.install(|| bench.iter(|| black_box(kernel.run(&ctx, &refs).expect("run"))))
        });
    }
    g.finish();
}

fn benches(c: &mut Criterion) {
    for (name, cases) in one_thread_cases() {
        group(c, name, cases, 1);
    }
    group(c, "ops_2t", two_thread_cases(), 2);
}

criterion_group!(ops_benches, benches);
criterion_main!(ops_benches);
