//! Matrix multiplication. (Owned by the matmul/conv work; see ronn-cpu/src/matmul.rs.)
