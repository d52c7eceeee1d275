//! The contract between the planner and a provider's operators.
//!
//! A provider registers a [`KernelFactory`] per (domain, op type, opset range).
//! At planning time the factory sees the node, its constant inputs (so weights can
//! be pre-packed once) and a compiler for subgraphs, and returns a [`Kernel`]. At
//! run time the kernel only computes.

use crate::graph::{Graph, Node};
use ronn_core::{Result, Tensor, Value};
use std::collections::HashMap;
use std::sync::Arc;

/// Per-run context handed to every kernel.
pub struct RunContext<'a> {
    /// Threads of the session's pool (kernels parallelize with rayon inside it).
    pub num_threads: usize,
    /// Reserved for per-run services (profiler, memory pool).
    pub _marker: std::marker::PhantomData<&'a ()>,
    /// The session's profiler, if profiling was asked for: the executor times each node into it.
    pub profiler: Option<&'a ronn_core::Profiler>,
    /// Set by another thread to stop the run: the executor checks it before each node.
    pub cancel: Option<&'a std::sync::atomic::AtomicBool>,
}

impl<'a> RunContext<'a> {
    /// A context for `num_threads` threads.
    pub fn new(num_threads: usize) -> RunContext<'static> {
        RunContext { num_threads: num_threads.max(1), _marker: std::marker::PhantomData, profiler: None, cancel: None }
    }

    /// The same context, with nodes timed into `profiler` (when it is recording ops).
    /// (`RunContext::new(n)` is `'static` and shortens to the profiler's lifetime.)
    pub fn with_profiler(mut self, profiler: Option<&'a ronn_core::Profiler>) -> Self {
        self.profiler = profiler;
        self
    }

    /// The same context, stopped (with `Cancelled`) before the next node once `flag` is set.
    pub fn with_cancel(mut self, flag: Option<&'a std::sync::atomic::AtomicBool>) -> Self {
        self.cancel = flag;
        self
    }

    /// Whether the run was asked to stop.
    pub fn is_cancelled(&self) -> bool {
        self.cancel.is_some_and(|c| c.load(std::sync::atomic::Ordering::Relaxed))
    }
}

/// A planned operator, ready to run many times, from many threads at once.
pub trait Kernel: Send + Sync {
    /// Computes the node's outputs. `inputs` holds the node's inputs in order
    /// (`None` for omitted optional ones), followed by its implicit inputs.
    /// Returns one value per node output (trailing unused outputs may be left off).
    fn run(&self, ctx: &RunContext, inputs: &[Option<&Value>]) -> Result<Vec<Value>>;
}

/// A compiled subgraph (the body of If, Loop or Scan).
pub trait SubgraphRunner: Send + Sync {
    /// Runs the subgraph. `inputs` binds its formal inputs in order; `outer` gives
    /// the values of enclosing scopes it reads, by name. Returns its outputs in order.
    fn run(&self, ctx: &RunContext, inputs: Vec<Value>, outer: &HashMap<String, Value>) -> Result<Vec<Value>>;
    /// The subgraph's formal input names.
    fn input_names(&self) -> &[String];
    /// The subgraph's output names.
    fn output_names(&self) -> &[String];
}

/// Compiles subgraphs with the same providers and options as the enclosing graph.
pub trait SubgraphCompiler {
    /// Plans `graph`, whose free names come from enclosing scopes.
    fn compile(&self, graph: &Graph) -> Result<Arc<dyn SubgraphRunner>>;
}

/// What a kernel factory sees at planning time.
pub struct BuildCtx<'a> {
    /// The node being planned.
    pub node: &'a Node,
    /// Constant values of the node's inputs (initializers or folded), by input index.
    pub constants: Vec<Option<&'a Tensor>>,
    /// Compiles the node's subgraph attributes.
    pub subgraphs: &'a dyn SubgraphCompiler,
    /// Threads of the session's pool.
    pub num_threads: usize,
}

impl<'a> BuildCtx<'a> {
    /// The constant value of input `i`, when it is an initializer.
    pub fn constant(&self, i: usize) -> Option<&'a Tensor> {
        self.constants.get(i).copied().flatten()
    }

    /// Compiles the subgraph held in attribute `name`.
    pub fn subgraph(&self, name: &str) -> Result<Arc<dyn SubgraphRunner>> {
        let g = self
            .node
            .attr_graph(name)?
            .ok_or_else(|| self.node.unsupported(format!("missing required graph attribute '{name}'")))?;
        self.subgraphs.compile(g)
    }
}

/// Makes a kernel for one node at planning time.
pub type KernelFactory = fn(&BuildCtx) -> Result<Box<dyn Kernel>>;

struct Entry {
    since: i64,
    until: i64,
    factory: KernelFactory,
}

/// The ops one provider can run, keyed by (domain, op type, opset range).
#[derive(Default)]
pub struct KernelRegistry {
    map: HashMap<(String, String), Vec<Entry>>,
}

/// "" and "ai.onnx" are the same domain.
pub fn canonical_domain(d: &str) -> &str {
    if d == "ai.onnx" {
        ""
    } else {
        d
    }
}

impl KernelRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers `factory` for `op_type` of `domain` at opsets `since..=until`.
    pub fn register(&mut self, domain: &str, op_type: &str, since: i64, until: i64, factory: KernelFactory) {
        self.map.entry((canonical_domain(domain).to_string(), op_type.to_string())).or_default().push(Entry {
            since,
            until,
            factory,
        });
    }

    /// Registers `factory` for every opset of `op_type` in the default domain.
    pub fn register_all(&mut self, op_type: &str, factory: KernelFactory) {
        self.register("", op_type, 1, i64::MAX, factory);
    }

    /// The factory for `op_type` at `opset`, if any.
    pub fn lookup(&self, domain: &str, op_type: &str, opset: i64) -> Option<KernelFactory> {
        self.map
            .get(&(canonical_domain(domain).to_string(), op_type.to_string()))?
            .iter()
            .find(|e| e.since <= opset && opset <= e.until)
            .map(|e| e.factory)
    }

    /// Whether the op is known at any opset.
    pub fn knows(&self, domain: &str, op_type: &str) -> bool {
        self.map.contains_key(&(canonical_domain(domain).to_string(), op_type.to_string()))
    }

    /// Every registered (domain, op type, since, until), sorted.
    pub fn entries(&self) -> Vec<(String, String, i64, i64)> {
        let mut v: Vec<_> = self
            .map
            .iter()
            .flat_map(|((d, o), es)| es.iter().map(move |e| (d.clone(), o.clone(), e.since, e.until)))
            .collect();
        v.sort();
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Nop;
    impl Kernel for Nop {
        fn run(&self, _: &RunContext, _: &[Option<&Value>]) -> Result<Vec<Value>> {
            Ok(vec![])
        }
    }
    fn make(_: &BuildCtx) -> Result<Box<dyn Kernel>> {
        Ok(Box::new(Nop))
    }

    #[test]
    fn lookup_respects_opset_ranges_and_domain_alias() {
        let mut r = KernelRegistry::new();
        r.register("", "Foo", 7, 12, make);
        assert!(r.lookup("ai.onnx", "Foo", 7).is_some());
        assert!(r.lookup("", "Foo", 13).is_none());
        assert!(r.lookup("", "Foo", 6).is_none());
        assert!(r.knows("", "Foo"));
        assert!(!r.knows("com.microsoft", "Foo"));
    }
}
