//! Row helpers shared by the plane kernels (depthwise convolution here,
//! pooling in the CPU provider).

/// `dst.copy_from_slice(src)` for the short rows of these planes (7..112
/// elements) as fixed-size vector moves, the last one overlapping, instead of a
/// `memcpy` call per row.
#[inline(always)]
pub fn copy_short<T: Copy>(dst: &mut [T], src: &[T]) {
    assert_eq!(dst.len(), src.len());
    let n = dst.len();
    macro_rules! chunks {
        ($w:literal) => {{
            let mut i = 0;
            while i + $w <= n {
                let v: [T; $w] = src[i..i + $w].try_into().expect("chunk");
                dst[i..i + $w].copy_from_slice(&v);
                i += $w;
            }
            if i < n {
                let v: [T; $w] = src[n - $w..].try_into().expect("chunk");
                dst[n - $w..].copy_from_slice(&v);
            }
        }};
    }
    match n {
        16.. => chunks!(16),
        4..=15 => chunks!(4),
        _ => {
            for (d, v) in dst.iter_mut().zip(src) {
                *d = *v;
            }
        }
    }
}
