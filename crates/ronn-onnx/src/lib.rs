//! ONNX in and out: decodes `ModelProto` bytes (prost types generated from the
//! onnx 1.23.2 schema and committed, so no `protoc` is needed) into RONN's IR —
//! initializers from raw or typed fields or external files, model-local functions
//! inlined, subgraphs with their outer-scope reads — and encodes values back as
//! `TensorProto` / `SequenceProto` / `OptionalProto`.
#![forbid(unsafe_code)]

pub mod builder;
pub mod load;
pub mod tensor;
pub mod write;

/// The prost types of onnx-ml.proto and onnx-data.proto.
#[allow(missing_docs, clippy::all)]
pub mod proto {
    include!("generated/onnx.rs");
}

pub use load::{load_model, load_model_bytes, OnnxModel};
pub use tensor::{tensor_from_proto, tensor_to_proto};
pub use write::{decode_value, encode_value};
