//! Unit tests of the graph passes on hand-built graphs (no provider needed: the
//! evaluator below knows Add on int64 only).

use ronn_core::{DType, Error, Result, Tensor, Value};
use ronn_ir::{Attribute, Dim, Graph, Node, ValueInfo, ValueType};
use ronn_optim::{optimize, ConstantEvaluator, OptLevel};

struct AddOnly;
impl ConstantEvaluator for AddOnly {
    fn eval(&self, node: &Node, inputs: &[Option<&Tensor>]) -> Result<Vec<Value>> {
        match (node.op_type.as_str(), inputs) {
            ("Add", [Some(a), Some(b)]) if a.shape() == b.shape() => {
                let v: Vec<i64> = a.as_slice::<i64>()?.iter().zip(b.as_slice::<i64>()?).map(|(x, y)| x + y).collect();
                Ok(vec![Value::Tensor(Tensor::from_vec(a.shape().to_vec(), v)?)])
            }
            _ => Err(Error::UnsupportedOp(node.op_type.clone())),
        }
    }
}

fn vi(name: &str, dims: &[usize]) -> ValueInfo {
    ValueInfo {
        name: name.into(),
        ty: ValueType::Tensor { dtype: DType::Float32, shape: Some(dims.iter().map(|&d| Dim::Known(d)).collect()) },
    }
}

#[test]
fn o0_changes_nothing_and_o1_removes_identity_and_dead_nodes() {
    let g0 = Graph {
        nodes: vec![
            Node::new("Identity", &["x"], &["a"], 13),
            Node::new("Relu", &["a"], &["y"], 13),
            Node::new("Neg", &["x"], &["unused"], 13),
        ],
        inputs: vec![vi("x", &[2])],
        outputs: vec![vi("y", &[2])],
        ..Default::default()
    };
    let mut g = g0.clone();
    optimize(&mut g, OptLevel::O0, &AddOnly).unwrap();
    assert_eq!(g.nodes.len(), 3);
    optimize(&mut g, OptLevel::O1, &AddOnly).unwrap();
    assert_eq!(g.nodes.len(), 1);
    assert_eq!(g.nodes[0].op_type, "Relu");
    assert_eq!(g.nodes[0].inputs, vec!["x".to_string()]);
}

#[test]
fn dropout_goes_unless_its_mask_is_read() {
    // Mask named but unread: removed. Mask read by a node or a graph output: kept.
    let graph = |mask_use: Option<&str>| Graph {
        nodes: [
            vec![Node::new("Dropout", &["x"], &["a", "mask"], 13), Node::new("Relu", &["a"], &["y"], 13)],
            mask_use.map(|_| Node::new("Not", &["mask"], &["nm"], 13)).into_iter().collect(),
        ]
        .concat(),
        inputs: vec![vi("x", &[2])],
        outputs: [vec![vi("y", &[2])], mask_use.map(|o| vi(o, &[2])).into_iter().collect()].concat(),
        ..Default::default()
    };
    let mut g = graph(None);
    optimize(&mut g, OptLevel::O1, &AddOnly).unwrap();
    assert_eq!(g.nodes.len(), 1);
    assert_eq!(g.nodes[0].inputs, vec!["x".to_string()]);
    let mut g = graph(Some("nm"));
    optimize(&mut g, OptLevel::O1, &AddOnly).unwrap();
    assert!(g.nodes.iter().any(|n| n.op_type == "Dropout"), "{:?}", g.nodes);
}

#[test]
fn constant_chains_fold_and_shape_of_static_values_folds() {
    let one = Tensor::from_vec(vec![2], vec![1i64, 2]).unwrap();
    let mut g = Graph {
        nodes: vec![
            Node::new("Add", &["c1", "c1"], &["c2"], 13),
            Node::new("Shape", &["x"], &["s"], 13),
            Node::new("Add", &["s", "c2"], &["s2"], 13),
            Node::new("Reshape", &["x", "s2"], &["y"], 13),
        ],
        inputs: vec![vi("x", &[3, 4])],
        outputs: vec![vi("y", &[5, 8])],
        initializers: [("c1".to_string(), one)].into_iter().collect(),
        ..Default::default()
    };
    optimize(&mut g, OptLevel::O1, &AddOnly).unwrap();
    assert_eq!(g.nodes.len(), 1, "{:?}", g.nodes.iter().map(|n| &n.op_type).collect::<Vec<_>>());
    assert_eq!(g.initializers["s2"].as_slice::<i64>().unwrap(), &[5, 8]);
    assert!(!g.initializers.contains_key("c1"), "unused initializers are dropped");
}

#[test]
fn conv_mul_add_by_channel_constants_fold_into_conv() {
    // Caffe2's BatchNormalization export: Conv -> Mul [C,1,1] -> Add [1,C,1,1] -> Relu
    // becomes one FusedConv; a constant that varies along a spatial axis, or a Conv
    // output read twice, stays as it is.
    let w = Tensor::from_vec(vec![2, 1, 1, 1], vec![1.0f32, 2.0]).unwrap();
    let graph = |mul_shape: Vec<usize>, second_reader: bool| Graph {
        nodes: [
            vec![
                Node::new("Conv", &["x", "w", "b"], &["c"], 13),
                Node::new("Mul", &["s", "c"], &["m"], 13),
                Node::new("Add", &["m", "t"], &["a"], 13),
                Node::new("Relu", &["a"], &["y"], 13),
            ],
            if second_reader { vec![Node::new("Neg", &["c"], &["n"], 13)] } else { vec![] },
        ]
        .concat(),
        inputs: vec![vi("x", &[1, 1, 2, 2])],
        outputs: [vec![vi("y", &[1, 2, 2, 2])], if second_reader { vec![vi("n", &[1, 2, 2, 2])] } else { vec![] }]
            .concat(),
        initializers: [
            ("w".to_string(), w.clone()),
            ("b".to_string(), Tensor::from_vec(vec![2], vec![1.0f32, -1.0]).unwrap()),
            ("s".to_string(), Tensor::from_vec(mul_shape.clone(), vec![3.0f32; mul_shape.iter().product()]).unwrap()),
            ("t".to_string(), Tensor::from_vec(vec![1, 2, 1, 1], vec![0.5f32, 0.25]).unwrap()),
        ]
        .into_iter()
        .collect(),
        ..Default::default()
    };
    let mut g = graph(vec![2, 1, 1], false);
    optimize(&mut g, OptLevel::O2, &AddOnly).unwrap();
    assert_eq!(g.nodes.len(), 1, "{:?}", g.nodes.iter().map(|n| &n.op_type).collect::<Vec<_>>());
    let conv = &g.nodes[0];
    assert_eq!((conv.op_type.as_str(), conv.outputs[0].as_str()), ("FusedConv", "y"));
    // w' = w * 3; b' = b * 3 + t
    assert_eq!(g.initializers[&conv.inputs[1]].as_slice::<f32>().unwrap(), &[3.0, 6.0]);
    assert_eq!(g.initializers[&conv.inputs[2]].as_slice::<f32>().unwrap(), &[3.5, -2.75]);
    for (shape, reader) in [(vec![2, 2, 1], false), (vec![1, 1, 2, 2, 1], false), (vec![2, 1, 1], true)] {
        let mut g = graph(shape.clone(), reader);
        optimize(&mut g, OptLevel::O2, &AddOnly).unwrap();
        assert!(g.nodes.iter().any(|n| n.op_type == "Mul"), "{shape:?} {reader}: {:?}", g.nodes);
    }
}

#[test]
fn channel_mul_add_after_batchnorm_fold_into_it_and_relu_makes_it_a_depthwise_conv() {
    // DenseNet's pre-activation: BatchNormalization -> Mul [C,1,1] -> Add [C,1,1] ->
    // Relu. The Mul/Add fold into the BatchNormalization when X's rank is known;
    // followed by a Relu it then becomes a 1x1 depthwise FusedConv.
    let f = |v: [f32; 2]| Tensor::from_vec(vec![2], v.to_vec()).unwrap();
    let c = |v: [f32; 2]| Tensor::from_vec(vec![2, 1, 1], v.to_vec()).unwrap();
    let graph = |x: ValueInfo, last: &str| Graph {
        nodes: vec![
            Node::new("BatchNormalization", &["x", "scale", "b", "mean", "var"], &["n"], 15)
                .with_attr("epsilon", Attribute::Float(0.0)),
            Node::new("Mul", &["n", "s"], &["m"], 13),
            Node::new("Add", &["t", "m"], &["a"], 13),
            Node::new(last, &["a"], &["y"], 13),
        ],
        inputs: vec![x],
        outputs: vec![vi("y", &[1, 2, 2, 2])],
        initializers: [
            ("scale".to_string(), f([2.0, 3.0])),
            ("b".to_string(), f([0.5, -1.0])),
            ("mean".to_string(), f([1.0, 0.0])),
            ("var".to_string(), f([4.0, 9.0])),
            ("s".to_string(), c([10.0, -1.0])),
            ("t".to_string(), c([1.0, 2.0])),
        ]
        .into_iter()
        .collect(),
        ..Default::default()
    };
    let ops = |g: &Graph| g.nodes.iter().map(|n| n.op_type.clone()).collect::<Vec<_>>();
    let mut g = graph(vi("x", &[1, 2, 2, 2]), "Sigmoid");
    optimize(&mut g, OptLevel::O2, &AddOnly).unwrap();
    assert_eq!(ops(&g), ["BatchNormalization", "Sigmoid"]);
    let bn = &g.nodes[0];
    assert_eq!(bn.outputs[0], "a");
    // scale' = scale * s; b' = b * s + t
    assert_eq!(g.initializers[&bn.inputs[1]].as_slice::<f32>().unwrap(), &[20.0, -3.0]);
    assert_eq!(g.initializers[&bn.inputs[2]].as_slice::<f32>().unwrap(), &[6.0, 3.0]);

    let mut g = graph(vi("x", &[1, 2, 2, 2]), "Relu");
    optimize(&mut g, OptLevel::O2, &AddOnly).unwrap();
    assert_eq!(ops(&g), ["FusedConv"]);
    let conv = &g.nodes[0];
    assert_eq!((conv.inputs[0].as_str(), conv.outputs[0].as_str()), ("x", "y"));
    assert_eq!(conv.attr_i("group").unwrap(), Some(2));
    assert_eq!(conv.attr_s("activation").unwrap().as_deref(), Some("Relu"));
    // W = scale' / sqrt(var), B = b' - mean * W
    let w = &g.initializers[&conv.inputs[1]];
    assert_eq!((w.shape(), w.as_slice::<f32>().unwrap()), (&[2, 1, 1, 1][..], &[10.0, -1.0][..]));
    assert_eq!(g.initializers[&conv.inputs[2]].as_slice::<f32>().unwrap(), &[-4.0, 3.0]);

    // Rank unknown: a [2,1,1] constant might not run along channels; left alone.
    let unranked = ValueInfo { name: "x".into(), ty: ValueType::Tensor { dtype: DType::Float32, shape: None } };
    let mut g = graph(unranked, "Relu");
    optimize(&mut g, OptLevel::O2, &AddOnly).unwrap();
    assert_eq!(ops(&g), ["BatchNormalization", "Mul", "Add", "Relu"]);
}

/// A scalar f32 initializer.
fn scalar(v: f32) -> Tensor {
    Tensor::from_vec(vec![], vec![v]).unwrap()
}

#[test]
fn gelu_subgraphs_become_one_contrib_node() {
    // BERT's erf form after its bias Add -> BiasGelu(y, bias).
    let erf = |sqrt2: f32| Graph {
        nodes: vec![
            Node::new("Add", &["bias", "y"], &["x"], 13),
            Node::new("Div", &["x", "sqrt2"], &["d"], 13),
            Node::new("Erf", &["d"], &["e"], 13),
            Node::new("Add", &["e", "one"], &["a"], 13),
            Node::new("Mul", &["x", "a"], &["m"], 13),
            Node::new("Mul", &["m", "half"], &["out"], 13),
        ],
        inputs: vec![vi("y", &[2, 3, 4])],
        outputs: vec![vi("out", &[2, 3, 4])],
        initializers: [
            ("bias".to_string(), Tensor::from_vec(vec![4], vec![0.1f32, 0.2, 0.3, 0.4]).unwrap()),
            ("sqrt2".to_string(), scalar(sqrt2)),
            ("one".to_string(), scalar(1.0)),
            ("half".to_string(), scalar(0.5)),
        ]
        .into_iter()
        .collect(),
        ..Default::default()
    };
    let mut g = erf(std::f32::consts::SQRT_2);
    optimize(&mut g, OptLevel::O2, &AddOnly).unwrap();
    assert_eq!(g.nodes.len(), 1, "{:?}", g.nodes);
    let n = &g.nodes[0];
    assert_eq!((n.domain.as_str(), n.op_type.as_str()), ("com.microsoft", "BiasGelu"));
    assert_eq!(
        (n.inputs.clone(), n.outputs.clone()),
        (vec!["y".to_string(), "bias".to_string()], vec!["out".to_string()])
    );
    // y of unknown rank, but a MatMul by a constant [K, 4]: its last dim is still 4.
    let mut g = erf(std::f32::consts::SQRT_2);
    g.inputs = vec![ValueInfo { name: "z".into(), ty: ValueType::Tensor { dtype: DType::Float32, shape: None } }];
    g.nodes.insert(0, Node::new("MatMul", &["z", "w"], &["y"], 13));
    g.initializers.insert("w".into(), Tensor::from_vec(vec![3, 4], vec![1f32; 12]).unwrap());
    optimize(&mut g, OptLevel::O2, &AddOnly).unwrap();
    let ops: Vec<&str> = g.nodes.iter().map(|n| n.op_type.as_str()).collect();
    assert_eq!(ops, ["MatMul", "BiasGelu"]);
    // Not GELU's constant: left alone.
    let mut g = erf(2.0);
    optimize(&mut g, OptLevel::O2, &AddOnly).unwrap();
    assert_eq!(g.nodes.len(), 6);

    // GPT-2's tanh form on a graph input -> FastGelu(x); x read elsewhere too.
    let mut g = Graph {
        nodes: vec![
            Node::new("Mul", &["x", "half"], &["h"], 13),
            Node::new("Pow", &["x", "three"], &["p"], 13),
            Node::new("Mul", &["p", "c1"], &["c"], 13),
            Node::new("Add", &["x", "c"], &["u"], 13),
            Node::new("Mul", &["u", "c2"], &["s"], 13),
            Node::new("Tanh", &["s"], &["t"], 13),
            Node::new("Add", &["t", "one"], &["a"], 13),
            Node::new("Mul", &["h", "a"], &["out"], 13),
            Node::new("Neg", &["x"], &["nx"], 13),
        ],
        inputs: vec![vi("x", &[2, 4])],
        outputs: vec![vi("out", &[2, 4]), vi("nx", &[2, 4])],
        initializers: [
            ("half".to_string(), scalar(0.5)),
            ("three".to_string(), scalar(3.0)),
            ("c1".to_string(), scalar(0.044715)),
            ("c2".to_string(), scalar(0.797_884_6)),
            ("one".to_string(), scalar(1.0)),
        ]
        .into_iter()
        .collect(),
        ..Default::default()
    };
    optimize(&mut g, OptLevel::O2, &AddOnly).unwrap();
    let ops: Vec<&str> = g.nodes.iter().map(|n| n.op_type.as_str()).collect();
    assert_eq!(ops, ["FastGelu", "Neg"]);
    assert_eq!(
        (g.nodes[0].inputs.clone(), g.nodes[0].outputs.clone()),
        (vec!["x".to_string()], vec!["out".to_string()])
    );
}

#[test]
fn conv_bn_folds_into_conv_weights() {
    let w = Tensor::from_vec(vec![2, 1, 1, 1], vec![1.0f32, 2.0]).unwrap();
    let f = |v: [f32; 2]| Tensor::from_vec(vec![2], v.to_vec()).unwrap();
    let mut g = Graph {
        nodes: vec![
            Node::new("Conv", &["x", "w"], &["c"], 13),
            Node::new("BatchNormalization", &["c", "gamma", "beta", "mean", "var"], &["y"], 13)
                .with_attr("epsilon", Attribute::Float(0.0)),
        ],
        inputs: vec![vi("x", &[1, 1, 2, 2])],
        outputs: vec![vi("y", &[1, 2, 2, 2])],
        initializers: [
            ("w".to_string(), w),
            ("gamma".to_string(), f([2.0, 3.0])),
            ("beta".to_string(), f([0.5, -1.0])),
            ("mean".to_string(), f([1.0, 0.0])),
            ("var".to_string(), f([4.0, 9.0])),
        ]
        .into_iter()
        .collect(),
        ..Default::default()
    };
    optimize(&mut g, OptLevel::O2, &AddOnly).unwrap();
    assert_eq!(g.nodes.len(), 1);
    let conv = &g.nodes[0];
    assert_eq!(conv.outputs, vec!["y".to_string()]);
    // s = gamma / sqrt(var) = [1, 1]; w' = w * s; b' = (0 - mean) * s + beta
    assert_eq!(g.initializers[&conv.inputs[1]].as_slice::<f32>().unwrap(), &[1.0, 2.0]);
    assert_eq!(g.initializers[&conv.inputs[2]].as_slice::<f32>().unwrap(), &[-0.5, -1.0]);
}
