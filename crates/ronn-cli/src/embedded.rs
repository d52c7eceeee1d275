//! The embedded default model: a digit classifier (64 -> 64 -> 10 MLP) trained on
//! scikit-learn's bundled 8x8 digits by scripts/make_digits_model.py, with 16
//! held-out samples and their true labels.

/// The ONNX model: input `pixels` float32 [N, 64]; outputs `probabilities` [N, 10], `label` int64 [N].
pub const DIGITS_MODEL: &[u8] = include_bytes!("../assets/digits.onnx");
/// 16 held-out samples, float32 [16, 64] (.npy).
pub const DIGITS_INPUTS: &[u8] = include_bytes!("../assets/digits_inputs.npy");
/// Their true labels, int64 [16] (.npy).
pub const DIGITS_LABELS: &[u8] = include_bytes!("../assets/digits_labels.npy");
