//! `ronn profile`: runs a model with per-node profiling on, prints the per-op report
//! and writes a Chrome trace (open it in Perfetto or `chrome://tracing`).

use crate::{embedded, inputs, npy, SessionArgs};
use clap::Args;
use ronn::{ProfileConfig, Result, Value};
use std::path::PathBuf;

#[derive(Args)]
pub struct ProfileArgs {
    /// The .onnx file (default: the embedded digit classifier).
    model: Option<PathBuf>,
    /// An input as NAME=FILE.npy (repeatable); others are random.
    #[arg(long = "input", value_name = "NAME=FILE.npy")]
    input: Vec<String>,
    /// Profiled runs.
    #[arg(long, default_value_t = 10)]
    runs: usize,
    /// Unprofiled warm-up runs before them.
    #[arg(long, default_value_t = 2)]
    warmup: usize,
    /// Where to write the Chrome trace JSON.
    #[arg(long, default_value = "trace.json")]
    out: PathBuf,
    #[command(flatten)]
    session: SessionArgs,
}

/// Warm-up unprofiled, then `--runs` profiled runs; report to stdout, trace to `--out`.
pub fn profile(a: &ProfileArgs) -> Result<()> {
    let model = crate::load_model(a.model.as_ref())?;
    let mut given = inputs::from_npy_args(&model, &a.input)?;
    if a.model.is_none() && given.is_empty() {
        given.push(("pixels".into(), Value::Tensor(npy::read(embedded::DIGITS_INPUTS)?)));
    }
    let feeds = inputs::complete(&model, given, false)?;
    let config = ProfileConfig { enabled: false, ..ProfileConfig::development() };
    let session = model.create_session(a.session.options()?.with_profiling(config))?;
    let profiler =
        session.profiler().ok_or_else(|| ronn::Error::Internal("the session lost its profiler".into()))?.clone();
    for _ in 0..a.warmup {
        session.run(feeds.clone())?;
    }
    profiler.start();
    for _ in 0..a.runs.max(1) {
        session.run(feeds.clone())?;
    }
    profiler.stop();
    profiler.report().print();
    profiler.write_chrome_trace(&a.out)?;
    println!(
        "wrote {} events ({} dropped) from {} runs to {}",
        profiler.event_count(),
        profiler.dropped_events(),
        a.runs.max(1),
        a.out.display()
    );
    Ok(())
}
