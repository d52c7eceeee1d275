//! Per-node profiling through a session: every node appears in the report and in a
//! Chrome trace that passes the Perfetto schema check, with op types and input shapes;
//! a session without a profiler, or with a stopped one, records nothing.

use ronn::builder::ModelBuilder;
use ronn::{DType, Dim, Model, OptimizationLevel, ProfileConfig, SessionOptions, Tensor};
use ronn_testkit::validate_chrome_trace;

/// Y = Relu(X + B) * X, X float32 [N, 4]; nodes add_0, relu_1, mul_2.
fn model() -> Model {
    let n = || Dim::Symbolic("N".into());
    let b = Tensor::from_vec(vec![4], vec![1.0f32, -1.0, 0.5, -0.5]).unwrap();
    let bytes = ModelBuilder::new(17)
        .input("X", DType::Float32, &[n(), Dim::Known(4)])
        .output("Y", DType::Float32, &[n(), Dim::Known(4)])
        .initializer("B", &b)
        .node("Add", &["X", "B"], &["S"], vec![])
        .node("Relu", &["S"], &["R"], vec![])
        .node("Mul", &["R", "X"], &["Y"], vec![])
        .build();
    Model::from_bytes(&bytes).unwrap()
}

const NODES: [(&str, &str, &str); 3] =
    [("add_0", "Add", "[3,4], [4]"), ("relu_1", "Relu", "[3,4]"), ("mul_2", "Mul", "[3,4], [3,4]")];

fn options() -> SessionOptions {
    SessionOptions { optimization_level: OptimizationLevel::O0, num_threads: 2, ..Default::default() }
        .with_profiling(ProfileConfig::development())
}

fn x() -> Tensor {
    Tensor::from_vec(vec![3, 4], (0..12).map(|i| i as f32 - 6.0).collect()).unwrap()
}

#[test]
fn every_node_is_in_report_and_trace() {
    let s = model().create_session(options()).unwrap();
    for _ in 0..4 {
        s.run([("X", x())]).unwrap();
    }
    let p = s.profiler().unwrap();
    let events = p.events();
    assert_eq!(events.len(), 12, "3 nodes x 4 runs");
    for (name, op, shapes) in NODES {
        let e = events.iter().find(|e| e.name == name).unwrap_or_else(|| panic!("no event for {name}"));
        assert_eq!(e.op_type.as_deref(), Some(op));
        assert!(e.args.contains(&("input_shapes".to_string(), shapes.to_string())), "{name}: {:?}", e.args);
        assert!(e.args.contains(&("provider".to_string(), "cpu".to_string())));
    }
    let report = p.report();
    for (_, op, _) in NODES {
        assert_eq!(report.entry(op).unwrap_or_else(|| panic!("no report row for {op}")).count, 4);
    }
    let share: f64 = report.entries.iter().map(|e| e.share_pct).sum();
    assert!((share - 100.0).abs() < 1e-6);

    let trace = validate_chrome_trace(&p.to_chrome_trace()).unwrap();
    let evs = trace["traceEvents"].as_array().unwrap();
    for (name, op, shapes) in NODES {
        let e =
            evs.iter().find(|e| e["ph"] == "X" && e["name"] == name).unwrap_or_else(|| panic!("{name} not in trace"));
        assert_eq!(e["cat"], "ops");
        assert_eq!(e["args"]["op_type"], op);
        assert_eq!(e["args"]["input_shapes"], shapes);
        let tid = e["tid"].clone();
        assert!(evs.iter().any(|m| m["ph"] == "M" && m["name"] == "thread_name" && m["tid"] == tid));
    }
    let path = std::env::temp_dir().join(format!("ronn-profile-{}.json", std::process::id()));
    p.write_chrome_trace(&path).unwrap();
    validate_chrome_trace(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let _ = std::fs::remove_file(path);
}

#[test]
fn stopped_or_absent_profiler_records_nothing() {
    let s = model().create_session(options()).unwrap();
    let p = s.profiler().unwrap().clone();
    p.stop();
    s.run([("X", x())]).unwrap();
    assert_eq!(p.event_count(), 0);
    p.start();
    s.run([("X", x())]).unwrap();
    assert_eq!(p.event_count(), 3);

    let plain = model().create_session(SessionOptions::default()).unwrap();
    assert!(plain.profiler().is_none());
    plain.run([("X", x())]).unwrap();
}

#[test]
fn schema_check_rejects_bad_traces() {
    assert!(validate_chrome_trace("[]").is_err());
    assert!(validate_chrome_trace(
        r#"{"traceEvents":[{"name":"a","ph":"X","ts":0,"dur":-1,"pid":1,"tid":1,"args":{}}]}"#
    )
    .is_err());
    assert!(
        validate_chrome_trace(r#"{"traceEvents":[{"name":"a","ph":"Q","ts":0,"pid":1,"tid":1,"args":{}}]}"#).is_err()
    );
    assert!(validate_chrome_trace(
        r#"{"traceEvents":[{"name":"a","ph":"X","ts":0,"dur":1,"pid":"1","tid":1,"args":{}}]}"#
    )
    .is_err());
    assert!(validate_chrome_trace(
        r#"{"traceEvents":[{"name":"a","ph":"X","ts":0,"dur":1,"pid":1,"tid":1,"args":{}}]}"#
    )
    .is_ok());
}
