//! Which passes run at which level, in order.
//!
//! - O0: nothing; the graph runs as the file says.
//! - O1: identity/dropout removal, shape folding (Shape/Size of statically known
//!   shapes) alternating with constant folding, dead-node removal.
//! - O2 (default): O1, then folding of BatchNormalization and per-channel Mul/Add
//!   into the Conv before them, then Conv (+ residual Add) (+ activation) fusion
//!   into `com.microsoft.FusedConv`; GELU subgraphs (erf and tanh forms, with the
//!   bias Add before them) into `com.microsoft.Gelu` / `BiasGelu` / `FastGelu`;
//!   MatMulInteger -> Cast -> Mul (-> Add) into `com.microsoft.MatMulIntegerToFloat`.
//! - O3: O2 (layout and memory-plan work lands here; see the performance issue).

use crate::{
    constant_folding, conv_affine_fusion, conv_fusion, dead_nodes, gelu_fusion, identity_elimination, qmatmul_fusion,
    shape_folding, ConstantEvaluator,
};
use ronn_core::Result;
use ronn_ir::Graph;

/// Graph optimization level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum OptLevel {
    /// No rewrites.
    O0,
    /// Basic, always-safe rewrites.
    O1,
    /// Fusions (the default).
    #[default]
    O2,
    /// Everything.
    O3,
}

/// Runs the passes of `level` on `g`.
pub fn optimize(g: &mut Graph, level: OptLevel, eval: &dyn ConstantEvaluator) -> Result<()> {
    if level >= OptLevel::O1 {
        identity_elimination::run(g);
        constant_folding::run(g, eval)?;
        // Folding constants can make more shapes static, and static shapes make
        // more constants; a few rounds reach the fixed point on real models.
        for _ in 0..4 {
            if !shape_folding::run(g) {
                break;
            }
            constant_folding::run(g, eval)?;
        }
        dead_nodes::run(g);
    }
    if level >= OptLevel::O2 {
        conv_affine_fusion::run(g)?;
        dead_nodes::run(g);
        conv_fusion::run(g)?;
        gelu_fusion::run(g);
        qmatmul_fusion::run(g);
    }
    Ok(())
}
