//! Inference for elementwise ops: unary ops keep shape and type; binary and
//! variadic ops broadcast; comparisons and logic give bool; Cast changes type.

use super::{broadcast, tensor, Cx};
use crate::graph::ValueType;
use ronn_core::DType;

const UNARY: &[&str] = &[
    "Abs",
    "Neg",
    "Exp",
    "Log",
    "Sqrt",
    "Reciprocal",
    "Floor",
    "Ceil",
    "Round",
    "Sign",
    "Sin",
    "Cos",
    "Tan",
    "Asin",
    "Acos",
    "Atan",
    "Sinh",
    "Cosh",
    "Asinh",
    "Acosh",
    "Atanh",
    "Erf",
    "Relu",
    "LeakyRelu",
    "Elu",
    "Selu",
    "Celu",
    "Sigmoid",
    "HardSigmoid",
    "HardSwish",
    "Tanh",
    "Softplus",
    "Softsign",
    "Gelu",
    "Mish",
    "Swish",
    "ThresholdedRelu",
    "Shrink",
    "Clip",
    "Identity",
    "Dropout",
    "Softmax",
    "LogSoftmax",
    "Hardmax",
    "LRN",
    "BitwiseNot",
    "BatchNormalization",
    "InstanceNormalization",
    "LayerNormalization",
    "GroupNormalization",
    "LpNormalization",
    "MeanVarianceNormalization",
    "RMSNormalization",
    "CumSum",
    "Not",
];
const BINARY: &[&str] =
    &["Add", "Sub", "Mul", "Div", "Pow", "Mod", "BitShift", "BitwiseAnd", "BitwiseOr", "BitwiseXor", "PRelu"];
const VARIADIC: &[&str] = &["Sum", "Mean", "Max", "Min"];
const COMPARE: &[&str] = &["Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual", "And", "Or", "Xor"];

pub(super) fn infer(cx: &Cx) -> Option<Vec<ValueType>> {
    let op = cx.op();
    if UNARY.contains(&op) {
        return Some(vec![cx.ins.first().copied().flatten()?.clone()]);
    }
    if BINARY.contains(&op) || VARIADIC.contains(&op) || COMPARE.contains(&op) {
        let dtype = if COMPARE.contains(&op) { DType::Bool } else { cx.dtype(0)? };
        let mut dims = cx.dims(0);
        for i in 1..cx.ins.len() {
            dims = match (dims, cx.dims(i)) {
                (Some(a), Some(b)) => Some(broadcast(&a, &b)),
                _ => None,
            };
        }
        return Some(vec![tensor(dtype, dims)]);
    }
    match op {
        "Where" => {
            let dims = match (cx.dims(0), cx.dims(1), cx.dims(2)) {
                (Some(a), Some(b), Some(c)) => Some(broadcast(&broadcast(&a, &b), &c)),
                _ => None,
            };
            Some(vec![tensor(cx.dtype(1)?, dims)])
        }
        "Cast" => {
            let to = DType::from_onnx(cx.node.attr_i("to").ok()?? as i32)?;
            Some(vec![tensor(to, cx.dims(0))])
        }
        "CastLike" => Some(vec![tensor(cx.dtype(1)?, cx.dims(0))]),
        "IsNaN" | "IsInf" => Some(vec![tensor(DType::Bool, cx.dims(0))]),
        _ => None,
    }
}
