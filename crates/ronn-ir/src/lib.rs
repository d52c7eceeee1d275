//! RONN's intermediate representation: a [`Graph`] of [`Node`]s over named values,
//! the [`Kernel`] trait that providers implement, and the [`KernelRegistry`] that
//! maps (domain, op type, opset range) to kernel factories.
#![forbid(unsafe_code)]

pub mod attr;
pub mod graph;
pub mod infer;
pub mod kernel;
pub mod ops;

pub use attr::Attribute;
pub use graph::{Dim, Graph, Node, ValueInfo, ValueType};
pub use infer::{infer_types, static_shape};
pub use kernel::{BuildCtx, Kernel, KernelFactory, KernelRegistry, RunContext, SubgraphCompiler, SubgraphRunner};
