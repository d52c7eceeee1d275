//! `ronn bench`: warm-up, then latency percentiles and throughput, like
//! onnxruntime_perf_test, with a live progress line on long runs.
//!
//! With `--concurrency C`, C client threads share one session for the time
//! budget (optionally through a `BatchProcessor`, `--batching`), which measures
//! serving throughput rather than single-run latency.

use crate::{embedded, inputs, npy, SessionArgs};
use clap::Args;
use ronn::{BatchConfig, BatchProcessor, BatchStrategy, Error, Outputs, Result, Session, Value};
use std::path::PathBuf;
use std::sync::Arc;
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
    /// Client threads running requests at once against one session.
    #[arg(long, default_value_t = 1)]
    concurrency: usize,
    /// Batch the clients' requests: static:N or dynamic:N:MS (needs --concurrency).
    #[arg(long, value_parser = parse_batching)]
    batching: Option<BatchStrategy>,
    /// Queue capacity of the batch processor.
    #[arg(long, default_value_t = 1024)]
    queue_capacity: usize,
    #[command(flatten)]
    session: SessionArgs,
}

fn parse_batching(s: &str) -> std::result::Result<BatchStrategy, String> {
    let parts: Vec<&str> = s.split(':').collect();
    let num = |p: &str| p.parse::<u64>().map_err(|_| format!("'{p}' is not a number in --batching {s}"));
    match parts.as_slice() {
        ["static", n] => Ok(BatchStrategy::Static { batch_size: num(n)? as usize }),
        ["dynamic", n, ms] => Ok(BatchStrategy::Dynamic {
            max_batch_size: num(n)? as usize,
            max_delay: std::time::Duration::from_millis(num(ms)?),
        }),
        _ => Err(format!("--batching takes static:N or dynamic:N:MS, got '{s}'")),
    }
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
    if a.concurrency > 1 || a.batching.is_some() {
        return concurrent(a, Arc::new(session), feeds, load_ms, session_ms);
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

/// C client threads against one session (through a batch processor with
/// `--batching`), each running requests back to back for the time budget.
fn concurrent(
    a: &BenchArgs,
    session: Arc<Session>,
    feeds: Vec<(String, Value)>,
    load_ms: f64,
    session_ms: f64,
) -> Result<()> {
    let clients = a.concurrency.max(1);
    let processor = match a.batching {
        Some(strategy) => {
            let p = BatchProcessor::new(session.clone(), BatchConfig { strategy, queue_capacity: a.queue_capacity })?;
            // One batch of the full size first, so its plan is built before timing.
            let rows = match strategy {
                BatchStrategy::Static { batch_size } => batch_size,
                BatchStrategy::Dynamic { max_batch_size, .. } => max_batch_size,
            };
            let t = std::time::Instant::now();
            let tickets = (0..rows).map(|_| p.submit(feeds.clone())).collect::<Result<Vec<_>>>()?;
            p.flush();
            for t in tickets {
                t.wait()?;
            }
            eprintln!("warm-up batch of {rows}: {:.1} ms", t.elapsed().as_secs_f64() * 1e3);
            Some(Arc::new(p))
        }
        None => None,
    };
    let budget = Duration::from_secs_f64(a.seconds.max(0.1));
    let per_client = a.runs.map(|n| n.div_ceil(clients));
    let start = Instant::now();
    let handles: Vec<_> = (0..clients)
        .map(|_| {
            let (session, processor, feeds) = (session.clone(), processor.clone(), feeds.clone());
            std::thread::spawn(move || -> Result<Vec<f64>> {
                let mut times = Vec::new();
                loop {
                    let t = Instant::now();
                    let r: Result<Outputs> = match &processor {
                        Some(p) => p.submit(feeds.clone()).and_then(|t| t.wait()),
                        None => session.run(feeds.clone()),
                    };
                    r?;
                    times.push(t.elapsed().as_secs_f64() * 1e3);
                    let done = match per_client {
                        Some(n) => times.len() >= n.max(1),
                        None => start.elapsed() >= budget,
                    };
                    if done {
                        return Ok(times);
                    }
                }
            })
        })
        .collect();
    let mut times = Vec::new();
    for h in handles {
        let t = h.join().map_err(|_| Error::Panic("a bench client panicked".into()))??;
        times.extend(t);
    }
    let wall = start.elapsed().as_secs_f64();
    times.sort_by(|x, y| x.total_cmp(y));
    let name = a.model.as_ref().map(|p| p.display().to_string()).unwrap_or_else(|| "embedded digit classifier".into());
    println!("model:      {name}");
    println!(
        "threads:    {}  opt level: {:?}  provider: {}  clients: {clients}  batching: {}",
        session.num_threads(),
        session.options().optimization_level,
        a.session.provider,
        match a.batching {
            None => "none".to_string(),
            Some(BatchStrategy::Static { batch_size }) => format!("static:{batch_size}"),
            Some(BatchStrategy::Dynamic { max_batch_size, max_delay }) =>
                format!("dynamic:{max_batch_size}:{}", max_delay.as_millis()),
        }
    );
    println!("load:       {load_ms:.1} ms   session creation: {session_ms:.1} ms");
    println!("requests:   {} in {wall:.2} s", times.len());
    println!(
        "latency ms: min {:.3}  p50 {:.3}  p90 {:.3}  p99 {:.3}  max {:.3}",
        times[0],
        pct(&times, 50.0),
        pct(&times, 90.0),
        pct(&times, 99.0),
        times[times.len() - 1]
    );
    println!("throughput: {:.1} inferences/s", times.len() as f64 / wall);
    if let Some(p) = processor {
        p.close(ronn::CloseMode::Drain);
        let s = p.stats();
        println!(
            "batches:    {} (avg {:.2} requests)  queue wait ms p50 {:.3} p99 {:.3}  utilization {:.0}%  rejected {}  max queue {}",
            s.batches,
            s.average_batch_size,
            s.queue_wait_p50_ms,
            s.queue_wait_p99_ms,
            s.utilization * 100.0,
            s.rejected,
            s.max_queue_depth
        );
    }
    print_pool(&session);
    Ok(())
}
