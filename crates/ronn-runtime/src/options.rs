//! Session options: optimization level, provider, threads, memory pool, profiling.

use ronn_core::pool::{MemoryPool, PoolConfig};
use ronn_core::{Error, ProfileConfig, Profiler, Result};
use std::sync::Arc;

/// How hard the optimizer works on the graph before planning.
pub type OptimizationLevel = ronn_optim::OptLevel;

/// Where a session runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ProviderType {
    /// The CPU provider (always available).
    #[default]
    Cpu,
    /// The CUDA provider.
    Gpu,
    /// The 1.58-bit BitNet provider.
    BitNet,
    /// The WebAssembly SIMD provider.
    Wasm,
}

impl ProviderType {
    /// The providers compiled into this build.
    pub fn available() -> Vec<ProviderType> {
        vec![ProviderType::Cpu]
    }

    /// The lower-case name ("cpu", "gpu", "bitnet", "wasm").
    pub fn name(self) -> &'static str {
        match self {
            ProviderType::Cpu => "cpu",
            ProviderType::Gpu => "gpu",
            ProviderType::BitNet => "bitnet",
            ProviderType::Wasm => "wasm",
        }
    }

    /// Parses a name as [`ProviderType::name`] gives it.
    pub fn parse(s: &str) -> Result<ProviderType> {
        match s.to_ascii_lowercase().as_str() {
            "cpu" => Ok(ProviderType::Cpu),
            "gpu" | "cuda" => Ok(ProviderType::Gpu),
            "bitnet" => Ok(ProviderType::BitNet),
            "wasm" => Ok(ProviderType::Wasm),
            _ => Err(Error::InvalidArgument(format!("unknown provider '{s}'; known: cpu, gpu, bitnet, wasm"))),
        }
    }
}

/// Where a session's intermediate buffers come from.
#[derive(Debug, Clone, Default)]
pub enum MemoryPoolOption {
    /// A pool of the session's own, with the default [`PoolConfig`].
    #[default]
    Own,
    /// A pool of the session's own, with these limits.
    OwnWith(PoolConfig),
    /// A pool shared with other sessions (for example `ronn_core::global_pool().clone()`),
    /// so that models run one after another reuse one set of buffers.
    Shared(Arc<MemoryPool>),
    /// No pool: every buffer is a fresh allocation.
    Off,
}

impl PartialEq for MemoryPoolOption {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (MemoryPoolOption::Own, MemoryPoolOption::Own) | (MemoryPoolOption::Off, MemoryPoolOption::Off) => true,
            (MemoryPoolOption::OwnWith(a), MemoryPoolOption::OwnWith(b)) => a == b,
            (MemoryPoolOption::Shared(a), MemoryPoolOption::Shared(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }
}

impl Eq for MemoryPoolOption {}

impl MemoryPoolOption {
    /// The pool a session made with this option uses.
    pub(crate) fn make(&self) -> Option<Arc<MemoryPool>> {
        match self {
            MemoryPoolOption::Own => Some(Arc::new(MemoryPool::new(PoolConfig::default()))),
            MemoryPoolOption::OwnWith(c) => Some(Arc::new(MemoryPool::new(*c))),
            MemoryPoolOption::Shared(p) => Some(p.clone()),
            MemoryPoolOption::Off => None,
        }
    }
}

/// Options for [`crate::Model::create_session`].
#[derive(Debug, Clone)]
pub struct SessionOptions {
    /// Graph optimization level (default O2).
    pub optimization_level: OptimizationLevel,
    /// Execution provider (default CPU).
    pub provider: ProviderType,
    /// Threads of the session's pool; 0 means one per core.
    pub num_threads: usize,
    /// Where intermediate buffers come from (default: a pool of the session's own).
    pub memory_pool: MemoryPoolOption,
    /// Per-node profiling: every run times each node (name, op type, input shapes,
    /// provider, thread) into this profiler while it is active. `None`: no profiling.
    pub profiler: Option<Arc<Profiler>>,
}

impl Default for SessionOptions {
    fn default() -> Self {
        SessionOptions {
            optimization_level: OptimizationLevel::O2,
            provider: ProviderType::Cpu,
            num_threads: 0,
            memory_pool: MemoryPoolOption::Own,
            profiler: None,
        }
    }
}

/// Profilers and shared pools compare by identity: equal options share them.
impl PartialEq for SessionOptions {
    fn eq(&self, other: &Self) -> bool {
        self.optimization_level == other.optimization_level
            && self.provider == other.provider
            && self.num_threads == other.num_threads
            && self.memory_pool == other.memory_pool
            && match (&self.profiler, &other.profiler) {
                (None, None) => true,
                (Some(a), Some(b)) => Arc::ptr_eq(a, b),
                _ => false,
            }
    }
}

impl Eq for SessionOptions {}

impl SessionOptions {
    /// These options with a new profiler made from `config`; reach it later through
    /// [`crate::Session::profiler`] for its report and trace.
    pub fn with_profiling(mut self, config: ProfileConfig) -> Self {
        self.profiler = Some(Arc::new(Profiler::new(config)));
        self
    }

    /// The thread count actually used.
    pub fn threads(&self) -> usize {
        if self.num_threads > 0 {
            self.num_threads
        } else {
            std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
        }
    }

    pub(crate) fn check_provider(&self) -> Result<()> {
        if ProviderType::available().contains(&self.provider) {
            return Ok(());
        }
        let avail: Vec<&str> = ProviderType::available().iter().map(|p| p.name()).collect();
        Err(Error::UnsupportedOp(format!(
            "provider '{}' is not available in this build; available: {}",
            self.provider.name(),
            avail.join(", ")
        )))
    }
}
