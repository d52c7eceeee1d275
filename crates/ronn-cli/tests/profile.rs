//! `ronn profile` end to end: it writes a Chrome trace that passes the Perfetto schema
//! check and names every node of the embedded model, and prints the per-op report.

use std::process::Command;

#[test]
fn profile_writes_a_valid_trace_naming_every_node() {
    let out = std::env::temp_dir().join(format!("ronn-cli-trace-{}.json", std::process::id()));
    let run = Command::new(env!("CARGO_BIN_EXE_ronn"))
        .args(["profile", "--runs", "2", "--warmup", "1", "--threads", "1", "--opt-level", "O0", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(run.status.success(), "stdout: {stdout}\nstderr: {}", String::from_utf8_lossy(&run.stderr));
    assert!(stdout.contains("share") && stdout.contains("wrote"), "{stdout}");
    let trace = ronn_testkit::validate_chrome_trace(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let _ = std::fs::remove_file(&out);
    let events = trace["traceEvents"].as_array().unwrap();
    let model = ronn::Model::from_bytes(include_bytes!("../assets/digits.onnx")).unwrap();
    let nodes = &model.graph().nodes;
    assert!(!nodes.is_empty());
    for n in nodes {
        let hits = events.iter().filter(|e| e["ph"] == "X" && e["name"] == n.name.as_str()).count();
        assert_eq!(hits, 2, "node {} ({}) should appear once per profiled run", n.name, n.op_type);
        assert!(stdout.contains(n.op_type.as_str()), "report lacks {}", n.op_type);
    }
}

#[test]
fn profile_reports_a_bad_model_path() {
    let run = Command::new(env!("CARGO_BIN_EXE_ronn")).args(["profile", "/nonexistent/model.onnx"]).output().unwrap();
    assert!(!run.status.success());
}
