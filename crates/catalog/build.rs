//! Rebuilds the crate when any catalog file is added, removed or edited: `include_dir!` alone
//! only notices edits to files that already existed.

fn main() {
    println!("cargo:rerun-if-changed=../../catalog");
}
