//! Convolution kernel benchmarks: `ronn_kernels::conv::conv` (f32, NCHW, batch 1)
//! alone, on the convolutions of the benchmark models, so a change to the conv
//! path (im2col, direct/depthwise loops, the fused bias+activation epilogue) is
//! measured without the graph around it.
//!
//! Shapes (throughput is reported as flops, `2 * C_out * H_out*W_out * C_in/group * kh*kw`):
//! - `conv3x3_64_56`: 3x3, 64 -> 64 at 56x56, pad 1 (the conv3x3_64 benchmark model,
//!   resnet50's first stage);
//! - `r50_3x3_128_28`, `r50_3x3_256_14`: resnet50's 3x3 convs of stages 2 and 3;
//! - `r50_stem_7x7s2_3to64_224`: resnet50's stem, 7x7 stride 2 pad 3, 3 -> 64 at 224;
//! - `dw3x3_144_56`, `dw3x3_960_7`, `dw3x3_384_14`, `dw3x3_192_28`, `dw3x3s2_96_112`: mobilenet_v2
//!   depthwise 3x3 (group = channels; the last stride 2); `dw5x5_1152_7`, `dw5x5_672_14`:
//!   EfficientNet's 5x5 depthwise;
//! - `stem_3x3s2_3to32_224`, `vgg_3x3_3to64_224`: MobileNet/EfficientNet's and VGG's
//!   RGB stems;
//! - `pw1x1_64to256_56`: a 1x1 convolution through `conv` (the GEMM path);
//!   `pw1x1_192to1152_7`, `pw1x1_112to672_14`: EfficientNet's expansions on small maps.
//!
//! All with bias and a fused ReLU, as the optimizer emits them. Groups: `conv_1t`
//! on a 1-thread rayon pool, `conv_2t` (the large ones) on 2 threads.
//!
//! Run: `cargo bench -p ronn-kernels --bench conv` (add `-- --quick` for a fast
//! pass, `-- --test` to run each benchmark once).

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use ronn_kernels::conv::{conv, Activation, ConvGeom};
use std::hint::black_box;
use std::time::Duration;

struct Shape {
    name: &'static str,
    c_in: usize,
    c_out: usize,
    group: usize,
    hw: usize,
    k: usize,
    stride: usize,
    pad: usize,
}

#[allow(clippy::too_many_arguments)]
const fn s(
    name: &'static str,
    c_in: usize,
    c_out: usize,
    group: usize,
    hw: usize,
    k: usize,
    stride: usize,
    pad: usize,
) -> Shape {
    Shape { name, c_in, c_out, group, hw, k, stride, pad }
}

const ONE_THREAD: &[Shape] = &[
    s("conv3x3_64_56", 64, 64, 1, 56, 3, 1, 1),
    s("r50_3x3_128_28", 128, 128, 1, 28, 3, 1, 1),
    s("r50_3x3_256_14", 256, 256, 1, 14, 3, 1, 1),
    s("r50_stem_7x7s2_3to64_224", 3, 64, 1, 224, 7, 2, 3),
    s("dw3x3_144_56", 144, 144, 144, 56, 3, 1, 1),
    s("dw3x3_960_7", 960, 960, 960, 7, 3, 1, 1),
    s("dw3x3_384_14", 384, 384, 384, 14, 3, 1, 1),
    s("dw3x3_192_28", 192, 192, 192, 28, 3, 1, 1),
    s("dw3x3s2_96_112", 96, 96, 96, 112, 3, 2, 1),
    s("dw5x5_1152_7", 1152, 1152, 1152, 7, 5, 1, 2),
    s("dw5x5_672_14", 672, 672, 672, 14, 5, 1, 2),
    s("stem_3x3s2_3to32_224", 3, 32, 1, 224, 3, 2, 1),
    s("vgg_3x3_3to64_224", 3, 64, 1, 224, 3, 1, 1),
    s("pw1x1_64to256_56", 64, 256, 1, 56, 1, 1, 0),
    s("pw1x1_192to1152_7", 192, 1152, 1, 7, 1, 1, 0),
    s("pw1x1_112to672_14", 112, 672, 1, 14, 1, 1, 0),
];

const TWO_THREADS: &[Shape] = &[
    s("conv3x3_64_56", 64, 64, 1, 56, 3, 1, 1),
    s("r50_stem_7x7s2_3to64_224", 3, 64, 1, 224, 7, 2, 3),
    s("dw3x3_144_56", 144, 144, 144, 56, 3, 1, 1),
];

fn geom(sh: &Shape) -> ConvGeom {
    let out = (sh.hw + 2 * sh.pad - sh.k) / sh.stride + 1;
    ConvGeom {
        batch: 1,
        c_in: sh.c_in,
        c_out: sh.c_out,
        group: sh.group,
        in_spatial: vec![sh.hw, sh.hw],
        out_spatial: vec![out, out],
        kernel: vec![sh.k, sh.k],
        strides: vec![sh.stride, sh.stride],
        dilations: vec![1, 1],
        pads_begin: vec![sh.pad, sh.pad],
    }
}

/// Deterministic values in [-0.5, 0.5): no RNG dependency, no denormals.
fn fill(len: usize, seed: usize) -> Vec<f32> {
    (0..len).map(|i| ((i.wrapping_mul(7919).wrapping_add(seed * 104_729)) % 1000) as f32 / 1000.0 - 0.5).collect()
}

fn group(c: &mut Criterion, group_name: &str, shapes: &[Shape], threads: usize) {
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().expect("rayon pool");
    let mut g = c.benchmark_group(group_name);
    g.sample_size(20).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3));
    for sh in shapes {
        let geo = geom(sh);
        let x = fill(geo.c_in * geo.in_size(), 1);
        let w = fill(geo.c_out * (geo.c_in / geo.group) * geo.kernel_size(), 2);
        let bias = fill(geo.c_out, 3);
        let mut y = vec![0f32; geo.c_out * geo.out_size()];
        let flops = 2 * geo.c_out * geo.out_size() * (geo.c_in / geo.group) * geo.kernel_size();
        g.throughput(Throughput::Elements(flops as u64));
        g.bench_function(BenchmarkId::from_parameter(sh.name), |bench| {
            pool.install(|| {
                bench.iter(|| {
                    conv(&geo, &x, &w, Some(&bias), &mut y, Activation::Relu).expect("conv");
                    black_box(&mut y);
                })
            })
        });
    }
    g.finish();
}

fn benches(c: &mut Criterion) {
    group(c, "conv_1t", ONE_THREAD, 1);
    group(c, "conv_2t", TWO_THREADS, 2);
}

criterion_group!(conv_benches, benches);
criterion_main!(conv_benches);
