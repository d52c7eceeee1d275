//! Small helpers every kernel file uses: reading inputs, wrapping closures as
//! kernels, reading constant inputs at planning time.

use ronn_core::{Error, Result, Tensor, Value};
use ronn_ir::{Kernel, RunContext};

/// A kernel made from a closure. Most kernels are one of these:
/// `Ok(Box::new(FnKernel(move |ctx, inputs| { ... })))`.
pub struct FnKernel<F>(pub F);

impl<F> Kernel for FnKernel<F>
where
    F: Fn(&RunContext, &[Option<&Value>]) -> Result<Vec<Value>> + Send + Sync,
{
    fn run(&self, ctx: &RunContext, inputs: &[Option<&Value>]) -> Result<Vec<Value>> {
        (self.0)(ctx, inputs)
    }
}

/// Boxes a closure as a kernel.
pub fn kernel<F>(f: F) -> Result<Box<dyn Kernel>>
where
    F: Fn(&RunContext, &[Option<&Value>]) -> Result<Vec<Value>> + Send + Sync + 'static,
{
    Ok(Box::new(FnKernel(f)))
}

/// Required tensor input `i`.
pub fn input<'a>(inputs: &[Option<&'a Value>], i: usize) -> Result<&'a Tensor> {
    match inputs.get(i).copied().flatten() {
        Some(v) => v.as_tensor(),
        None => Err(Error::InvalidArgument(format!("required input {i} is missing"))),
    }
}

/// Optional tensor input `i` (`None` when omitted or past the end).
pub fn opt_input<'a>(inputs: &[Option<&'a Value>], i: usize) -> Result<Option<&'a Tensor>> {
    match inputs.get(i).copied().flatten() {
        Some(v) => v.as_tensor().map(Some),
        None => Ok(None),
    }
}

/// Wraps tensors as the kernel's output values.
pub fn outputs(ts: Vec<Tensor>) -> Result<Vec<Value>> {
    Ok(ts.into_iter().map(Value::Tensor).collect())
}

/// Wraps one tensor as the kernel's only output.
pub fn output(t: Tensor) -> Result<Vec<Value>> {
    Ok(vec![Value::Tensor(t)])
}

/// Reads an integer tensor (any int type) as i64s: for shape, axes, indices inputs.
pub fn ints_of(t: &Tensor) -> Result<Vec<i64>> {
    if !t.dtype().is_int() {
        return Err(Error::TypeMismatch(format!("expected an integer tensor, got {}", t.dtype())));
    }
    t.to_i64_vec()
}
