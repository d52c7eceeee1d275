//! [`Model`]: a loaded ONNX file, checked against the operators this build has.

use crate::options::SessionOptions;
use crate::session::Session;
use ronn_core::{DType, Error, Result};
use ronn_ir::{Attribute, Dim, Graph, KernelRegistry, ValueType};
use ronn_onnx::OnnxModel;
use std::path::Path;
use std::sync::{Arc, OnceLock};

/// The CPU provider's registry, built once per process.
pub(crate) fn cpu_registry() -> &'static KernelRegistry {
    static REG: OnceLock<KernelRegistry> = OnceLock::new();
    REG.get_or_init(ronn_cpu::registry)
}

/// One registered operator: what `docs/SUPPORTED_OPS.md` lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpSupport {
    /// Its domain ("" is the default ONNX domain).
    pub domain: String,
    /// The op type.
    pub op_type: String,
    /// First opset the kernel covers.
    pub since: i64,
    /// Last opset it covers (`i64::MAX`: every later one so far).
    pub until: i64,
    /// The execution provider whose kernel it is.
    pub provider: &'static str,
}

/// Every operator this build can run, by provider, sorted.
pub fn supported_ops() -> Vec<OpSupport> {
    cpu_registry()
        .entries()
        .into_iter()
        .map(|(domain, op_type, since, until)| OpSupport { domain, op_type, since, until, provider: "cpu" })
        .collect()
}

/// Name, element type and shape (with symbolic dims) of a model input or output.
#[derive(Debug, Clone, PartialEq)]
pub struct TensorInfo {
    /// The value's name in the graph.
    pub name: String,
    /// Element type (`None` for non-tensor values such as sequences of unknown type).
    pub dtype: Option<DType>,
    /// Dimensions: fixed, symbolic (`batch`) or unknown; `None` when even the rank is unknown.
    pub shape: Option<Vec<Dim>>,
    /// The full declared type (tensor, sequence, optional).
    pub value_type: ValueType,
}

impl TensorInfo {
    pub(crate) fn new(name: &str, ty: &ValueType) -> TensorInfo {
        TensorInfo {
            name: name.to_string(),
            dtype: ty.dtype(),
            shape: ty.shape().map(|s| s.to_vec()),
            value_type: ty.clone(),
        }
    }
}

/// A loaded ONNX model. Cheap to clone; create any number of sessions from it.
///
/// ```no_run
/// use ronn_runtime::{Model, SessionOptions};
/// let model = Model::load("model.onnx")?;
/// for i in model.inputs() {
///     println!("{} {:?} {:?}", i.name, i.dtype, i.shape);
/// }
/// let session = model.create_session(SessionOptions::default())?;
/// # Ok::<(), ronn_core::Error>(())
/// ```
#[derive(Clone)]
pub struct Model {
    pub(crate) inner: Arc<OnnxModel>,
}

impl Model {
    /// Loads a model file (external data is read from its folder). Every
    /// operator the CPU provider does not know is reported at once.
    pub fn load(path: impl AsRef<Path>) -> Result<Model> {
        Model::checked(ronn_onnx::load_model(path.as_ref())?)
    }

    /// Loads a model from bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Model> {
        Model::checked(ronn_onnx::load_model_bytes(bytes)?)
    }

    /// Loads a model file without refusing unsupported operators (for inspection:
    /// [`Model::unsupported`] lists them; creating a session still fails).
    pub fn load_unchecked(path: impl AsRef<Path>) -> Result<Model> {
        Ok(Model { inner: Arc::new(ronn_onnx::load_model(path.as_ref())?) })
    }

    fn checked(m: OnnxModel) -> Result<Model> {
        let model = Model { inner: Arc::new(m) };
        let bad = model.unsupported();
        if !bad.is_empty() {
            return Err(Error::Unsupported(bad));
        }
        Ok(model)
    }

    /// Every node (subgraphs included) whose operator this build cannot run.
    pub fn unsupported(&self) -> Vec<ronn_core::error::Unsupported> {
        let mut bad = Vec::new();
        check_ops(&self.inner.graph, cpu_registry(), &mut bad);
        bad
    }

    /// The inputs a caller feeds (graph inputs that are not initializers).
    pub fn inputs(&self) -> Vec<TensorInfo> {
        self.inner.graph.runtime_inputs().map(|i| TensorInfo::new(&i.name, &i.ty)).collect()
    }

    /// The graph outputs.
    pub fn outputs(&self) -> Vec<TensorInfo> {
        self.inner.graph.outputs.iter().map(|o| TensorInfo::new(&o.name, &o.ty)).collect()
    }

    /// The IR graph as loaded.
    pub fn graph(&self) -> &Graph {
        &self.inner.graph
    }

    /// Imported opsets: (domain, version); "" is ai.onnx.
    pub fn opsets(&self) -> &[(String, i64)] {
        &self.inner.opsets
    }

    /// (producer name, producer version).
    pub fn producer(&self) -> (&str, &str) {
        (&self.inner.producer.0, &self.inner.producer.1)
    }

    /// The file's IR version.
    pub fn ir_version(&self) -> i64 {
        self.inner.ir_version
    }

    /// `metadata_props` of the file.
    pub fn metadata(&self) -> &[(String, String)] {
        &self.inner.metadata
    }

    /// Optimizes and plans the model for `options`.
    pub fn create_session(&self, options: SessionOptions) -> Result<Session> {
        Session::new(self, options)
    }
}

fn check_ops(g: &Graph, reg: &KernelRegistry, bad: &mut Vec<ronn_core::error::Unsupported>) {
    for n in &g.nodes {
        if reg.lookup(&n.domain, &n.op_type, n.opset).is_none() {
            let why = if reg.knows(&n.domain, &n.op_type) {
                format!("no CPU kernel for opset {}", n.opset)
            } else {
                "unknown operator".to_string()
            };
            if let Error::Unsupported(mut v) = n.unsupported(why) {
                bad.append(&mut v);
            }
        }
        for a in n.attrs.values() {
            match a {
                Attribute::Graph(sg) => check_ops(sg, reg, bad),
                Attribute::Graphs(gs) => gs.iter().for_each(|sg| check_ops(sg, reg, bad)),
                _ => {}
            }
        }
    }
}
