//! `ronn`: inspect, run and benchmark ONNX models.
//!
//! - `ronn info MODEL`
//! - `ronn run [MODEL] [--input NAME=FILE.npy]... [--inputs-dir DIR] [--outputs-dir DIR]`
//! - `ronn bench [MODEL] [--threads N] [--runs N | --seconds S]`
//! - `ronn profile [MODEL] [--runs N] [--warmup K] [--threads T] --out trace.json`
//!
//! Without MODEL, `run`, `bench` and `profile` use the embedded digit classifier.
#![forbid(unsafe_code)]

mod bench;
mod embedded;
mod info;
mod inputs;
mod npy;
mod profile;
mod run;

use clap::{Args, Parser, Subcommand};
use ronn::{MemoryPoolOption, Model, OptimizationLevel, ProviderType, SessionOptions};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "ronn", version, about = "RONN: run ONNX models, fast")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Inputs, outputs, opsets, producer, op histogram and parameter count of a model.
    Info {
        /// The .onnx file.
        model: PathBuf,
    },
    /// Runs a model once and writes or prints its outputs.
    Run(run::RunArgs),
    /// Measures a model's latency and throughput.
    Bench(bench::BenchArgs),
    /// Per-op report on the terminal and a Chrome trace file (Perfetto, chrome://tracing).
    Profile(profile::ProfileArgs),
    /// The operators this build runs: domain, op type, opset range, provider.
    Ops {
        /// One JSON object per line instead of a table.
        #[arg(long)]
        json: bool,
    },
}

/// Options shared by `run` and `bench`.
#[derive(Args, Clone)]
pub struct SessionArgs {
    /// Intra-op threads (0: one per core).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Graph optimization level: O0, O1, O2 or O3.
    #[arg(long = "opt-level", default_value = "O2", value_parser = parse_level)]
    pub opt_level: OptimizationLevel,
    /// Execution provider.
    #[arg(long, default_value = "cpu")]
    pub provider: String,
    /// Allocate every buffer fresh instead of reusing them from the session's memory pool.
    #[arg(long)]
    pub no_memory_pool: bool,
}

fn parse_level(s: &str) -> Result<OptimizationLevel, String> {
    match s.to_ascii_uppercase().as_str() {
        "O0" | "0" => Ok(OptimizationLevel::O0),
        "O1" | "1" => Ok(OptimizationLevel::O1),
        "O2" | "2" => Ok(OptimizationLevel::O2),
        "O3" | "3" => Ok(OptimizationLevel::O3),
        _ => Err(format!("unknown optimization level '{s}' (O0, O1, O2, O3)")),
    }
}

impl SessionArgs {
    /// The session options these flags describe.
    pub fn options(&self) -> ronn::Result<SessionOptions> {
        Ok(SessionOptions {
            optimization_level: self.opt_level,
            provider: ProviderType::parse(&self.provider)?,
            num_threads: self.threads,
            memory_pool: if self.no_memory_pool { MemoryPoolOption::Off } else { MemoryPoolOption::Own },
            ..Default::default()
        })
    }
}

/// Loads MODEL, or the embedded digit classifier when none is given.
pub fn load_model(path: Option<&PathBuf>) -> ronn::Result<Model> {
    match path {
        Some(p) => Model::load(p),
        None => Model::from_bytes(embedded::DIGITS_MODEL),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let r = match cli.cmd {
        Cmd::Info { model } => info::info(&model),
        Cmd::Run(a) => run::run(&a),
        Cmd::Bench(a) => bench::bench(&a),
        Cmd::Profile(a) => profile::profile(&a),
        Cmd::Ops { json } => {
            print_ops(json);
            Ok(())
        }
    };
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let msg = e.to_string().replace('\n', " ");
            eprintln!("error [{}]: {msg}", e.code());
            ExitCode::FAILURE
        }
    }
}

/// `ronn ops`: the registry as a table or JSON lines (scripts/gen-supported-ops.py reads the JSON).
fn print_ops(json: bool) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    for op in ronn::supported_ops() {
        let until = if op.until == i64::MAX { None } else { Some(op.until) };
        if json {
            let v = serde_json::json!({
                "domain": op.domain, "op_type": op.op_type, "since": op.since, "until": until, "provider": op.provider,
            });
            // A closed pipe (`ronn ops | head`) just ends the listing.
            if writeln!(out, "{v}").is_err() {
                return;
            }
        } else {
            let domain = if op.domain.is_empty() { "ai.onnx" } else { &op.domain };
            let range = match until {
                Some(u) => format!("{}-{u}", op.since),
                None => format!("{}+", op.since),
            };
            if writeln!(out, "{domain:<26} {:<28} {range:<8} {}", op.op_type, op.provider).is_err() {
                return;
            }
        }
    }
}
