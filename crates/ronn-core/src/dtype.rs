//! Element types: [`DType`] names every ONNX tensor element type (with its ONNX
//! `TensorProto.DataType` number); [`Element`] connects the ones RONN computes on
//! to Rust types, so kernels can be written once, generically.

use crate::tensor::TensorData;
use half::{bf16, f16};
use std::fmt;

/// An ONNX element type. The discriminant is ONNX's `TensorProto.DataType` value.
#[repr(i32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DType {
    Float32 = 1,
    UInt8 = 2,
    Int8 = 3,
    UInt16 = 4,
    Int16 = 5,
    Int32 = 6,
    Int64 = 7,
    String = 8,
    Bool = 9,
    Float16 = 10,
    Float64 = 11,
    UInt32 = 12,
    UInt64 = 13,
    Complex64 = 14,
    Complex128 = 15,
    BFloat16 = 16,
    Float8E4M3FN = 17,
    Float8E4M3FNUZ = 18,
    Float8E5M2 = 19,
    Float8E5M2FNUZ = 20,
    UInt4 = 21,
    Int4 = 22,
    Float4E2M1 = 23,
    Float8E8M0 = 24,
    UInt2 = 25,
    Int2 = 26,
}

impl DType {
    /// From ONNX's `TensorProto.DataType` number.
    pub fn from_onnx(v: i32) -> Option<DType> {
        use DType::*;
        Some(match v {
            1 => Float32,
            2 => UInt8,
            3 => Int8,
            4 => UInt16,
            5 => Int16,
            6 => Int32,
            7 => Int64,
            8 => String,
            9 => Bool,
            10 => Float16,
            11 => Float64,
            12 => UInt32,
            13 => UInt64,
            14 => Complex64,
            15 => Complex128,
            16 => BFloat16,
            17 => Float8E4M3FN,
            18 => Float8E4M3FNUZ,
            19 => Float8E5M2,
            20 => Float8E5M2FNUZ,
            21 => UInt4,
            22 => Int4,
            23 => Float4E2M1,
            24 => Float8E8M0,
            25 => UInt2,
            26 => Int2,
            _ => return None,
        })
    }

    /// ONNX's `TensorProto.DataType` number.
    pub fn to_onnx(self) -> i32 {
        self as i32
    }

    /// Whether RONN can hold tensors of this type (the others load as errors).
    pub fn is_supported(self) -> bool {
        use DType::*;
        matches!(
            self,
            Float32
                | Float64
                | Float16
                | BFloat16
                | Int8
                | Int16
                | Int32
                | Int64
                | UInt8
                | UInt16
                | UInt32
                | UInt64
                | Bool
                | String
                | Float8E4M3FN
                | Float8E4M3FNUZ
                | Float8E5M2
                | Float8E5M2FNUZ
                | Float8E8M0
                | Float4E2M1
                | Int4
                | UInt4
                | Int2
                | UInt2
        )
    }

    /// The low-precision types RONN stores one byte per element (float8, float4,
    /// int4/uint4, int2/uint2; see [`crate::lowp`]).
    pub fn is_small(self) -> bool {
        crate::lowp::is_small(self)
    }

    /// Bytes per element (0 for strings and sub-byte types).
    pub fn size_of(self) -> usize {
        use DType::*;
        match self {
            Bool | Int8 | UInt8 | Float8E4M3FN | Float8E4M3FNUZ | Float8E5M2 | Float8E5M2FNUZ | Float8E8M0 => 1,
            Int16 | UInt16 | Float16 | BFloat16 => 2,
            Int32 | UInt32 | Float32 => 4,
            Int64 | UInt64 | Float64 | Complex64 => 8,
            Complex128 => 16,
            String | UInt4 | Int4 | Float4E2M1 | UInt2 | Int2 => 0,
        }
    }

    /// Floating-point types (the ones RONN computes on).
    pub fn is_float(self) -> bool {
        matches!(self, DType::Float32 | DType::Float64 | DType::Float16 | DType::BFloat16)
    }

    /// Signed or unsigned integer types.
    pub fn is_int(self) -> bool {
        use DType::*;
        matches!(self, Int8 | Int16 | Int32 | Int64 | UInt8 | UInt16 | UInt32 | UInt64)
    }

    /// The numpy-style short name (`float32`, `int64`, ...).
    pub fn name(self) -> &'static str {
        use DType::*;
        match self {
            Float32 => "float32",
            UInt8 => "uint8",
            Int8 => "int8",
            UInt16 => "uint16",
            Int16 => "int16",
            Int32 => "int32",
            Int64 => "int64",
            String => "string",
            Bool => "bool",
            Float16 => "float16",
            Float64 => "float64",
            UInt32 => "uint32",
            UInt64 => "uint64",
            Complex64 => "complex64",
            Complex128 => "complex128",
            BFloat16 => "bfloat16",
            Float8E4M3FN => "float8e4m3fn",
            Float8E4M3FNUZ => "float8e4m3fnuz",
            Float8E5M2 => "float8e5m2",
            Float8E5M2FNUZ => "float8e5m2fnuz",
            UInt4 => "uint4",
            Int4 => "int4",
            Float4E2M1 => "float4e2m1",
            Float8E8M0 => "float8e8m0",
            UInt2 => "uint2",
            Int2 => "int2",
        }
    }

    /// Parses the names [`DType::name`] gives (and `float`, `double`).
    pub fn from_name(s: &str) -> Option<DType> {
        let all = [
            DType::Float32,
            DType::Float64,
            DType::Float16,
            DType::BFloat16,
            DType::Int8,
            DType::Int16,
            DType::Int32,
            DType::Int64,
            DType::UInt8,
            DType::UInt16,
            DType::UInt32,
            DType::UInt64,
            DType::Bool,
            DType::String,
            DType::Float8E4M3FN,
            DType::Float8E4M3FNUZ,
            DType::Float8E5M2,
            DType::Float8E5M2FNUZ,
            DType::Float8E8M0,
            DType::Float4E2M1,
            DType::Int4,
            DType::UInt4,
            DType::Int2,
            DType::UInt2,
        ];
        match s {
            "float" => Some(DType::Float32),
            "double" => Some(DType::Float64),
            _ => all.into_iter().find(|d| d.name() == s),
        }
    }
}

impl fmt::Display for DType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A Rust type that RONN stores tensors of. Kernels are generic over it.
pub trait Element: Copy + Send + Sync + Default + PartialEq + PartialOrd + fmt::Debug + 'static {
    /// The matching [`DType`].
    const DTYPE: DType;
    /// The typed slice of `data`, when it holds this type.
    fn slice(data: &TensorData) -> Option<&[Self]>;
    /// The typed mutable slice (copies shared or borrowed storage first).
    fn slice_mut(data: &mut TensorData) -> Option<&mut [Self]>;
    /// Wraps a vector as tensor data.
    fn into_data(v: Vec<Self>) -> TensorData;
    /// The vector inside `data` when it holds this type in storage nobody else
    /// shares (so the memory pool can reuse it); `data` back otherwise.
    fn take_vec(data: TensorData) -> std::result::Result<Vec<Self>, TensorData>;
    /// Lossy conversion to f64 (bool: 0/1).
    fn to_f64(self) -> f64;
    /// Conversion from f64 with Rust `as` semantics (saturating; NaN to 0 for ints).
    fn from_f64(v: f64) -> Self;
    /// Conversion to i64 with Rust `as` semantics (exact for every integer type
    /// but u64 above i64::MAX).
    fn to_i64(self) -> i64;
    /// Conversion from i64 with Rust `as` semantics (wrapping for ints).
    fn from_i64(v: i64) -> Self;
}

macro_rules! impl_element {
    ($t:ty, $variant:ident, $dt:ident, |$x:ident| $to:expr, |$y:ident| $from:expr, |$a:ident| $toi:expr, |$b:ident| $fromi:expr) => {
        impl Element for $t {
            const DTYPE: DType = DType::$dt;
            fn slice(data: &TensorData) -> Option<&[Self]> {
                match data {
                    TensorData::$variant(s) => Some(s.as_slice()),
                    _ => None,
                }
            }
            fn slice_mut(data: &mut TensorData) -> Option<&mut [Self]> {
                match data {
                    TensorData::$variant(s) => Some(s.make_mut()),
                    _ => None,
                }
            }
            fn into_data(v: Vec<Self>) -> TensorData {
                TensorData::$variant(v.into())
            }
            fn take_vec(data: TensorData) -> std::result::Result<Vec<Self>, TensorData> {
                match data {
                    TensorData::$variant(s) => s.take_vec().map_err(TensorData::$variant),
                    other => Err(other),
                }
            }
            #[inline(always)]
            fn to_f64(self) -> f64 {
                let $x = self;
                $to
            }
            #[inline(always)]
            fn from_f64(v: f64) -> Self {
                let $y = v;
                $from
            }
            #[inline(always)]
            fn to_i64(self) -> i64 {
                let $a = self;
                $toi
            }
            #[inline(always)]
            fn from_i64(v: i64) -> Self {
                let $b = v;
                $fromi
            }
        }
    };
}

macro_rules! impl_prim {
    ($t:ty, $variant:ident, $dt:ident) => {
        impl_element!($t, $variant, $dt, |x| x as f64, |y| y as $t, |a| a as i64, |b| b as $t);
    };
}

impl_prim!(f32, F32, Float32);
impl_prim!(f64, F64, Float64);
impl_prim!(i8, I8, Int8);
impl_prim!(i16, I16, Int16);
impl_prim!(i32, I32, Int32);
impl_prim!(i64, I64, Int64);
impl_prim!(u8, U8, UInt8);
impl_prim!(u16, U16, UInt16);
impl_prim!(u32, U32, UInt32);
impl_prim!(u64, U64, UInt64);
impl_element!(f16, F16, Float16, |x| x.to_f64(), |y| f16::from_f64(y), |a| a.to_f64() as i64, |b| f16::from_f64(
    b as f64
));
impl_element!(bf16, BF16, BFloat16, |x| x.to_f64(), |y| bf16::from_f64(y), |a| a.to_f64() as i64, |b| bf16::from_f64(
    b as f64
));
impl_element!(bool, Bool, Bool, |x| x as u8 as f64, |y| y != 0.0, |a| a as i64, |b| b != 0);

/// Runs `$body` with `$T` bound to the Rust type of `$dtype`, for every numeric
/// type and bool. Evaluates to `Err(TypeMismatch)` for strings and unsupported
/// types via the `$fallback` expression.
#[macro_export]
macro_rules! dispatch_dtype {
    ($dtype:expr, $T:ident => $body:expr, _ => $fallback:expr) => {{
        use $crate::DType as __D;
        match $dtype {
            __D::Float32 => {
                type $T = f32;
                $body
            }
            __D::Float64 => {
                type $T = f64;
                $body
            }
            __D::Float16 => {
                type $T = $crate::f16;
                $body
            }
            __D::BFloat16 => {
                type $T = $crate::bf16;
                $body
            }
            __D::Int8 => {
                type $T = i8;
                $body
            }
            __D::Int16 => {
                type $T = i16;
                $body
            }
            __D::Int32 => {
                type $T = i32;
                $body
            }
            __D::Int64 => {
                type $T = i64;
                $body
            }
            __D::UInt8 => {
                type $T = u8;
                $body
            }
            __D::UInt16 => {
                type $T = u16;
                $body
            }
            __D::UInt32 => {
                type $T = u32;
                $body
            }
            __D::UInt64 => {
                type $T = u64;
                $body
            }
            __D::Bool => {
                type $T = bool;
                $body
            }
            #[allow(unreachable_patterns)]
            _ => $fallback,
        }
    }};
}

/// Like [`dispatch_dtype!`] for the four float types only.
#[macro_export]
macro_rules! dispatch_float {
    ($dtype:expr, $T:ident => $body:expr, _ => $fallback:expr) => {{
        use $crate::DType as __D;
        match $dtype {
            __D::Float32 => {
                type $T = f32;
                $body
            }
            __D::Float64 => {
                type $T = f64;
                $body
            }
            __D::Float16 => {
                type $T = $crate::f16;
                $body
            }
            __D::BFloat16 => {
                type $T = $crate::bf16;
                $body
            }
            #[allow(unreachable_patterns)]
            _ => $fallback,
        }
    }};
}

/// Like [`dispatch_dtype!`] for the eight integer types only.
#[macro_export]
macro_rules! dispatch_int {
    ($dtype:expr, $T:ident => $body:expr, _ => $fallback:expr) => {{
        use $crate::DType as __D;
        match $dtype {
            __D::Int8 => {
                type $T = i8;
                $body
            }
            __D::Int16 => {
                type $T = i16;
                $body
            }
            __D::Int32 => {
                type $T = i32;
                $body
            }
            __D::Int64 => {
                type $T = i64;
                $body
            }
            __D::UInt8 => {
                type $T = u8;
                $body
            }
            __D::UInt16 => {
                type $T = u16;
                $body
            }
            __D::UInt32 => {
                type $T = u32;
                $body
            }
            __D::UInt64 => {
                type $T = u64;
                $body
            }
            #[allow(unreachable_patterns)]
            _ => $fallback,
        }
    }};
}

/// Like [`dispatch_dtype!`] for numeric types (floats and ints, no bool).
#[macro_export]
macro_rules! dispatch_numeric {
    ($dtype:expr, $T:ident => $body:expr, _ => $fallback:expr) => {{
        use $crate::DType as __D;
        match $dtype {
            __D::Bool => $fallback,
            d => $crate::dispatch_dtype!(d, $T => $body, _ => $fallback),
        }
    }};
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn onnx_numbers_round_trip() {
        for v in 1..=26 {
            let d = DType::from_onnx(v).unwrap();
            assert_eq!(d.to_onnx(), v);
        }
        assert!(DType::from_onnx(0).is_none());
        assert!(DType::from_onnx(99).is_none());
    }

    #[test]
    fn names_parse_back() {
        assert_eq!(DType::from_name("float32"), Some(DType::Float32));
        assert_eq!(DType::from_name("float"), Some(DType::Float32));
        assert_eq!(DType::from_name("bfloat16"), Some(DType::BFloat16));
        assert_eq!(DType::from_name("nope"), None);
    }

    #[test]
    fn dispatch_picks_the_type() {
        let size = dispatch_dtype!(DType::Int16, T => std::mem::size_of::<T>(), _ => 0);
        assert_eq!(size, 2);
        let none = dispatch_float!(DType::Int16, T => std::mem::size_of::<T>(), _ => 0);
        assert_eq!(none, 0);
    }
}
