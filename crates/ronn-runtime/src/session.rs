//! [`Session`]: a model optimized and planned once, run many times.
//!
//! Besides the generic plan, a session keeps plans specialized to the input
//! shapes it has seen (up to [`SHAPE_CACHE`]): with the symbolic dims known,
//! shape chains fold to constants, and the nodes that did not change reuse the
//! generic plan's kernels and pre-packed weights.

use crate::model::{cpu_registry, Model, TensorInfo};
use crate::options::{OptimizationLevel, SessionOptions};
use crate::plan::{Compiler, CpuEvaluator, Plan};
use crate::run_options::RunOptions;
use ronn_core::pool::MemoryPool;
use ronn_core::{Error, Result, Tensor, Value};
use ronn_ir::{Dim, Graph, RunContext, ValueType};
use std::any::Any;
use std::collections::{HashMap, VecDeque};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex};

/// How many input-shape-specialized plans a session keeps.
pub const SHAPE_CACHE: usize = 8;

type ShapeKey = Vec<Vec<usize>>;

#[derive(Default)]
struct ShapeCache {
    order: VecDeque<ShapeKey>,
    plans: HashMap<ShapeKey, Arc<Plan>>,
}

/// A planned model. `Send + Sync`: call [`Session::run`] from many threads at once.
pub struct Session {
    base: Arc<Plan>,
    graph: Graph,
    specialize: bool,
    cache: Mutex<ShapeCache>,
    pool: Arc<rayon::ThreadPool>,
    memory: Option<Arc<MemoryPool>>,
    threads: usize,
    inputs: Vec<TensorInfo>,
    outputs: Vec<TensorInfo>,
    constant_inputs: Vec<String>,
    options: SessionOptions,
}

/// A validated run: the plan to execute and its input slots filled.
struct Prepared {
    plan: Arc<Plan>,
    slots: Vec<(usize, Value)>,
}

/// The message of a caught panic, as [`Error::Panic`].
pub(crate) fn panic_error(p: Box<dyn Any + Send>) -> Error {
    let msg = p
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic with a non-string payload".to_string());
    Error::Panic(msg)
}

/// A run's outputs, in graph-output order, addressable by name.
#[derive(Debug, Clone)]
pub struct Outputs {
    values: Vec<(String, Value)>,
}

impl Outputs {
    /// Outputs from (name, value) pairs (batching builds each request's share this way).
    pub fn from_values(values: Vec<(String, Value)>) -> Outputs {
        Outputs { values }
    }

    /// The value named `name`.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.values.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }

    /// The tensor named `name` (`NotFound` / `TypeMismatch` otherwise).
    pub fn tensor(&self, name: &str) -> Result<&Tensor> {
        self.get(name).ok_or_else(|| Error::NotFound(format!("no output named '{name}'")))?.as_tensor()
    }

    /// Number of outputs.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// (name, value) pairs in graph-output order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.values.iter().map(|(n, v)| (n.as_str(), v))
    }
}

impl IntoIterator for Outputs {
    type Item = (String, Value);
    type IntoIter = std::vec::IntoIter<(String, Value)>;
    fn into_iter(self) -> Self::IntoIter {
        self.values.into_iter()
    }
}

impl Session {
    pub(crate) fn new(model: &Model, options: SessionOptions) -> Result<Session> {
        options.check_provider()?;
        let threads = options.threads();
        let registry = cpu_registry();
        let mut graph = model.inner.graph.clone();
        ronn_optim::optimize(&mut graph, options.optimization_level, &CpuEvaluator { registry })?;
        let compiler = Compiler { registry, num_threads: threads, reuse: None };
        let base = Arc::new(compiler.plan(&graph)?);
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("ronn-worker-{i}"))
            .build()
            .map_err(|e| Error::Internal(format!("cannot start {threads} threads: {e}")))?;
        let g = &model.inner.graph;
        let symbolic_inputs = model.inputs().iter().any(|i| match &i.shape {
            Some(s) => s.iter().any(|d| !matches!(d, Dim::Known(_))),
            None => true,
        });
        let has_shape_ops = graph.nodes.iter().any(|n| n.op_type == "Shape" || n.op_type == "Size");
        Ok(Session {
            base,
            specialize: options.optimization_level >= OptimizationLevel::O1 && symbolic_inputs && has_shape_ops,
            graph,
            cache: Mutex::new(ShapeCache::default()),
            pool: Arc::new(pool),
            memory: options.memory_pool.make(),
            threads,
            inputs: model.inputs(),
            outputs: model.outputs(),
            constant_inputs: g
                .inputs
                .iter()
                .filter(|i| g.initializers.contains_key(&i.name))
                .map(|i| i.name.clone())
                .collect(),
            options,
        })
    }

    /// The inputs to feed.
    pub fn inputs(&self) -> &[TensorInfo] {
        &self.inputs
    }

    /// The outputs a run returns.
    pub fn outputs(&self) -> &[TensorInfo] {
        &self.outputs
    }

    /// The options the session was made with.
    pub fn options(&self) -> &SessionOptions {
        &self.options
    }

    /// The profiler given in the options, for its report and Chrome trace after runs.
    pub fn profiler(&self) -> Option<&Arc<ronn_core::Profiler>> {
        self.options.profiler.as_ref()
    }

    /// Threads in the session's pool.
    pub fn num_threads(&self) -> usize {
        self.threads
    }

    /// The memory pool the session's runs take their buffers from (none when
    /// [`crate::MemoryPoolOption::Off`]); its `stats()` describe real runs.
    pub fn memory_pool(&self) -> Option<&Arc<MemoryPool>> {
        self.memory.as_ref()
    }

    /// Runs the model on tensors given by input name.
    ///
    /// ```no_run
    /// # use ronn_runtime::{Model, SessionOptions};
    /// # use ronn_core::Tensor;
    /// let session = Model::load("model.onnx")?.create_session(SessionOptions::default())?;
    /// let x = Tensor::from_vec(vec![1, 3], vec![1.0f32, 2.0, 3.0])?;
    /// let out = session.run([("input", x)])?;
    /// println!("{:?}", out.tensor("output")?);
    /// # Ok::<(), ronn_core::Error>(())
    /// ```
    pub fn run<K, V>(&self, inputs: impl IntoIterator<Item = (K, V)>) -> Result<Outputs>
    where
        K: AsRef<str>,
        V: Into<Value>,
    {
        self.run_with_options(inputs, &RunOptions::default())
    }

    /// [`Session::run`] with per-run options: a profiler for this run only, a
    /// cancel token (a cancelled run answers [`Error::Cancelled`]).
    pub fn run_with_options<K, V>(
        &self,
        inputs: impl IntoIterator<Item = (K, V)>,
        options: &RunOptions,
    ) -> Result<Outputs>
    where
        K: AsRef<str>,
        V: Into<Value>,
    {
        let prepared = self.prepare(inputs)?;
        self.pool.install(|| self.execute(prepared, options))
    }

    /// Runs on the session's own threads and calls `done` with the result there:
    /// the caller never blocks (what async runs and the C ABI's completion
    /// callbacks build on). `done` is called exactly once, on a `ronn-worker-*`
    /// thread, also for invalid inputs and for a panic in a kernel (as
    /// [`Error::Panic`]); a panic in `done` itself is swallowed so the pool lives on.
    pub fn run_with_callback<F>(self: &Arc<Self>, inputs: Vec<(String, Value)>, done: F)
    where
        F: FnOnce(Result<Outputs>) + Send + 'static,
    {
        self.run_with_callback_and_options(inputs, RunOptions::default(), done)
    }

    /// [`Session::run_with_callback`] with per-run options. A run cancelled
    /// before a worker picks it up never starts and answers `Cancelled`.
    pub fn run_with_callback_and_options<F>(
        self: &Arc<Self>,
        inputs: Vec<(String, Value)>,
        options: RunOptions,
        done: F,
    ) where
        F: FnOnce(Result<Outputs>) + Send + 'static,
    {
        let session = self.clone();
        self.pool.spawn(move || {
            let r = if options.is_cancelled() {
                Err(Error::Cancelled("the run was cancelled before it started".into()))
            } else {
                // Validation and plan specialization happen here too, off the caller's thread.
                catch_unwind(AssertUnwindSafe(|| session.prepare(inputs)))
                    .unwrap_or_else(|p| Err(panic_error(p)))
                    .and_then(|prepared| session.execute(prepared, &options))
            };
            let _ = catch_unwind(AssertUnwindSafe(move || done(r)));
        });
    }

    /// Validates the feeds, orders them by the model's inputs and picks the plan.
    fn prepare<K, V>(&self, inputs: impl IntoIterator<Item = (K, V)>) -> Result<Prepared>
    where
        K: AsRef<str>,
        V: Into<Value>,
    {
        // Validate and order the feeds by the model's input order.
        let mut fed: Vec<Option<Value>> = vec![None; self.inputs.len()];
        let mut bindings: HashMap<String, usize> = HashMap::new();
        for (k, v) in inputs {
            let name = k.as_ref();
            let v: Value = v.into();
            let idx = self.inputs.iter().position(|i| i.name == name).ok_or_else(|| {
                if self.constant_inputs.iter().any(|c| c == name) {
                    Error::InvalidArgument(format!(
                        "input '{name}' is a constant (initializer) of this model and cannot be fed"
                    ))
                } else {
                    let names: Vec<&str> = self.inputs.iter().map(|i| i.name.as_str()).collect();
                    Error::NotFound(format!("the model has no input named '{name}'; its inputs are {names:?}"))
                }
            })?;
            if fed[idx].is_some() {
                return Err(Error::InvalidArgument(format!("input '{name}' is given twice")));
            }
            check_input(&self.inputs[idx], &v, &mut bindings)?;
            fed[idx] = Some(v);
        }
        let mut feeds: Vec<(String, Value)> = Vec::with_capacity(fed.len());
        for (info, v) in self.inputs.iter().zip(fed) {
            match v {
                Some(v) => feeds.push((info.name.clone(), v)),
                // An optional input left out is an empty optional.
                None if matches!(info.value_type, ValueType::Optional(_)) => {
                    feeds.push((info.name.clone(), Value::Optional(None)))
                }
                None => {
                    return Err(Error::InvalidArgument(format!(
                        "input '{}' ({}) is missing",
                        info.name, info.value_type
                    )))
                }
            }
        }
        let plan = self.plan_for(&feeds)?;
        let slots: Vec<(usize, Value)> = feeds
            .into_iter()
            .filter_map(|(name, v)| {
                let k = plan.input_names.iter().position(|n| *n == name)?;
                Some((plan.input_slots[k], v))
            })
            .collect();
        Ok(Prepared { plan, slots })
    }

    /// Executes a prepared run on the calling thread (inside the pool); a panic
    /// in a kernel becomes [`Error::Panic`] instead of unwinding into the caller.
    fn execute(&self, p: Prepared, options: &RunOptions) -> Result<Outputs> {
        let Prepared { plan, slots } = p;
        let profiler = options.profiler.as_deref().or(self.options.profiler.as_deref());
        let ctx = RunContext::new(self.threads)
            .with_profiler(profiler)
            .with_cancel(options.cancel.as_ref().map(|c| c.flag()));
        // Kernels of this run take their buffers from the session's pool.
        let _scope = self.memory.as_ref().map(|m| m.enter());
        let values =
            catch_unwind(AssertUnwindSafe(|| plan.execute(&ctx, slots))).unwrap_or_else(|p| Err(panic_error(p)))?;
        Ok(Outputs { values: plan.output_names.iter().cloned().zip(values).collect() })
    }

    /// The plan for these inputs' shapes: a cached specialized plan, or the generic one.
    fn plan_for(&self, feeds: &[(String, Value)]) -> Result<Arc<Plan>> {
        if !self.specialize {
            return Ok(self.base.clone());
        }
        let key: ShapeKey = feeds
            .iter()
            .map(|(_, v)| match v {
                Value::Tensor(t) => t.shape().to_vec(),
                _ => vec![usize::MAX],
            })
            .collect();
        if let Ok(c) = self.cache.lock() {
            if let Some(p) = c.plans.get(&key) {
                return Ok(p.clone());
            }
        }
        let shapes: Vec<(String, Vec<usize>)> = feeds.iter().map(|(n, _)| n.clone()).zip(key.iter().cloned()).collect();
        let registry = cpu_registry();
        let plan = match ronn_optim::specialize(&self.graph, &shapes, &CpuEvaluator { registry })? {
            Some(g) => {
                let compiler = Compiler { registry, num_threads: self.threads, reuse: Some(&self.base.kernels) };
                Arc::new(compiler.plan(&g)?)
            }
            None => self.base.clone(),
        };
        if let Ok(mut c) = self.cache.lock() {
            if c.plans.len() >= SHAPE_CACHE {
                if let Some(old) = c.order.pop_front() {
                    c.plans.remove(&old);
                }
            }
            c.order.push_back(key.clone());
            c.plans.insert(key, plan.clone());
        }
        Ok(plan)
    }
}

/// Checks a fed value against the declared input type, binding symbolic dims.
fn check_input(info: &TensorInfo, v: &Value, bindings: &mut HashMap<String, usize>) -> Result<()> {
    let name = &info.name;
    let (dtype, dims, t) = match (&info.value_type, v) {
        (ValueType::Tensor { dtype, shape }, Value::Tensor(t)) => (*dtype, shape, t),
        (ValueType::Tensor { .. }, other) => {
            return Err(Error::TypeMismatch(format!("input '{name}' must be a tensor, got a {}", other.kind())))
        }
        _ => return Ok(()),
    };
    if t.dtype() != dtype {
        return Err(Error::TypeMismatch(format!("input '{name}' must be {dtype}, got {}", t.dtype())));
    }
    let Some(dims) = dims else { return Ok(()) };
    let want = || dims.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", ");
    if dims.len() != t.rank() {
        return Err(Error::ShapeMismatch(format!(
            "input '{name}' must have rank {} (shape [{}]), got shape {:?}",
            dims.len(),
            want(),
            t.shape()
        )));
    }
    for (i, (d, &got)) in dims.iter().zip(t.shape()).enumerate() {
        match d {
            Dim::Known(k) if *k != got => {
                return Err(Error::ShapeMismatch(format!(
                    "input '{name}' dim {i} must be {k} (shape [{}]), got shape {:?}",
                    want(),
                    t.shape()
                )))
            }
            Dim::Symbolic(s) => match bindings.get(s) {
                Some(&b) if b != got => {
                    return Err(Error::ShapeMismatch(format!(
                        "input '{name}' dim {i} ('{s}') is {got}, but another input set '{s}' to {b}"
                    )))
                }
                Some(_) => {}
                None => {
                    bindings.insert(s.clone(), got);
                }
            },
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    fn assert_send_sync<T: Send + Sync>() {}
    #[test]
    fn session_is_send_and_sync() {
        assert_send_sync::<super::Session>();
    }
}
