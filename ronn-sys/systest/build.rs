fn main() {
    // Read at run time (not env!): the build script binary may be reused from another checkout.
    let dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let root = std::path::Path::new(&dir).join("../..");
    println!("cargo:rerun-if-changed=../src/ffi.rs");
    println!("cargo:rerun-if-changed=../../include/ronn/ronn.h");
    let mut cfg = ctest2::TestGenerator::new();
    cfg.header("ronn/ronn.h").include(root.join("include"));
    // The header typedefs its structs (`typedef struct {..} ronn_pool_stats;`), so no `struct ` prefix.
    cfg.type_name(|ty, _is_struct, _is_union| ty.to_string());
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
        )
    });
    cfg.skip_type(|t| matches!(t, "ronn_deleter"));
    cfg.generate(root.join("ronn-sys/src/ffi.rs"), "all.rs");
}
