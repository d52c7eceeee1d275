//! Tests of the profiler: exact statistics on synthetic events, filters, buffer bound,
//! start/stop, and the Chrome trace's shape.

use super::*;
use std::time::Duration;

fn ev(name: &str, op: Option<&str>, cat: ProfileCategory, dur: f64) -> ProfileEvent {
    ProfileEvent {
        name: name.to_string(),
        category: cat,
        op_type: op.map(str::to_string),
        start_us: 0.0,
        duration_us: dur,
        thread_id: 1,
        thread_name: None,
        args: Vec::new(),
    }
}

#[test]
fn report_statistics_are_exact() {
    let p = Profiler::new(ProfileConfig::development());
    for d in [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0] {
        p.push(ev("conv_x", Some("Conv"), ProfileCategory::Ops, d));
    }
    p.push(ev("relu_1", Some("Relu"), ProfileCategory::Ops, 10.0));
    p.push(ev("alloc", None, ProfileCategory::Memory, 30.0));
    let r = p.report();
    assert_eq!(r.event_count, 10);
    assert_eq!(r.total_us, 80.0);
    let conv = r.entry("Conv").unwrap();
    assert_eq!((conv.count, conv.total_us, conv.avg_us, conv.min_us, conv.max_us), (8, 40.0, 5.0, 2.0, 9.0));
    assert_eq!(conv.std_dev_us, 2.0);
    assert_eq!(conv.share_pct, 50.0);
    assert_eq!(r.entry("alloc").unwrap().share_pct, 37.5);
    assert_eq!(r.entry("Relu").unwrap().share_pct, 12.5);
    let order: Vec<&str> = r.entries.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(order, ["Conv", "alloc", "Relu"]);
    let json: serde_json::Value = serde_json::from_str(&r.to_json()).unwrap();
    assert_eq!(json["entries"][0]["count"], 8);
    assert!(r.to_string().contains("Conv"));
}

#[test]
fn short_events_are_filtered() {
    let p = Profiler::new(ProfileConfig { min_duration_us: 10, ..ProfileConfig::development() });
    p.push(ev("a", Some("Add"), ProfileCategory::Ops, 9.9));
    p.push(ev("b", Some("Add"), ProfileCategory::Ops, 10.0));
    assert_eq!(p.event_count(), 1);
    assert_eq!(p.events()[0].name, "b");
}

#[test]
fn categories_switched_off_record_nothing() {
    let p = Profiler::new(ProfileConfig::production());
    assert!(p.is_recording(ProfileCategory::Ops));
    assert!(!p.is_recording(ProfileCategory::Memory));
    {
        let _s = p.scope("alloc", ProfileCategory::Memory);
        let _t = p.scope("h2d", ProfileCategory::Transfer);
    }
    p.push(ev("x", None, ProfileCategory::Memory, 100.0));
    assert_eq!(p.event_count(), 0);
    {
        let _s = p.scope("work", ProfileCategory::Ops);
        std::thread::sleep(Duration::from_millis(1));
    }
    assert_eq!(p.event_count(), 1);
}

#[test]
fn buffer_is_bounded_and_counts_drops() {
    let p = Profiler::new(ProfileConfig { max_events: 3, ..ProfileConfig::development() });
    for i in 0..5 {
        p.push(ev(&format!("n{i}"), Some("Add"), ProfileCategory::Ops, 1.0));
    }
    assert_eq!(p.event_count(), 3);
    assert_eq!(p.dropped_events(), 2);
    assert_eq!(p.report().dropped_events, 2);
    p.clear();
    assert_eq!((p.event_count(), p.dropped_events()), (0, 0));
}

#[test]
fn start_and_stop() {
    let p = Profiler::new(ProfileConfig { enabled: false, ..ProfileConfig::development() });
    assert!(!p.is_active());
    drop(p.scope("off", ProfileCategory::Ops));
    assert_eq!(p.event_count(), 0);
    p.start();
    assert!(p.is_active());
    drop(p.scope("on", ProfileCategory::Ops).op_type("MatMul").arg("shape", "[2,3]"));
    p.stop();
    drop(p.scope("off again", ProfileCategory::Ops));
    let events = p.events();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].name, "on");
    assert_eq!(events[0].op_type.as_deref(), Some("MatMul"));
    assert_eq!(events[0].args, vec![("shape".to_string(), "[2,3]".to_string())]);
    assert!(events[0].duration_us >= 0.0);
}

#[test]
fn scopes_from_many_threads_get_thread_ids() {
    let p = std::sync::Arc::new(Profiler::new(ProfileConfig::development()));
    let handles: Vec<_> = (0..3)
        .map(|i| {
            let p = p.clone();
            std::thread::Builder::new()
                .name(format!("worker-{i}"))
                .spawn(move || drop(p.scope(format!("s{i}"), ProfileCategory::Ops)))
                .unwrap()
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let events = p.events();
    let mut tids: Vec<u64> = events.iter().map(|e| e.thread_id).collect();
    tids.sort();
    tids.dedup();
    assert_eq!(tids.len(), 3);
    assert!(events.iter().all(|e| e.thread_name.as_deref().is_some_and(|n| n.starts_with("worker-"))));
}

#[test]
fn chrome_trace_escapes_and_names_threads() {
    let p = Profiler::new(ProfileConfig::development());
    let mut e = ev("we\"ird\\name\n", Some("Conv"), ProfileCategory::Ops, 3.5);
    e.args.push(("input_shapes".to_string(), "[1,3,224,224]".to_string()));
    p.push(e);
    let v: serde_json::Value = serde_json::from_str(&p.to_chrome_trace()).unwrap();
    let evs = v["traceEvents"].as_array().unwrap();
    let x: Vec<_> = evs.iter().filter(|e| e["ph"] == "X").collect();
    assert_eq!(x.len(), 1);
    assert_eq!(x[0]["name"], "we\"ird\\name\n");
    assert_eq!(x[0]["dur"], 3.5);
    assert_eq!(x[0]["args"]["op_type"], "Conv");
    assert_eq!(x[0]["args"]["input_shapes"], "[1,3,224,224]");
    assert!(evs.iter().any(|e| e["ph"] == "M" && e["name"] == "thread_name" && e["tid"] == 1));
}
