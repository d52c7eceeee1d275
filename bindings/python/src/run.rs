//! One run split in the three steps every way of running shares: `new` wraps the
//! feeds and names (GIL held), `execute` calls RONN (GIL released, any thread),
//! and the caller turns the output tensors into arrays (GIL held). `run_async`
//! and batch queues (`asyncrun`, `batch`) reuse `new` and hand the parts to
//! `ronn_session_run_async` / `ronn_batch_queue_submit` instead of `execute`.
use std::ffi::CString;
use std::ptr;

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};
use ronn_sys as sys;

use crate::error::{check, invalid_argument, Failure};
use crate::session::{c_string, Session};
use crate::tensor::{wrap_input, OwnedTensor};

/// The inputs and names of one run, owned, ready to cross threads.
pub struct PreparedRun {
    in_names: Vec<CString>,
    inputs: Vec<OwnedTensor>,
    out_names: Vec<CString>,
}

impl PreparedRun {
    /// Wraps `feeds` (zero-copy where possible) and picks the outputs to return.
    pub fn new(
        py: Python<'_>,
        session: &Session,
        feeds: &Bound<'_, PyDict>,
        output_names: Option<Vec<String>>,
    ) -> PyResult<PreparedRun> {
        let mut in_names = Vec::with_capacity(feeds.len());
        let mut inputs = Vec::with_capacity(feeds.len());
        for (k, v) in feeds.iter() {
            if !k.is_instance_of::<PyString>() {
                return Err(invalid_argument(py, "input names must be str"));
            }
            let name: String = k.extract()?;
            let name = name.as_str();
            let declared = session
                .inputs
                .iter()
                .find(|i| i.name_str() == name)
                .map_or(sys::RONN_DTYPE_UNDEFINED, |i| i.dtype_num());
            in_names.push(c_string(py, name, "input name")?);
            inputs.push(wrap_input(py, &v, declared)?);
        }
        let wanted = match output_names {
            Some(v) if !v.is_empty() => v,
            _ => session.outputs.iter().map(|o| o.name_str().to_owned()).collect(),
        };
        let out_names = wanted.iter().map(|n| c_string(py, n, "output name")).collect::<PyResult<_>>()?;
        Ok(PreparedRun { in_names, inputs, out_names })
    }

    /// The names of the outputs the run returns, in order.
    pub fn output_names(&self) -> Vec<String> {
        self.out_names.iter().map(|c| c.to_string_lossy().into_owned()).collect()
    }

    /// The parts: input names, input tensors, output names.
    pub fn into_parts(self) -> (Vec<CString>, Vec<OwnedTensor>, Vec<CString>) {
        (self.in_names, self.inputs, self.out_names)
    }

    /// Runs the session; needs no GIL. Returns one new tensor per output name.
    /// `run_options` may be NULL.
    pub fn execute(
        &self,
        session: *const sys::ronn_session,
        run_options: *const sys::ronn_run_options,
    ) -> Result<Vec<OwnedTensor>, Failure> {
        let in_names: Vec<_> = self.in_names.iter().map(|c| c.as_ptr()).collect();
        let inputs: Vec<_> = self.inputs.iter().map(|t| t.as_ptr() as *const sys::ronn_tensor).collect();
        let out_names: Vec<_> = self.out_names.iter().map(|c| c.as_ptr()).collect();
        let mut outs: Vec<*mut sys::ronn_tensor> = vec![ptr::null_mut(); out_names.len()];
        // SAFETY: `session` is live (the caller holds the Session); every array
        // holds `n` valid entries; the input tensors and names live in `self`
        // for the whole call; NULL output slots receive new tensors; `run_options`
        // is NULL or live (the caller holds its owner).
        let status = unsafe {
            sys::ronn_session_run(
                session,
                run_options,
                in_names.as_ptr(),
                inputs.as_ptr(),
                inputs.len(),
                out_names.as_ptr(),
                outs.as_mut_ptr(),
                outs.len(),
            )
        };
        check(status)?;
        Ok(outs.into_iter().map(OwnedTensor::from_raw).collect())
    }
}
