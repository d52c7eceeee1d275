//! The one error type of RONN, with stable codes.
//!
//! Every variant maps to an [`ErrorCode`] whose numeric value never changes; the C
//! ABI returns it as a status, Python raises a subclass per code and Node sets
//! `error.code`. Errors raised while running a node carry its name and op type
//! through [`Error::in_node`].

use std::fmt;

/// Stable numeric codes. Values are only ever appended.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// An argument is out of its allowed range or malformed.
    InvalidArgument = 1,
    /// A required pointer or handle was null (C ABI).
    NullPointer = 2,
    /// A name (input, output, file) does not exist.
    NotFound = 3,
    /// The model file is not valid ONNX or is inconsistent.
    InvalidModel = 4,
    /// An operator or attribute value this build cannot run.
    UnsupportedOp = 5,
    /// Shapes do not agree.
    ShapeMismatch = 6,
    /// Element types do not agree.
    TypeMismatch = 7,
    /// An allocation failed or a size overflowed.
    OutOfMemory = 8,
    /// A device (GPU) failed.
    DeviceError = 9,
    /// The work was cancelled.
    Cancelled = 10,
    /// A wait ran out of time.
    Timeout = 11,
    /// A bounded queue is full.
    QueueFull = 12,
    /// The object is shutting down.
    ShuttingDown = 13,
    /// An earlier panic left the object unusable.
    Poisoned = 14,
    /// A panic was caught.
    Panic = 15,
    /// A bug in RONN.
    Internal = 16,
    /// Reading or writing a file failed.
    Io = 17,
}

impl ErrorCode {
    /// The stable upper-snake name, e.g. `SHAPE_MISMATCH`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidArgument => "INVALID_ARGUMENT",
            ErrorCode::NullPointer => "NULL_POINTER",
            ErrorCode::NotFound => "NOT_FOUND",
            ErrorCode::InvalidModel => "INVALID_MODEL",
            ErrorCode::UnsupportedOp => "UNSUPPORTED_OP",
            ErrorCode::ShapeMismatch => "SHAPE_MISMATCH",
            ErrorCode::TypeMismatch => "TYPE_MISMATCH",
            ErrorCode::OutOfMemory => "OUT_OF_MEMORY",
            ErrorCode::DeviceError => "DEVICE_ERROR",
            ErrorCode::Cancelled => "CANCELLED",
            ErrorCode::Timeout => "TIMEOUT",
            ErrorCode::QueueFull => "QUEUE_FULL",
            ErrorCode::ShuttingDown => "SHUTTING_DOWN",
            ErrorCode::Poisoned => "POISONED",
            ErrorCode::Panic => "PANIC",
            ErrorCode::Internal => "INTERNAL",
            ErrorCode::Io => "IO",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One unsupported construct found while loading a model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsupported {
    /// Node name (may be empty in the model).
    pub node: String,
    /// Operator type.
    pub op_type: String,
    /// Operator domain ("" is ai.onnx).
    pub domain: String,
    /// Opset version of the domain in the model.
    pub opset: i64,
    /// What exactly is missing.
    pub reason: String,
}

impl fmt::Display for Unsupported {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let domain = if self.domain.is_empty() { "ai.onnx" } else { &self.domain };
        write!(f, "node '{}' ({}:{} opset {}): {}", self.node, domain, self.op_type, self.opset, self.reason)
    }
}

/// RONN's error type.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    #[error("null pointer: {0}")]
    NullPointer(String),
    #[error("not found: {0}")]
    NotFound(String),
    #[error("invalid model: {0}")]
    InvalidModel(String),
    #[error("unsupported: {}", summarize(.0))]
    Unsupported(Vec<Unsupported>),
    #[error("unsupported: {0}")]
    UnsupportedOp(String),
    #[error("shape mismatch: {0}")]
    ShapeMismatch(String),
    #[error("type mismatch: {0}")]
    TypeMismatch(String),
    #[error("out of memory: {0}")]
    OutOfMemory(String),
    #[error("device error: {0}")]
    Device(String),
    #[error("cancelled: {0}")]
    Cancelled(String),
    #[error("timed out: {0}")]
    Timeout(String),
    #[error("queue full: {0}")]
    QueueFull(String),
    #[error("shutting down: {0}")]
    ShuttingDown(String),
    #[error("poisoned: {0}")]
    Poisoned(String),
    #[error("panic: {0}")]
    Panic(String),
    #[error("internal error: {0}")]
    Internal(String),
    #[error("io error: {0}")]
    Io(String),
    /// An error raised while running or planning one node.
    #[error("node '{node}' ({op_type}): {source}")]
    Node {
        node: String,
        op_type: String,
        #[source]
        source: Box<Error>,
    },
}

/// One line per distinct (domain, op, opset, reason), naming the first node and the count.
fn summarize(list: &[Unsupported]) -> String {
    let mut groups: Vec<(&Unsupported, usize)> = Vec::new();
    for u in list {
        match groups
            .iter_mut()
            .find(|(g, _)| g.op_type == u.op_type && g.domain == u.domain && g.opset == u.opset && g.reason == u.reason)
        {
            Some((_, n)) => *n += 1,
            None => groups.push((u, 1)),
        }
    }
    groups
        .iter()
        .map(|(u, n)| if *n == 1 { u.to_string() } else { format!("{u} (and {} more such nodes)", n - 1) })
        .collect::<Vec<_>>()
        .join("; ")
}

/// RONN's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// The stable code of this error (for wrapped node errors, the inner one's).
    pub fn code(&self) -> ErrorCode {
        match self {
            Error::InvalidArgument(_) => ErrorCode::InvalidArgument,
            Error::NullPointer(_) => ErrorCode::NullPointer,
            Error::NotFound(_) => ErrorCode::NotFound,
            Error::InvalidModel(_) => ErrorCode::InvalidModel,
            Error::Unsupported(_) | Error::UnsupportedOp(_) => ErrorCode::UnsupportedOp,
            Error::ShapeMismatch(_) => ErrorCode::ShapeMismatch,
            Error::TypeMismatch(_) => ErrorCode::TypeMismatch,
            Error::OutOfMemory(_) => ErrorCode::OutOfMemory,
            Error::Device(_) => ErrorCode::DeviceError,
            Error::Cancelled(_) => ErrorCode::Cancelled,
            Error::Timeout(_) => ErrorCode::Timeout,
            Error::QueueFull(_) => ErrorCode::QueueFull,
            Error::ShuttingDown(_) => ErrorCode::ShuttingDown,
            Error::Poisoned(_) => ErrorCode::Poisoned,
            Error::Panic(_) => ErrorCode::Panic,
            Error::Internal(_) => ErrorCode::Internal,
            Error::Io(_) => ErrorCode::Io,
            Error::Node { source, .. } => source.code(),
        }
    }

    /// Wraps the error with the node it happened in (once: an already wrapped
    /// error keeps its innermost node).
    pub fn in_node(self, node: &str, op_type: &str) -> Error {
        match self {
            e @ Error::Node { .. } => e,
            e => Error::Node { node: node.to_string(), op_type: op_type.to_string(), source: Box::new(e) },
        }
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::Io(e.to_string())
    }
}

/// `bail!(Variant, "fmt", args..)` returns `Err(Error::Variant(format!(..)))`.
#[macro_export]
macro_rules! bail {
    ($variant:ident, $($arg:tt)*) => {
        return Err($crate::Error::$variant(format!($($arg)*)))
    };
}

/// `ensure!(cond, Variant, "fmt", args..)`.
#[macro_export]
macro_rules! ensure {
    ($cond:expr, $variant:ident, $($arg:tt)*) => {
        if !$cond {
            return Err($crate::Error::$variant(format!($($arg)*)));
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_wrapping_keeps_code_and_names_node() {
        let e = Error::ShapeMismatch("a vs b".into()).in_node("conv1", "Conv");
        assert_eq!(e.code(), ErrorCode::ShapeMismatch);
        assert_eq!(e.to_string(), "node 'conv1' (Conv): shape mismatch: a vs b");
        let again = e.in_node("outer", "If");
        assert!(again.to_string().starts_with("node 'conv1'"));
    }

    #[test]
    fn unsupported_lists_group_repeats() {
        let u = |node: &str, op: &str| Unsupported {
            node: node.into(),
            op_type: op.into(),
            domain: String::new(),
            opset: 9,
            reason: "unknown operator".into(),
        };
        let e = Error::Unsupported(vec![u("a", "Foo"), u("b", "Foo"), u("c", "Bar")]);
        let s = e.to_string();
        assert!(s.contains("node 'a' (ai.onnx:Foo opset 9): unknown operator (and 1 more such nodes)"), "{s}");
        assert!(s.contains("node 'c' (ai.onnx:Bar opset 9)"), "{s}");
    }

    #[test]
    fn codes_are_stable() {
        assert_eq!(ErrorCode::InvalidArgument as u32, 1);
        assert_eq!(ErrorCode::Internal as u32, 16);
        assert_eq!(ErrorCode::QueueFull.as_str(), "QUEUE_FULL");
    }
}
