//! `ronn bench`: warm-up, then latency percentiles and throughput, like
//! onnxruntime_perf_test, with a live progress line on long runs.

use crate::{embedded, inputs, npy, SessionArgs};
use clap::Args;
use ronn::{Result, Value};
use std::path::PathBuf;
use std::time::{Duration, Instant};

#[derive(Args)]
pub struct BenchArgs {
    /// The .onnx file (default: the embedded digit classifier).
    model: Option<PathBuf>,
    /// An input as NAME=FILE.npy (repeatable); others are random.
    #[arg(long = "input", value_name = "NAME=FILE.npy")]
    input: Vec<String>,
    /// Number of timed runs (default: as many as fit in --seconds).
    #[arg(long)]
    runs: Option<usize>,
    /// Seconds of timed runs when --runs is not given.
    #[arg(long, default_value_t = 5.0)]
    seconds: f64,
    /// Warm-up runs before timing.
    #[arg(long, default_value_t = 3)]
    warmup: usize,
    #[command(flatten)]
    session: SessionArgs,
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    let i = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[i.clamp(1, sorted.len()) - 1]
}

pub fn bench(a: &BenchArgs) -> Result<()> {
    let t_load = Instant::now();
    let model = crate::load_model(a.model.as_ref())?;
    let load_ms = t_load.elapsed().as_secs_f64() * 1e3;
    let mut given = inputs::from_npy_args(&model, &a.input)?;
    if a.model.is_none() && given.is_empty() {
        given.push(("pixels".into(), Value::Tensor(npy::read(embedded::DIGITS_INPUTS)?)));
    }
    let feeds = inputs::complete(&model, given, false)?;
    let t_sess = Instant::now();
    let session = model.create_session(a.session.options()?)?;
    let session_ms = t_sess.elapsed().as_secs_f64() * 1e3;
    for _ in 0..a.warmup {
        session.run(feeds.clone())?;
    }
    if let Some(pool) = session.memory_pool() {
        pool.reset_stats();
    }
    let budget = Duration::from_secs_f64(a.seconds.max(0.0));
    let want = a.runs;
    let bar = indicatif::ProgressBar::new(want.map(|n| n as u64).unwrap_or((a.seconds * 10.0) as u64));
    bar.set_style(
        indicatif::ProgressStyle::with_template("{spinner} {pos}/{len} {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let mut shown = false;
    let mut times = Vec::new();
    let start = Instant::now();
    loop {
        let t = Instant::now();
        session.run(feeds.clone())?;
        times.push(t.elapsed().as_secs_f64() * 1e3);
        let el = start.elapsed();
        if !shown && el > Duration::from_secs(1) {
            shown = true;
            bar.reset_elapsed();
        }
        if shown {
            match want {
                Some(_) => bar.set_position(times.len() as u64),
                None => bar.set_position((el.as_secs_f64() * 10.0) as u64),
            }
            bar.set_message(format!("{} runs, last {:.2} ms", times.len(), times[times.len() - 1]));
        }
        let done = match want {
            Some(n) => times.len() >= n.max(1),
            None => el >= budget && !times.is_empty(),
        };
        if done {
            break;
        }
    }
    let wall = start.elapsed().as_secs_f64();
    bar.finish_and_clear();
    let mut sorted = times.clone();
    sorted.sort_by(|x, y| x.total_cmp(y));
    let mean = times.iter().sum::<f64>() / times.len() as f64;
    let name = a.model.as_ref().map(|p| p.display().to_string()).unwrap_or_else(|| "embedded digit classifier".into());
    println!("model:      {name}");
    println!(
        "threads:    {}  opt level: {:?}  provider: {}",
        session.num_threads(),
        session.options().optimization_level,
        a.session.provider
    );
    println!("load:       {load_ms:.1} ms   session creation: {session_ms:.1} ms");
    println!("runs:       {} in {wall:.2} s (after {} warm-up)", times.len(), a.warmup);
    println!(
        "latency ms: min {:.3}  median {:.3}  p90 {:.3}  p99 {:.3}  mean {mean:.3}",
        sorted[0],
        pct(&sorted, 50.0),
        pct(&sorted, 90.0),
        pct(&sorted, 99.0)
    );
    println!("throughput: {:.1} runs/s", times.len() as f64 / wall);
    print_pool(&session);
    Ok(())
}

/// The memory pool's figures since warm-up.
pub fn print_pool(session: &ronn::Session) {
    match session.memory_pool() {
        Some(pool) => {
            let s = pool.stats();
            println!(
                "memory pool: hit rate {:.1}% ({} hits, {} misses) after warm-up; holds {} buffers, {:.1} MB (peak {:.1} MB)",
                s.hit_rate() * 100.0,
                s.hits,
                s.misses,
                s.buffers,
                s.bytes as f64 / 1e6,
                s.peak_bytes as f64 / 1e6
            );
        }
        None => println!("memory pool: off"),
    }
}
