//! A small service loop: one shared session with its memory pool, many client
//! threads sending one-row requests through a dynamic [`BatchProcessor`], and
//! the batching and pool statistics at the end.
//!
//! `cargo run --release -p ronn --example serving -- crates/ronn-cli/assets/digits.onnx`

use ronn::{BatchConfig, BatchProcessor, BatchStrategy, CloseMode, Model, SessionOptions, Tensor};
use std::sync::Arc;

fn main() -> ronn::Result<()> {
    let path = std::env::args().nth(1).unwrap_or_else(|| "crates/ronn-cli/assets/digits.onnx".into());
    let model = Model::load(&path)?;
    let input = model.inputs().first().map(|i| i.name.clone()).unwrap_or_default();
    let width = 64; // the digits model reads 8x8 images as [N, 64]
    let session = Arc::new(model.create_session(SessionOptions { num_threads: 2, ..Default::default() })?);
    let processor = Arc::new(BatchProcessor::new(
        session.clone(),
        BatchConfig {
            strategy: BatchStrategy::Dynamic { max_batch_size: 32, max_delay: std::time::Duration::from_millis(2) },
            queue_capacity: 256,
        },
    )?);

    let clients: Vec<_> = (0..8)
        .map(|c| {
            let (processor, input) = (processor.clone(), input.clone());
            std::thread::spawn(move || -> ronn::Result<usize> {
                let mut answered = 0;
                for r in 0..50 {
                    let pixels: Vec<f32> = (0..width).map(|i| ((i + c * 7 + r) % 17) as f32).collect();
                    let x = Tensor::from_vec(vec![1, width], pixels)?;
                    let out = processor.submit([(input.as_str(), x)])?.wait()?;
                    // Every request gets exactly its own row back.
                    assert_eq!(out.tensor("probabilities")?.shape(), &[1, 10]);
                    answered += 1;
                }
                Ok(answered)
            })
        })
        .collect();
    let mut total = 0;
    for c in clients {
        total += c.join().map_err(|_| ronn::Error::Panic("a client thread panicked".into()))??;
    }
    processor.close(CloseMode::Drain);
    let s = processor.stats();
    println!(
        "{total} requests in {} batches (avg {:.1}); queue wait p50 {:.2} ms p99 {:.2} ms; rejected {}",
        s.batches, s.average_batch_size, s.queue_wait_p50_ms, s.queue_wait_p99_ms, s.rejected
    );
    if let Some(pool) = session.memory_pool() {
        let p = pool.stats();
        println!("memory pool: hit rate {:.1}%, {} buffers held", p.hit_rate() * 100.0, p.buffers);
    }
    assert_eq!(total, 400);
    Ok(())
}
