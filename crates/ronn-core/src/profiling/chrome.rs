//! Chrome trace event JSON: complete (`"ph":"X"`) events plus `"M"` metadata naming the
//! process and each thread, the format Perfetto and `chrome://tracing` read.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use super::ProfileEvent;

/// The events as `{"traceEvents":[...],"displayTimeUnit":"ms"}`; serde_json escapes names.
pub(super) fn to_chrome_trace(events: &[ProfileEvent], dropped: u64) -> String {
    let mut threads: BTreeMap<u64, String> = BTreeMap::new();
    let mut out: Vec<Value> = Vec::with_capacity(events.len() + 8);
    out.push(json!({"name": "process_name", "ph": "M", "ts": 0, "pid": 1, "tid": 0, "args": {"name": "ronn"}}));
    for e in events {
        threads.entry(e.thread_id).or_insert_with(|| match &e.thread_name {
            Some(n) => format!("{n} ({})", e.thread_id),
            None => format!("thread {}", e.thread_id),
        });
        let mut args = Map::new();
        if let Some(op) = &e.op_type {
            args.insert("op_type".to_string(), Value::String(op.clone()));
        }
        for (k, v) in &e.args {
            args.insert(k.clone(), Value::String(v.clone()));
        }
        out.push(json!({
            "name": e.name,
            "cat": e.category.name(),
            "ph": "X",
            "ts": e.start_us,
            "dur": e.duration_us.max(0.0),
            "pid": 1,
            "tid": e.thread_id,
            "args": Value::Object(args),
        }));
    }
    for (tid, name) in threads {
        out.push(json!({"name": "thread_name", "ph": "M", "ts": 0, "pid": 1, "tid": tid, "args": {"name": name}}));
    }
    json!({"traceEvents": out, "displayTimeUnit": "ms", "otherData": {"dropped_events": dropped}}).to_string()
}
