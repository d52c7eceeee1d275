//! Loading: every unsupported op reported at once, external data, model-local
//! functions, malformed bytes.

use ronn::builder::ModelBuilder;
use ronn::{DType, Dim, ErrorCode, Model, SessionOptions, Tensor};

#[test]
fn all_unknown_ops_are_reported_together() {
    let d = [Dim::Known(2)];
    let bytes = ModelBuilder::new(17)
        .input("X", DType::Float32, &d)
        .output("Y", DType::Float32, &d)
        .node("FooBar", &["X"], &["A"], vec![])
        .node("Relu", &["A"], &["B"], vec![])
        .node("BazQux", &["B"], &["Y"], vec![])
        .build();
    let e = Model::from_bytes(&bytes).err().unwrap();
    assert_eq!(e.code(), ErrorCode::UnsupportedOp);
    let s = e.to_string();
    assert!(s.contains("FooBar") && s.contains("BazQux") && s.contains("opset 17"), "{s}");
    assert!(!s.contains("Relu"), "{s}");
}

#[test]
fn malformed_bytes_are_invalid_model() {
    let e = Model::from_bytes(b"\xff\xff\xff\xff not onnx").err().unwrap();
    assert_eq!(e.code(), ErrorCode::InvalidModel);
    let e = Model::load("/nonexistent/model.onnx").err().unwrap();
    assert_eq!(e.code(), ErrorCode::Io);
}

#[test]
fn external_data_is_read_from_the_model_folder() {
    let dir = std::env::temp_dir().join(format!("ronn-testkit-ext-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let w: Vec<u8> = [2.0f32, 3.0].iter().flat_map(|v| v.to_le_bytes()).collect();
    std::fs::write(dir.join("weights.bin"), w).unwrap();
    let d = [Dim::Known(2)];
    let bytes = ModelBuilder::new(17)
        .input("X", DType::Float32, &d)
        .output("Y", DType::Float32, &d)
        .external_initializer("W", DType::Float32, &[2], "weights.bin")
        .node("Mul", &["X", "W"], &["Y"], vec![])
        .build();
    std::fs::write(dir.join("model.onnx"), &bytes).unwrap();
    let s = Model::load(dir.join("model.onnx")).unwrap().create_session(SessionOptions::default()).unwrap();
    let out = s.run([("X", Tensor::from_vec(vec![2], vec![1.0f32, 1.5]).unwrap())]).unwrap();
    assert_eq!(out.tensor("Y").unwrap().as_slice::<f32>().unwrap(), &[2.0, 4.5]);
    // From bytes there is no folder to resolve against: a clear error.
    assert!(Model::from_bytes(&bytes).is_err());
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn model_local_functions_are_inlined() {
    let d = [Dim::Known(3)];
    let bytes = ModelBuilder::new(17)
        .opset("my.domain", 1)
        .function(
            "my.domain",
            "AddRelu",
            &["a", "b"],
            &["c"],
            &[("Add", &["a", "b"], &["s"]), ("Relu", &["s"], &["c"])],
            17,
        )
        .input("X", DType::Float32, &d)
        .input("Z", DType::Float32, &d)
        .output("Y", DType::Float32, &d)
        .node_in("my.domain", "AddRelu", &["X", "Z"], &["Y"], vec![])
        .build();
    let m = Model::from_bytes(&bytes).unwrap();
    assert!(m.graph().nodes.iter().all(|n| n.op_type != "AddRelu"));
    let s = m.create_session(SessionOptions::default()).unwrap();
    let x = Tensor::from_vec(vec![3], vec![1.0f32, -5.0, 2.0]).unwrap();
    let z = Tensor::from_vec(vec![3], vec![1.0f32, 1.0, -3.0]).unwrap();
    let out = s.run([("X", x), ("Z", z)]).unwrap();
    assert_eq!(out.tensor("Y").unwrap().as_slice::<f32>().unwrap(), &[2.0, 0.0, 0.0]);
}
