fn main() {
    // Read at run time (not env!): the build script binary may be reused from another checkout.
    let dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let root = std::path::Path::new(&dir).join("../..");
    println!("cargo:rerun-if-changed=../src/ffi.rs");
    println!("cargo:rerun-if-changed=../../include/ronn/ronn.h");
    let mut cfg = ctest2::TestGenerator::new();
    cfg.header("ronn/ronn.h").include(root.join("include"));
    // The header typedefs its structs (`typedef struct {..} ronn_pool_stats;`), so no `struct ` prefix.
    // Rust's float names are not C's; ctest2 hands them to this hook too.
    cfg.type_name(|ty, _is_struct, _is_union| match ty {
        "f64" => "double".to_string(),
        "f32" => "float".to_string(),
        t => t.to_string(),
    });
    // Opaque handle types have no definition in C: only their pointers are checked.
    cfg.skip_struct(|s| {
        matches!(
            s,
            "ronn_env"
                | "ronn_session_options"
                | "ronn_session"
                | "ronn_run_options"
                | "ronn_tensor"
                | "ronn_memory_pool"
                | "ronn_request"
                | "ronn_batch_queue"
                | "ronn_profiler"
        )
    });
    cfg.skip_type(|t| matches!(t, "ronn_deleter" | "ronn_completion_fn"));
    cfg.generate(root.join("ronn-sys/src/ffi.rs"), "all.rs");
}
