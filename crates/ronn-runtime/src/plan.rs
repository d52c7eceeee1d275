//! Planning and execution of one graph (the main graph or a subgraph).
//!
//! Planning gives every value a slot, builds each node's kernel once (with its
//! constant inputs, so weights are pre-packed), and records after which step
//! each intermediate is last read, so `run` frees it there.

use ronn_core::{Error, ProfileCategory, Profiler, Result, Tensor, Value};
use ronn_ir::{BuildCtx, Graph, Kernel, KernelRegistry, RunContext, SubgraphCompiler, SubgraphRunner};
use std::collections::HashMap;
use std::sync::Arc;

pub(crate) struct Step {
    pub name: String,
    pub op_type: String,
    pub kernel: Arc<dyn Kernel>,
    pub inputs: Vec<Option<usize>>,
    pub outputs: Vec<Option<usize>>,
    /// Slots whose last reader is this step.
    pub free_after: Vec<usize>,
}

/// A planned graph.
pub(crate) struct Plan {
    pub steps: Vec<Step>,
    /// Constant values (initializers) by slot; `None` for computed slots.
    pub constants: Vec<Option<Arc<Value>>>,
    /// Slots of the graph's formal inputs, in order.
    pub input_slots: Vec<usize>,
    pub input_names: Vec<String>,
    /// Slots of free names read from enclosing scopes.
    pub outer_slots: Vec<(String, usize)>,
    pub output_slots: Vec<usize>,
    pub output_names: Vec<String>,
    /// Each node's kernel with what it was built from, so a plan specialized to
    /// input shapes can reuse the kernels (and pre-packed weights) it shares.
    pub kernels: HashMap<String, (KernelKey, Arc<dyn Kernel>)>,
}

/// What a kernel depends on besides the node's attributes: its input names and
/// which of them were constants.
pub(crate) type KernelKey = Vec<(String, bool)>;

/// Compiles graphs with one registry.
pub(crate) struct Compiler<'r> {
    pub registry: &'r KernelRegistry,
    pub num_threads: usize,
    /// Kernels of a plan of the same graph to reuse where a node is unchanged.
    pub reuse: Option<&'r HashMap<String, (KernelKey, Arc<dyn Kernel>)>>,
}

impl SubgraphCompiler for Compiler<'_> {
    fn compile(&self, graph: &Graph) -> Result<Arc<dyn SubgraphRunner>> {
        let sub = Compiler { registry: self.registry, num_threads: self.num_threads, reuse: None };
        Ok(Arc::new(sub.plan(graph)?))
    }
}

impl Compiler<'_> {
    /// Plans `g`. Reports every unsupported node together.
    pub fn plan(&self, g: &Graph) -> Result<Plan> {
        let mut slots: HashMap<String, usize> = HashMap::new();
        let slot = |name: &str, slots: &mut HashMap<String, usize>| -> usize {
            let n = slots.len();
            *slots.entry(name.to_string()).or_insert(n)
        };
        let input_slots: Vec<usize> = g.inputs.iter().map(|i| slot(&i.name, &mut slots)).collect();
        for name in g.initializers.keys() {
            slot(name, &mut slots);
        }
        let free = g.free_names();
        let outer_slots: Vec<(String, usize)> = free.iter().map(|n| (n.clone(), slot(n, &mut slots))).collect();
        let mut unsupported = Vec::new();
        let mut steps = Vec::with_capacity(g.nodes.len());
        let mut kernels = HashMap::new();
        for node in &g.nodes {
            let ins: Vec<Option<usize>> = node
                .inputs
                .iter()
                .chain(&node.implicit_inputs)
                .map(|i| if i.is_empty() { None } else { Some(slot(i, &mut slots)) })
                .collect();
            let outs: Vec<Option<usize>> =
                node.outputs.iter().map(|o| if o.is_empty() { None } else { Some(slot(o, &mut slots)) }).collect();
            let Some(factory) = self.registry.lookup(&node.domain, &node.op_type, node.opset) else {
                let why = if self.registry.knows(&node.domain, &node.op_type) {
                    format!("no CPU kernel for opset {}", node.opset)
                } else {
                    "unknown operator".to_string()
                };
                if let Error::Unsupported(mut v) = node.unsupported(why) {
                    unsupported.append(&mut v);
                }
                continue;
            };
            let key: KernelKey = node.inputs.iter().map(|i| (i.clone(), g.initializers.contains_key(i))).collect();
            if let Some((k, kernel)) = self.reuse.and_then(|r| r.get(&node.name)) {
                if *k == key {
                    kernels.insert(node.name.clone(), (key, kernel.clone()));
                    steps.push(Step {
                        name: node.name.clone(),
                        op_type: node.op_type.clone(),
                        kernel: kernel.clone(),
                        inputs: ins,
                        outputs: outs,
                        free_after: vec![],
                    });
                    continue;
                }
            }
            let constants = node.inputs.iter().map(|i| g.initializers.get(i)).collect();
            let ctx = BuildCtx { node, constants, subgraphs: self, num_threads: self.num_threads };
            match factory(&ctx).map(Arc::<dyn Kernel>::from) {
                Ok(kernel) => {
                    kernels.insert(node.name.clone(), (key, kernel.clone()));
                    steps.push(Step {
                        name: node.name.clone(),
                        op_type: node.op_type.clone(),
                        kernel,
                        inputs: ins,
                        outputs: outs,
                        free_after: vec![],
                    })
                }
                Err(Error::Unsupported(mut v)) => unsupported.append(&mut v),
                Err(e) => return Err(e.in_node(&node.name, &node.op_type)),
            }
        }
        if !unsupported.is_empty() {
            return Err(Error::Unsupported(unsupported));
        }
        let output_slots: Vec<usize> = g.outputs.iter().map(|o| slot(&o.name, &mut slots)).collect();
        let mut constants: Vec<Option<Arc<Value>>> = vec![None; slots.len()];
        for (name, t) in &g.initializers {
            constants[slots[name]] = Some(Arc::new(Value::Tensor(t.clone())));
        }
        // Free each computed value after its last reader; keep outputs and constants.
        let mut last_use: HashMap<usize, usize> = HashMap::new();
        for (k, s) in steps.iter().enumerate() {
            for i in s.inputs.iter().flatten() {
                last_use.insert(*i, k);
            }
        }
        for (s, k) in last_use {
            if constants[s].is_none() && !output_slots.contains(&s) {
                steps[k].free_after.push(s);
            }
        }
        Ok(Plan {
            steps,
            constants,
            input_slots,
            input_names: g.inputs.iter().map(|i| i.name.clone()).collect(),
            outer_slots,
            output_slots,
            output_names: g.outputs.iter().map(|o| o.name.clone()).collect(),
            kernels,
        })
    }
}

impl Plan {
    /// Runs the plan. `feeds` binds slots to values (inputs and outer names).
    ///
    /// Each intermediate goes back to the thread's current memory pool (if a
    /// run entered one) after its last reader, when nothing else holds it.
    pub fn execute(&self, ctx: &RunContext, feeds: Vec<(usize, Value)>) -> Result<Vec<Value>> {
        let memory = ronn_core::pool::current();
        let recycle = |v: Option<Arc<Value>>| {
            if let (Some(m), Some(v)) = (&memory, v) {
                if let Ok(v) = Arc::try_unwrap(v) {
                    m.put_value(v);
                }
            }
        };
        let mut slots: Vec<Option<Arc<Value>>> = self.constants.clone();
        for (s, v) in feeds {
            slots[s] = Some(Arc::new(v));
        }
        for step in &self.steps {
            if ctx.is_cancelled() {
                return Err(Error::Cancelled(format!("the run was cancelled before node '{}'", step.name)));
            }
            let produced = {
                let mut args: Vec<Option<&Value>> = Vec::with_capacity(step.inputs.len());
                for i in &step.inputs {
                    match i {
                        None => args.push(None),
                        Some(s) => match &slots[*s] {
                            Some(v) => args.push(Some(v)),
                            None => {
                                return Err(Error::InvalidArgument(
                                    "an input of this node was not computed (a missing graph input or an unused optional output)"
                                        .to_string(),
                                )
                                .in_node(&step.name, &step.op_type))
                            }
                        },
                    }
                }
                // Profiling off costs this one branch per node: no clock read, no allocation.
                match ctx.profiler {
                    Some(p) if p.is_recording(ProfileCategory::Ops) => run_profiled(p, step, ctx, &args),
                    _ => step.kernel.run(ctx, &args),
                }
                .map_err(|e| e.in_node(&step.name, &step.op_type))?
            };
            let mut produced = produced.into_iter();
            for o in &step.outputs {
                let v = produced.next();
                if let (Some(s), Some(v)) = (o, v) {
                    // Shared storage: a Reshape/Flatten/Squeeze of it is then a view,
                    // not a copy (ShuffleNet's channel shuffles copied 1.4 ms per run).
                    let v = match v {
                        Value::Tensor(t) => Value::Tensor(t.into_shared()),
                        other => other,
                    };
                    slots[*s] = Some(Arc::new(v));
                }
            }
            for s in &step.free_after {
                recycle(slots[*s].take());
            }
        }
        let outs = self
            .output_slots
            .iter()
            .zip(&self.output_names)
            .map(|(s, name)| {
                slots[*s].clone().ok_or_else(|| Error::Internal(format!("output '{name}' was not computed")))
            })
            .collect::<Result<Vec<_>>>()?;
        // Values nobody read (unused outputs) go back too; outputs and constants
        // are still held elsewhere, so `recycle` leaves them alone.
        slots.into_iter().for_each(recycle);
        // Unique outputs move out; shared ones (constants, repeated outputs) are cloned.
        Ok(outs.into_iter().map(|a| Arc::try_unwrap(a).unwrap_or_else(|a| (*a).clone())).collect())
    }
}

/// Runs one step and records it (name, op type, input shapes, provider, thread) into `p`.
fn run_profiled(p: &Profiler, step: &Step, ctx: &RunContext, args: &[Option<&Value>]) -> Result<Vec<Value>> {
    let start = std::time::Instant::now();
    let out = step.kernel.run(ctx, args);
    let end = std::time::Instant::now();
    let shapes = args.iter().map(|a| describe(*a)).collect::<Vec<_>>().join(", ");
    let args = vec![("input_shapes".to_string(), shapes), ("provider".to_string(), "cpu".to_string())];
    p.record(&step.name, ProfileCategory::Ops, Some(&step.op_type), start, end, args);
    out
}

/// A value's shape for a profile: `[1,3,224,224]`, `seq(n)`, or `none`.
fn describe(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Optional(None)) => "none".to_string(),
        Some(Value::Tensor(t)) => format!("{:?}", t.shape()).replace(' ', ""),
        Some(Value::Sequence { items, .. }) => format!("seq({})", items.len()),
        Some(Value::Optional(Some(v))) => describe(Some(v)),
    }
}

impl SubgraphRunner for Plan {
    fn run(&self, ctx: &RunContext, inputs: Vec<Value>, outer: &HashMap<String, Value>) -> Result<Vec<Value>> {
        if inputs.len() > self.input_slots.len() {
            return Err(Error::InvalidArgument(format!(
                "subgraph takes {} inputs, got {}",
                self.input_slots.len(),
                inputs.len()
            )));
        }
        let mut feeds: Vec<(usize, Value)> = self.input_slots.iter().copied().zip(inputs).collect();
        for (name, s) in &self.outer_slots {
            let v = outer.get(name).ok_or_else(|| {
                Error::InvalidModel(format!("subgraph reads '{name}', which no enclosing scope defines"))
            })?;
            feeds.push((*s, v.clone()));
        }
        self.execute(ctx, feeds)
    }

    fn input_names(&self) -> &[String] {
        &self.input_names
    }

    fn output_names(&self) -> &[String] {
        &self.output_names
    }
}

/// Runs single nodes on constants for the optimizer, through the CPU registry.
pub(crate) struct CpuEvaluator<'r> {
    pub registry: &'r KernelRegistry,
}

impl ronn_optim::ConstantEvaluator for CpuEvaluator<'_> {
    fn eval(&self, node: &ronn_ir::Node, inputs: &[Option<&Tensor>]) -> Result<Vec<Value>> {
        let factory = self
            .registry
            .lookup(&node.domain, &node.op_type, node.opset)
            .ok_or_else(|| Error::UnsupportedOp(node.op_type.clone()))?;
        let compiler = Compiler { registry: self.registry, num_threads: 1, reuse: None };
        let ctx = BuildCtx { node, constants: inputs.to_vec(), subgraphs: &compiler, num_threads: 1 };
        let kernel = factory(&ctx)?;
        let vals: Vec<Option<Value>> = inputs.iter().map(|t| t.map(|t| Value::Tensor(t.clone()))).collect();
        let refs: Vec<Option<&Value>> = vals.iter().map(|v| v.as_ref()).collect();
        kernel.run(&RunContext::new(1), &refs)
    }
}
