#![allow(clippy::excessive_precision)]
use crate::testing::{assert_close, run_node};
use ronn_core::{ErrorCode, Tensor};
use ronn_ir::{Attribute, Node};

fn node(eq: &str, n: usize) -> Node {
    let names = ["a", "b", "c"];
    Node::new("Einsum", &names[..n], &["y"], 12).with_attr("equation", Attribute::String(eq.as_bytes().to_vec()))
}

#[test]
fn batch_matmul() {
    let y = &run_node(
        &node("bij,bjk->bik", 2),
        vec![
            Tensor::from_vec(
                vec![2, 3, 4],
                vec![
                    0.0f32, 0.0f32, 2.0f32, 3.0f32, -3.0f32, -2.0f32, 2.0f32, 3.0f32, -2.0f32, -1.0f32, 3.0f32,
                    -1.0f32, -2.0f32, 2.0f32, -2.0f32, -1.0f32, 1.0f32, 0.0f32, -3.0f32, -3.0f32, 3.0f32, 2.0f32,
                    2.0f32, 0.0f32,
                ],
            )
            .unwrap(),
            Tensor::from_vec(
                vec![2, 4, 5],
                vec![
                    2.0f32, -1.0f32, 0.0f32, 2.0f32, -3.0f32, -1.0f32, -3.0f32, 0.0f32, 3.0f32, -3.0f32, -1.0f32,
                    -1.0f32, 3.0f32, -2.0f32, 0.0f32, -2.0f32, -3.0f32, 2.0f32, -3.0f32, -2.0f32, 0.0f32, 0.0f32,
                    -3.0f32, 3.0f32, 2.0f32, 3.0f32, -3.0f32, 2.0f32, -1.0f32, 0.0f32, 3.0f32, -2.0f32, 2.0f32,
                    -2.0f32, -1.0f32, 3.0f32, -1.0f32, 0.0f32, -1.0f32, -3.0f32,
                ],
            )
            .unwrap(),
        ],
    )
    .unwrap()[0];
    assert_eq!(y.shape(), &[2, 3, 5]);
    assert_close(
        y.as_slice::<f32>().unwrap(),
        &[
            -8.0f32, -11.0f32, 12.0f32, -13.0f32, -6.0f32, -12.0f32, -2.0f32, 12.0f32, -25.0f32, 9.0f32, -4.0f32,
            5.0f32, 7.0f32, -10.0f32, 11.0f32, -3.0f32, -1.0f32, 6.0f32, -3.0f32, 1.0f32, -18.0f32, 9.0f32, -9.0f32,
            12.0f32, 14.0f32, 12.0f32, -10.0f32, -1.0f32, 3.0f32, 4.0f32,
        ],
    );
}

#[test]
fn matmul_transposed_out() {
    let y = &run_node(
        &node("ij,jk->ki", 2),
        vec![
            Tensor::from_vec(
                vec![3, 4],
                vec![
                    -1.0f32, 1.0f32, 0.0f32, 2.0f32, -1.0f32, 1.0f32, 2.0f32, 3.0f32, -1.0f32, -3.0f32, 2.0f32, 0.0f32,
                ],
            )
            .unwrap(),
            Tensor::from_vec(vec![4, 2], vec![3.0f32, 0.0f32, -1.0f32, -3.0f32, 0.0f32, 1.0f32, 2.0f32, 2.0f32])
                .unwrap(),
        ],
    )
    .unwrap()[0];
    assert_eq!(y.shape(), &[2, 3]);
    assert_close(y.as_slice::<f32>().unwrap(), &[0.0f32, 2.0f32, 0.0f32, 1.0f32, 5.0f32, 11.0f32]);
}

#[test]
fn attention_like() {
    let y = &run_node(
        &node("bhqd,bhkd->bhqk", 2),
        vec![
            Tensor::from_vec(
                vec![1, 2, 3, 4],
                vec![
                    -2.0f32, 1.0f32, 2.0f32, -2.0f32, -1.0f32, 2.0f32, 1.0f32, 0.0f32, 1.0f32, 0.0f32, 3.0f32, 2.0f32,
                    -3.0f32, -2.0f32, 0.0f32, 2.0f32, -3.0f32, 1.0f32, 2.0f32, 2.0f32, 3.0f32, -2.0f32, 0.0f32, 2.0f32,
                ],
            )
            .unwrap(),
            Tensor::from_vec(
                vec![1, 2, 5, 4],
                vec![
                    -1.0f32, -2.0f32, 0.0f32, -3.0f32, -2.0f32, 2.0f32, 1.0f32, 3.0f32, 2.0f32, 3.0f32, -1.0f32,
                    0.0f32, 1.0f32, -2.0f32, 3.0f32, -3.0f32, 2.0f32, 1.0f32, -2.0f32, 2.0f32, -1.0f32, 2.0f32, 3.0f32,
                    -2.0f32, 0.0f32, -2.0f32, 1.0f32, 1.0f32, 2.0f32, 2.0f32, 3.0f32, 3.0f32, 3.0f32, -2.0f32, -3.0f32,
                    0.0f32, -1.0f32, 3.0f32, 2.0f32, -1.0f32,
                ],
            )
            .unwrap(),
        ],
    )
    .unwrap()[0];
    assert_eq!(y.shape(), &[1, 2, 3, 5]);
    assert_close(
        y.as_slice::<f32>().unwrap(),
        &[
            6.0f32, 2.0f32, -3.0f32, 8.0f32, -11.0f32, -3.0f32, 7.0f32, 3.0f32, -2.0f32, -2.0f32, -7.0f32, 7.0f32,
            -1.0f32, 4.0f32, 0.0f32, -5.0f32, 6.0f32, -4.0f32, -5.0f32, -5.0f32, 7.0f32, 2.0f32, 8.0f32, -17.0f32,
            8.0f32, -11.0f32, 6.0f32, 8.0f32, 13.0f32, -11.0f32,
        ],
    );
}

#[test]
fn outer() {
    let y = &run_node(
        &node("i,j->ij", 2),
        vec![
            Tensor::from_vec(vec![3], vec![1.0f32, 1.0f32, 3.0f32]).unwrap(),
            Tensor::from_vec(vec![4], vec![-3.0f32, 0.0f32, 1.0f32, 0.0f32]).unwrap(),
        ],
    )
    .unwrap()[0];
    assert_eq!(y.shape(), &[3, 4]);
    assert_close(
        y.as_slice::<f32>().unwrap(),
        &[-3.0f32, 0.0f32, 1.0f32, 0.0f32, -3.0f32, 0.0f32, 1.0f32, 0.0f32, -9.0f32, 0.0f32, 3.0f32, 0.0f32],
    );
}

#[test]
fn inner() {
    let y = &run_node(
        &node("i,i", 2),
        vec![
            Tensor::from_vec(vec![5], vec![3.0f32, 3.0f32, 2.0f32, 0.0f32, 3.0f32]).unwrap(),
            Tensor::from_vec(vec![5], vec![-3.0f32, 1.0f32, -2.0f32, -2.0f32, 1.0f32]).unwrap(),
        ],
    )
    .unwrap()[0];
    assert!(y.shape().is_empty(), "a scalar result");
    assert_close(y.as_slice::<f32>().unwrap(), &[-7.0f32]);
}

#[test]
fn transpose() {
    let y = &run_node(
        &node("ij->ji", 1),
        vec![Tensor::from_vec(
            vec![3, 4],
            vec![2.0f32, 3.0f32, -2.0f32, 3.0f32, 2.0f32, -1.0f32, -3.0f32, 2.0f32, 2.0f32, 0.0f32, -2.0f32, -2.0f32],
        )
        .unwrap()],
    )
    .unwrap()[0];
    assert_eq!(y.shape(), &[4, 3]);
    assert_close(
        y.as_slice::<f32>().unwrap(),
        &[2.0f32, 2.0f32, 2.0f32, 3.0f32, -1.0f32, 0.0f32, -2.0f32, -3.0f32, -2.0f32, 3.0f32, 2.0f32, -2.0f32],
    );
}

#[test]
fn sum_all() {
    let y = &run_node(
        &node("ij->", 1),
        vec![Tensor::from_vec(
            vec![3, 4],
            vec![-1.0f32, 2.0f32, -1.0f32, -3.0f32, 1.0f32, 2.0f32, -2.0f32, 0.0f32, -1.0f32, 0.0f32, -3.0f32, 1.0f32],
        )
        .unwrap()],
    )
    .unwrap()[0];
    assert!(y.shape().is_empty(), "a scalar result");
    assert_close(y.as_slice::<f32>().unwrap(), &[-5.0f32]);
}

#[test]
fn row_sum() {
    let y = &run_node(
        &node("ij->i", 1),
        vec![Tensor::from_vec(
            vec![3, 4],
            vec![-2.0f32, 0.0f32, -1.0f32, 1.0f32, -3.0f32, -1.0f32, 1.0f32, 2.0f32, -1.0f32, -3.0f32, 2.0f32, 0.0f32],
        )
        .unwrap()],
    )
    .unwrap()[0];
    assert_eq!(y.shape(), &[3]);
    assert_close(y.as_slice::<f32>().unwrap(), &[-2.0f32, -1.0f32, -2.0f32]);
}

#[test]
fn trace() {
    let y = &run_node(
        &node("ii", 1),
        vec![Tensor::from_vec(
            vec![4, 4],
            vec![
                1.0f32, -2.0f32, 0.0f32, 3.0f32, 3.0f32, -1.0f32, 1.0f32, -3.0f32, 2.0f32, -2.0f32, -1.0f32, 3.0f32,
                0.0f32, 3.0f32, -2.0f32, 2.0f32,
            ],
        )
        .unwrap()],
    )
    .unwrap()[0];
    assert!(y.shape().is_empty(), "a scalar result");
    assert_close(y.as_slice::<f32>().unwrap(), &[1.0f32]);
}

#[test]
fn diag() {
    let y = &run_node(
        &node("ii->i", 1),
        vec![Tensor::from_vec(
            vec![4, 4],
            vec![
                3.0f32, -3.0f32, -2.0f32, -2.0f32, -2.0f32, -1.0f32, -3.0f32, 3.0f32, -2.0f32, 3.0f32, 2.0f32, -2.0f32,
                1.0f32, 2.0f32, -3.0f32, -3.0f32,
            ],
        )
        .unwrap()],
    )
    .unwrap()[0];
    assert_eq!(y.shape(), &[4]);
    assert_close(y.as_slice::<f32>().unwrap(), &[3.0f32, -1.0f32, 2.0f32, -3.0f32]);
}

#[test]
fn batch_diag() {
    let y = &run_node(
        &node("...ii->...i", 1),
        vec![Tensor::from_vec(
            vec![2, 3, 3],
            vec![
                -1.0f32, -3.0f32, -1.0f32, 0.0f32, 1.0f32, 1.0f32, 0.0f32, -2.0f32, 1.0f32, 0.0f32, 2.0f32, 1.0f32,
                2.0f32, 1.0f32, -1.0f32, -2.0f32, 0.0f32, 1.0f32,
            ],
        )
        .unwrap()],
    )
    .unwrap()[0];
    assert_eq!(y.shape(), &[2, 3]);
    assert_close(y.as_slice::<f32>().unwrap(), &[-1.0f32, 1.0f32, 1.0f32, 0.0f32, 1.0f32, 1.0f32]);
}

#[test]
fn ellipsis_matmul() {
    let y = &run_node(
        &node("...ij,...jk->...ik", 2),
        vec![
            Tensor::from_vec(
                vec![2, 1, 3, 4],
                vec![
                    -1.0f32, -2.0f32, -3.0f32, -3.0f32, -2.0f32, -1.0f32, -2.0f32, -2.0f32, -1.0f32, 2.0f32, -1.0f32,
                    3.0f32, 1.0f32, -3.0f32, 3.0f32, 3.0f32, 2.0f32, -2.0f32, 2.0f32, 1.0f32, 2.0f32, 1.0f32, 1.0f32,
                    -1.0f32,
                ],
            )
            .unwrap(),
            Tensor::from_vec(
                vec![3, 4, 2],
                vec![
                    3.0f32, 3.0f32, 1.0f32, -1.0f32, 0.0f32, 0.0f32, -3.0f32, -3.0f32, 0.0f32, 0.0f32, -2.0f32,
                    -2.0f32, -3.0f32, 3.0f32, 0.0f32, -2.0f32, 2.0f32, 3.0f32, -1.0f32, 3.0f32, 2.0f32, 2.0f32, 0.0f32,
                    3.0f32,
                ],
            )
            .unwrap(),
        ],
    )
    .unwrap()[0];
    assert_eq!(y.shape(), &[2, 3, 3, 2]);
    assert_close(
        y.as_slice::<f32>().unwrap(),
        &[
            4.0f32, 8.0f32, -1.0f32, 1.0f32, -10.0f32, -14.0f32, 13.0f32, 1.0f32, 8.0f32, 0.0f32, -1.0f32, -13.0f32,
            -6.0f32, -24.0f32, -7.0f32, -19.0f32, -6.0f32, 10.0f32, -9.0f32, -3.0f32, 1.0f32, 5.0f32, 10.0f32, 8.0f32,
            -3.0f32, 9.0f32, -2.0f32, 8.0f32, -5.0f32, 3.0f32, 11.0f32, 9.0f32, 10.0f32, 7.0f32, 5.0f32, 8.0f32,
        ],
    );
}

#[test]
fn implicit_order() {
    let y = &run_node(
        &node("ba,cb", 2),
        vec![
            Tensor::from_vec(vec![3, 2], vec![-2.0f32, -3.0f32, 3.0f32, 0.0f32, -1.0f32, 2.0f32]).unwrap(),
            Tensor::from_vec(
                vec![4, 3],
                vec![
                    -1.0f32, 1.0f32, 2.0f32, 2.0f32, -3.0f32, 3.0f32, 2.0f32, 1.0f32, -2.0f32, 3.0f32, -1.0f32, 3.0f32,
                ],
            )
            .unwrap(),
        ],
    )
    .unwrap()[0];
    assert_eq!(y.shape(), &[2, 4]);
    assert_close(
        y.as_slice::<f32>().unwrap(),
        &[3.0f32, -16.0f32, 1.0f32, -12.0f32, 7.0f32, 0.0f32, -10.0f32, -3.0f32],
    );
}

#[test]
fn three_operands() {
    let y = &run_node(
        &node("ij,jk,kl->il", 3),
        vec![
            Tensor::from_vec(vec![2, 3], vec![-2.0f32, -3.0f32, 2.0f32, 1.0f32, -1.0f32, 3.0f32]).unwrap(),
            Tensor::from_vec(
                vec![3, 4],
                vec![
                    3.0f32, -3.0f32, 1.0f32, 2.0f32, 1.0f32, 1.0f32, 0.0f32, 0.0f32, -1.0f32, -2.0f32, -1.0f32, 1.0f32,
                ],
            )
            .unwrap(),
            Tensor::from_vec(vec![4, 2], vec![3.0f32, 3.0f32, -2.0f32, -3.0f32, 3.0f32, 1.0f32, 2.0f32, 2.0f32])
                .unwrap(),
        ],
    )
    .unwrap()[0];
    assert_eq!(y.shape(), &[2, 2]);
    assert_close(y.as_slice::<f32>().unwrap(), &[-47.0f32, -38.0f32, 21.0f32, 35.0f32]);
}

#[test]
fn sum_one_side() {
    let y = &run_node(
        &node("ij,jk->k", 2),
        vec![
            Tensor::from_vec(
                vec![3, 4],
                vec![
                    -1.0f32, 3.0f32, 1.0f32, 1.0f32, -1.0f32, -1.0f32, -1.0f32, 1.0f32, 0.0f32, -3.0f32, -3.0f32,
                    -2.0f32,
                ],
            )
            .unwrap(),
            Tensor::from_vec(vec![4, 2], vec![0.0f32, 1.0f32, 3.0f32, 2.0f32, -2.0f32, 0.0f32, 2.0f32, 3.0f32])
                .unwrap(),
        ],
    )
    .unwrap()[0];
    assert_eq!(y.shape(), &[2]);
    assert_close(y.as_slice::<f32>().unwrap(), &[3.0f32, -4.0f32]);
}

#[test]
fn broadcast_scalar_dim() {
    let y = &run_node(
        &node("ij,ij->ij", 2),
        vec![
            Tensor::from_vec(vec![1, 4], vec![0.0f32, 2.0f32, -2.0f32, 0.0f32]).unwrap(),
            Tensor::from_vec(
                vec![3, 4],
                vec![
                    3.0f32, -1.0f32, -3.0f32, 2.0f32, -1.0f32, 0.0f32, 3.0f32, -1.0f32, -2.0f32, -2.0f32, 2.0f32,
                    -2.0f32,
                ],
            )
            .unwrap(),
        ],
    )
    .unwrap()[0];
    assert_eq!(y.shape(), &[3, 4]);
    assert_close(
        y.as_slice::<f32>().unwrap(),
        &[0.0f32, -2.0f32, 6.0f32, 0.0f32, 0.0f32, 0.0f32, -6.0f32, 0.0f32, 0.0f32, -4.0f32, -4.0f32, 0.0f32],
    );
}

#[test]
fn upper_lower() {
    let y = &run_node(
        &node("aA,Ab->Ab", 2),
        vec![
            Tensor::from_vec(vec![2, 3], vec![1.0f32, -2.0f32, 2.0f32, 2.0f32, 1.0f32, -1.0f32]).unwrap(),
            Tensor::from_vec(vec![3, 2], vec![-1.0f32, 3.0f32, 2.0f32, -1.0f32, -3.0f32, -3.0f32]).unwrap(),
        ],
    )
    .unwrap()[0];
    assert_eq!(y.shape(), &[3, 2]);
    assert_close(y.as_slice::<f32>().unwrap(), &[-3.0f32, 9.0f32, -2.0f32, 1.0f32, -3.0f32, -3.0f32]);
}

#[test]
fn int_and_errors() {
    let a = Tensor::from_vec(vec![2, 2], vec![1i32, 2, 3, 4]).unwrap();
    let y = &run_node(&node("ij,jk->ik", 2), vec![a.clone(), a.clone()]).unwrap()[0];
    assert_eq!(y.as_slice::<i32>().unwrap(), &[7, 10, 15, 22]);
    // shape disagreement
    let b = Tensor::from_vec(vec![3, 2], vec![1i32; 6]).unwrap();
    assert_eq!(run_node(&node("ij,jk->ik", 2), vec![a.clone(), b]).unwrap_err().code(), ErrorCode::ShapeMismatch);
    // type disagreement
    let f = Tensor::from_vec(vec![2, 2], vec![1f32; 4]).unwrap();
    assert_eq!(run_node(&node("ij,jk->ik", 2), vec![a.clone(), f]).unwrap_err().code(), ErrorCode::TypeMismatch);
    // wrong rank for the term
    assert_eq!(run_node(&node("ijk->i", 1), vec![a.clone()]).unwrap_err().code(), ErrorCode::ShapeMismatch);
    // output label not in inputs
    assert_eq!(run_node(&node("ij->iz", 1), vec![a.clone()]).unwrap_err().code(), ErrorCode::InvalidArgument);
    // malformed equations are refused at planning time
    assert_eq!(run_node(&node("i$->i", 1), vec![a.clone()]).unwrap_err().code(), ErrorCode::UnsupportedOp);
    assert_eq!(run_node(&node("ij,jk->ik", 1), vec![a]).unwrap_err().code(), ErrorCode::UnsupportedOp);
}

#[test]
fn large_batched_matmul_matches_naive() {
    let (b, m, k, n) = (4usize, 33usize, 70usize, 29usize);
    let av: Vec<f32> = (0..b * m * k).map(|i| ((i * 31 % 17) as f32 - 8.0) * 0.125).collect();
    let bv: Vec<f32> = (0..b * k * n).map(|i| ((i * 13 % 11) as f32 - 5.0) * 0.25).collect();
    let a = Tensor::from_vec(vec![b, m, k], av.clone()).unwrap();
    let bt = Tensor::from_vec(vec![b, k, n], bv.clone()).unwrap();
    let y = &run_node(&node("bmk,bkn->bnm", 2), vec![a, bt]).unwrap()[0];
    assert_eq!(y.shape(), &[b, n, m]);
    let mut want = vec![0f32; b * n * m];
    for bi in 0..b {
        for ni in 0..n {
            for mi in 0..m {
                want[(bi * n + ni) * m + mi] =
                    (0..k).map(|ki| av[(bi * m + mi) * k + ki] * bv[(bi * k + ki) * n + ni]).sum();
            }
        }
    }
    assert_close(y.as_slice::<f32>().unwrap(), &want);
}

#[test]
fn tiled_path_with_leftover_rows_and_cols() {
    // m = 6 (one 4-row tile + 2 rows), n = 19 (two 8-col tiles + 3), k = 5, batch 2.
    let (b, m, k, n) = (2usize, 6usize, 5usize, 19usize);
    let av: Vec<f32> = (0..b * m * k).map(|i| ((i * 7 % 13) as f32) - 6.0).collect();
    let bv: Vec<f32> = (0..b * k * n).map(|i| ((i * 5 % 9) as f32) - 4.0).collect();
    let a = Tensor::from_vec(vec![b, m, k], av.clone()).unwrap();
    let bt = Tensor::from_vec(vec![b, k, n], bv.clone()).unwrap();
    let y = &run_node(&node("bmk,bkn->bmn", 2), vec![a, bt]).unwrap()[0];
    let mut want = vec![0f32; b * m * n];
    for bi in 0..b {
        for mi in 0..m {
            for ni in 0..n {
                want[(bi * m + mi) * n + ni] =
                    (0..k).map(|ki| av[(bi * m + mi) * k + ki] * bv[(bi * k + ki) * n + ni]).sum();
            }
        }
    }
    assert_close(y.as_slice::<f32>().unwrap(), &want);
}
