//! Element types between numpy and RONN (ONNX `TensorProto.DataType` numbers).
//! Every ONNX type numpy has maps both ways. bfloat16 has no numpy type: it
//! travels as uint16 bit patterns (an input declared bfloat16 accepts a uint16 or
//! `ml_dtypes.bfloat16` array; a bfloat16 output comes back as uint16). Strings
//! are not readable through the C API yet.
use numpy::npyffi::NPY_TYPES;
use numpy::{PyArrayDescr, PyArrayDescrMethods};
use pyo3::prelude::*;
use ronn_sys as sys;

/// The RONN dtype of a numpy dtype, if RONN has it. `declared` is the dtype the
/// model declares for this input (lets a 2-byte bit pattern pass as bfloat16).
pub fn from_numpy(descr: &Bound<'_, PyArrayDescr>, declared: u32) -> Option<u32> {
    let size = descr.itemsize();
    let d = match (descr.kind(), size) {
        (b'f', 2) => sys::RONN_DTYPE_FLOAT16,
        (b'f', 4) => sys::RONN_DTYPE_FLOAT32,
        (b'f', 8) => sys::RONN_DTYPE_FLOAT64,
        (b'i', 1) => sys::RONN_DTYPE_INT8,
        (b'i', 2) => sys::RONN_DTYPE_INT16,
        (b'i', 4) => sys::RONN_DTYPE_INT32,
        (b'i', 8) => sys::RONN_DTYPE_INT64,
        (b'u', 1) => sys::RONN_DTYPE_UINT8,
        (b'u', 2) => sys::RONN_DTYPE_UINT16,
        (b'u', 4) => sys::RONN_DTYPE_UINT32,
        (b'u', 8) => sys::RONN_DTYPE_UINT64,
        (b'b', 1) => sys::RONN_DTYPE_BOOL,
        // ml_dtypes.bfloat16 is a 2-byte void-kind ('V') dtype.
        (b'V', 2) if declared == sys::RONN_DTYPE_BFLOAT16 => sys::RONN_DTYPE_BFLOAT16,
        _ => return None,
    };
    if d == sys::RONN_DTYPE_UINT16 && declared == sys::RONN_DTYPE_BFLOAT16 {
        return Some(sys::RONN_DTYPE_BFLOAT16);
    }
    Some(d)
}

/// The numpy type number an output of this RONN dtype gets.
pub fn to_numpy(dtype: u32) -> Option<NPY_TYPES> {
    Some(match dtype {
        sys::RONN_DTYPE_FLOAT16 => NPY_TYPES::NPY_HALF,
        sys::RONN_DTYPE_FLOAT32 => NPY_TYPES::NPY_FLOAT,
        sys::RONN_DTYPE_FLOAT64 => NPY_TYPES::NPY_DOUBLE,
        sys::RONN_DTYPE_INT8 => NPY_TYPES::NPY_BYTE,
        sys::RONN_DTYPE_INT16 => NPY_TYPES::NPY_SHORT,
        sys::RONN_DTYPE_INT32 => NPY_TYPES::NPY_INT,
        sys::RONN_DTYPE_INT64 => NPY_TYPES::NPY_LONGLONG,
        sys::RONN_DTYPE_UINT8 => NPY_TYPES::NPY_UBYTE,
        sys::RONN_DTYPE_UINT16 | sys::RONN_DTYPE_BFLOAT16 => NPY_TYPES::NPY_USHORT,
        sys::RONN_DTYPE_UINT32 => NPY_TYPES::NPY_UINT,
        sys::RONN_DTYPE_UINT64 => NPY_TYPES::NPY_ULONGLONG,
        sys::RONN_DTYPE_BOOL => NPY_TYPES::NPY_BOOL,
        _ => return None,
    })
}

/// ONNX Runtime's type string ("tensor(float)") of a RONN dtype.
pub fn onnx_type(dtype: u32) -> &'static str {
    match dtype {
        sys::RONN_DTYPE_FLOAT32 => "tensor(float)",
        sys::RONN_DTYPE_UINT8 => "tensor(uint8)",
        sys::RONN_DTYPE_INT8 => "tensor(int8)",
        sys::RONN_DTYPE_UINT16 => "tensor(uint16)",
        sys::RONN_DTYPE_INT16 => "tensor(int16)",
        sys::RONN_DTYPE_INT32 => "tensor(int32)",
        sys::RONN_DTYPE_INT64 => "tensor(int64)",
        sys::RONN_DTYPE_STRING => "tensor(string)",
        sys::RONN_DTYPE_BOOL => "tensor(bool)",
        sys::RONN_DTYPE_FLOAT16 => "tensor(float16)",
        sys::RONN_DTYPE_FLOAT64 => "tensor(double)",
        sys::RONN_DTYPE_UINT32 => "tensor(uint32)",
        sys::RONN_DTYPE_UINT64 => "tensor(uint64)",
        sys::RONN_DTYPE_BFLOAT16 => "tensor(bfloat16)",
        _ => "unknown",
    }
}

/// The numpy name of a RONN dtype ("float32"; "bfloat16" for bfloat16), or None.
pub fn numpy_name(dtype: u32) -> Option<&'static str> {
    Some(match dtype {
        sys::RONN_DTYPE_FLOAT32 => "float32",
        sys::RONN_DTYPE_UINT8 => "uint8",
        sys::RONN_DTYPE_INT8 => "int8",
        sys::RONN_DTYPE_UINT16 => "uint16",
        sys::RONN_DTYPE_INT16 => "int16",
        sys::RONN_DTYPE_INT32 => "int32",
        sys::RONN_DTYPE_INT64 => "int64",
        sys::RONN_DTYPE_STRING => "str",
        sys::RONN_DTYPE_BOOL => "bool",
        sys::RONN_DTYPE_FLOAT16 => "float16",
        sys::RONN_DTYPE_FLOAT64 => "float64",
        sys::RONN_DTYPE_UINT32 => "uint32",
        sys::RONN_DTYPE_UINT64 => "uint64",
        sys::RONN_DTYPE_BFLOAT16 => "bfloat16",
        _ => return None,
    })
}
