//! qgemm against an i64 reference: every dtype pairing, zero-point form, ragged
//! shape, and both kernels (VNNI where this CPU has it, portable always).

use super::*;

/// Deterministic bytes spread over the whole range.
fn bytes(n: usize, seed: u32) -> Vec<u8> {
    let mut x = seed.wrapping_mul(2654435761).wrapping_add(12345);
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            (x >> 8) as u8
        })
        .collect()
}

fn value(d: Int8<'_>, i: usize) -> i64 {
    match d {
        Int8::U8(v) => v[i] as i64,
        Int8::I8(v) => v[i] as i64,
    }
}

fn reference(m: usize, k: usize, n: usize, a: Int8<'_>, za: &[i32], b: Int8<'_>, zb: &[i32]) -> Vec<i32> {
    let mut y = vec![0i32; m * n];
    for i in 0..m {
        let zi = za[if za.len() == 1 { 0 } else { i }] as i64;
        for j in 0..n {
            let zj = zb[if zb.len() == 1 { 0 } else { j }] as i64;
            let s: i64 = (0..k).map(|q| (value(a, i * k + q) - zi) * (value(b, q * n + j) - zj)).sum();
            y[i * n + j] = s as i32;
        }
    }
    y
}

fn kernels() -> Vec<bool> {
    if vnni_available() {
        vec![false, true]
    } else {
        vec![false]
    }
}

#[test]
fn matches_reference_for_every_pairing_and_shape() {
    let shapes = [(1, 1, 1), (1, 3, 17), (5, 4, 16), (6, 5, 64), (7, 130, 65), (13, 64, 100), (2, 384, 200)];
    for (si, &(m, k, n)) in shapes.iter().enumerate() {
        let (ab, bb) = (bytes(m * k, si as u32), bytes(k * n, 100 + si as u32));
        let (ai, bi): (Vec<i8>, Vec<i8>) =
            (ab.iter().map(|&v| v as i8).collect(), bb.iter().map(|&v| v as i8).collect());
        for (a_signed, b_signed) in [(false, true), (true, false), (true, true), (false, false)] {
            let a = if a_signed { Int8::I8(&ai) } else { Int8::U8(&ab) };
            let b = if b_signed { Int8::I8(&bi) } else { Int8::U8(&bb) };
            let (alo, blo) = (if a_signed { -128 } else { 0 }, if b_signed { -128 } else { 0 });
            let zas: Vec<Vec<i32>> =
                vec![vec![alo], vec![alo + 77], (0..m as i32).map(|i| alo + (i * 37) % 256).collect()];
            let zbs: Vec<Vec<i32>> = vec![vec![blo + 128], (0..n as i32).map(|j| blo + (j * 53) % 256).collect()];
            for za in &zas {
                for zb in &zbs {
                    let want = reference(m, k, n, a, za, b, zb);
                    let packed = PackedQB::new(b, k, n, zb).unwrap();
                    for vnni in kernels() {
                        let mut c = vec![i32::MIN; m * n];
                        qgemm_with(m, a, za, &packed, &mut c, &Exact, false, vnni).unwrap();
                        assert_eq!(c, want, "m{m} k{k} n{n} a_signed {a_signed} b_signed {b_signed} vnni {vnni}");
                    }
                }
            }
        }
    }
}

#[test]
fn parallel_split_matches_serial() {
    let pool = rayon::ThreadPoolBuilder::new().num_threads(3).build().unwrap();
    // Few panels and many rows (row split), and many panels (panel split).
    for &(m, k, n) in &[(128, 384, 64), (40, 256, 1000), (130, 300, 130)] {
        let (ab, bb) = (bytes(m * k, 7), bytes(k * n, 8));
        let bi: Vec<i8> = bb.iter().map(|&v| v as i8).collect();
        let packed = PackedQB::new(Int8::I8(&bi), k, n, &[3]).unwrap();
        let want = reference(m, k, n, Int8::U8(&ab), &[131], Int8::I8(&bi), &[3]);
        for vnni in kernels() {
            let mut c = vec![0i32; m * n];
            pool.install(|| qgemm_with(m, Int8::U8(&ab), &[131], &packed, &mut c, &Exact, true, vnni)).unwrap();
            assert_eq!(c, want, "m{m} k{k} n{n} vnni {vnni}");
        }
    }
}

#[test]
fn wrong_sizes_are_errors() {
    let b = vec![0i8; 12];
    assert!(PackedQB::new(Int8::I8(&b), 3, 5, &[0]).is_err());
    assert!(PackedQB::new(Int8::I8(&b), 3, 4, &[0, 1]).is_err());
    let p = PackedQB::new(Int8::I8(&b), 3, 4, &[0]).unwrap();
    assert_eq!((p.k(), p.n()), (3, 4));
    let a = vec![0u8; 6];
    let mut c = vec![0i32; 8];
    assert!(qgemm(2, Int8::U8(&a), &[0, 0, 0], &p, &mut c, false).is_err());
    assert!(qgemm(3, Int8::U8(&a), &[0], &p, &mut c, false).is_err());
    assert!(qgemm(2, Int8::U8(&a), &[0], &p, &mut c[..7], false).is_err());
    qgemm(2, Int8::U8(&a), &[0, 0], &p, &mut c, false).unwrap();
    assert_eq!(c, vec![0; 8]);
}

#[test]
fn scaled_output_is_the_cast_mul_add_chain() {
    let (m, k, n) = (9, 70, 40);
    let (ab, bb) = (bytes(m * k, 21), bytes(k * n, 22));
    let bi: Vec<i8> = bb.iter().map(|&v| v as i8).collect();
    let packed = PackedQB::new(Int8::I8(&bi), k, n, &[0]).unwrap();
    let exact = reference(m, k, n, Int8::U8(&ab), &[100], Int8::I8(&bi), &[0]);
    let scale: Vec<f32> = (0..n).map(|j| 0.001 * (j + 1) as f32).collect();
    let bias: Vec<f32> = (0..n).map(|j| j as f32 - 20.0).collect();
    let mut c = vec![0f32; m * n];
    qgemm_scaled(m, Int8::U8(&ab), &[100], &packed, &scale, Some(&bias), &mut c, false).unwrap();
    for (idx, (&got, &e)) in c.iter().zip(&exact).enumerate() {
        let j = idx % n;
        assert_eq!(got, e as f32 * scale[j] + bias[j]);
    }
    qgemm_scaled(m, Int8::U8(&ab), &[100], &packed, &[0.5], None, &mut c, false).unwrap();
    assert!(c.iter().zip(&exact).all(|(&g, &e)| g == e as f32 * 0.5));
    assert!(qgemm_scaled(m, Int8::U8(&ab), &[100], &packed, &[0.5, 1.0], None, &mut c, false).is_err());
    assert!(qgemm_scaled(m, Int8::U8(&ab), &[100], &packed, &[0.5], Some(&bias[..3]), &mut c, false).is_err());
}
