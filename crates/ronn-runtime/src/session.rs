//! [`Session`]: a model optimized and planned once, run many times.

use crate::model::{cpu_registry, Model, TensorInfo};
use crate::options::SessionOptions;
use crate::plan::{Compiler, CpuEvaluator, Plan};
use ronn_core::{Error, Result, Tensor, Value};
use ronn_ir::{Dim, RunContext, ValueType};
use std::collections::HashMap;
use std::sync::Arc;

/// A planned model. `Send + Sync`: call [`Session::run`] from many threads at once.
pub struct Session {
    plan: Plan,
    pool: Arc<rayon::ThreadPool>,
    threads: usize,
    inputs: Vec<TensorInfo>,
    outputs: Vec<TensorInfo>,
    /// Input name -> slot, for feeding.
    input_slot: HashMap<String, usize>,
    constant_inputs: Vec<String>,
    options: SessionOptions,
}

/// A run's outputs, in graph-output order, addressable by name.
#[derive(Debug, Clone)]
pub struct Outputs {
    values: Vec<(String, Value)>,
}

impl Outputs {
    /// The value named `name`.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.values.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }

    /// The tensor named `name` (`NotFound` / `TypeMismatch` otherwise).
    pub fn tensor(&self, name: &str) -> Result<&Tensor> {
        self.get(name)
            .ok_or_else(|| Error::NotFound(format!("no output named '{name}'")))?
            .as_tensor()
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

impl std::ops::Index<&str> for Outputs {
    type Output = Value;
    fn index(&self, name: &str) -> &Value {
        match self.get(name) {
            Some(v) => v,
            None => panic!("no output named '{name}'"),
        }
    }
}

impl Session {
    pub(crate) fn new(model: &Model, options: SessionOptions) -> Result<Session> {
        options.check_provider()?;
        let threads = options.threads();
        let registry = cpu_registry();
        let mut graph = model.inner.graph.clone();
        ronn_optim::optimize(&mut graph, options.optimization_level, &CpuEvaluator { registry })?;
        let compiler = Compiler { registry, num_threads: threads };
        let plan = compiler.plan(&graph)?;
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("ronn-worker-{i}"))
            .build()
            .map_err(|e| Error::Internal(format!("cannot start {threads} threads: {e}")))?;
        let g = &model.inner.graph;
        let input_slot = plan.input_names.iter().cloned().zip(plan.input_slots.iter().copied()).collect();
        Ok(Session {
            plan,
            pool: Arc::new(pool),
            threads,
            inputs: model.inputs(),
            outputs: model.outputs(),
            input_slot,
            constant_inputs: g.inputs.iter().filter(|i| g.initializers.contains_key(&i.name)).map(|i| i.name.clone()).collect(),
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

    /// Threads in the session's pool.
    pub fn num_threads(&self) -> usize {
        self.threads
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
        let mut feeds: Vec<(usize, Value)> = Vec::new();
        let mut seen: Vec<&str> = Vec::new();
        let mut bindings: HashMap<String, usize> = HashMap::new();
        for (k, v) in inputs {
            let name = k.as_ref();
            let v: Value = v.into();
            let info = self.inputs.iter().find(|i| i.name == name).ok_or_else(|| {
                if self.constant_inputs.iter().any(|c| c == name) {
                    Error::InvalidArgument(format!("input '{name}' is a constant (initializer) of this model and cannot be fed"))
                } else {
                    let names: Vec<&str> = self.inputs.iter().map(|i| i.name.as_str()).collect();
                    Error::NotFound(format!("the model has no input named '{name}'; its inputs are {names:?}"))
                }
            })?;
            if seen.contains(&info.name.as_str()) {
                return Err(Error::InvalidArgument(format!("input '{name}' is given twice")));
            }
            seen.push(info.name.as_str());
            check_input(info, &v, &mut bindings)?;
            feeds.push((self.input_slot[&info.name], v));
        }
        if let Some(missing) = self.inputs.iter().find(|i| !seen.contains(&i.name.as_str())) {
            return Err(Error::InvalidArgument(format!(
                "input '{}' ({}) is missing",
                missing.name, missing.value_type
            )));
        }
        let values = self.pool.install(|| self.plan.execute(&RunContext::new(self.threads), feeds))?;
        Ok(Outputs { values: self.plan.output_names.iter().cloned().zip(values).collect() })
    }
}

/// Checks a fed value against the declared input type, binding symbolic dims.
fn check_input(info: &TensorInfo, v: &Value, bindings: &mut HashMap<String, usize>) -> Result<()> {
    let name = &info.name;
    let (dtype, shape) = match (&info.value_type, v) {
        (ValueType::Tensor { dtype, shape }, Value::Tensor(t)) => (*dtype, (shape, t)),
        (ValueType::Tensor { .. }, other) => {
            return Err(Error::TypeMismatch(format!("input '{name}' must be a tensor, got a {}", other.kind())))
        }
        _ => return Ok(()),
    };
    let (shape, t) = shape;
    if t.dtype() != dtype {
        return Err(Error::TypeMismatch(format!(
            "input '{name}' must be {dtype}, got {}",
            t.dtype()
        )));
    }
    let Some(dims) = shape else { return Ok(()) };
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
            Dim::Symbolic(s) => {
                if let Some(&b) = bindings.get(s) {
                    if b != got {
                        return Err(Error::ShapeMismatch(format!(
                            "input '{name}' dim {i} ('{s}') is {got}, but another input set '{s}' to {b}"
                        )));
                    }
                } else {
                    bindings.insert(s.clone(), got);
                }
            }
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
