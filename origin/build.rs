//! Embeds hls.js in the origin when `scripts/setup` has installed it (npm, into
//! `scripts/player/node_modules`): sets `cfg(hls_js)` and `LLHLS_HLS_JS` (its path) for
//! `pages.rs`. Without it the origin builds all the same and `/player/hls.min.js` says how to
//! install it. hls.js is third-party: it is never copied into the repository.

use std::path::Path;

fn main() {
    println!("cargo::rustc-check-cfg=cfg(hls_js)");
    let player = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/player");
    let hls = player.join("node_modules/hls.js/dist/hls.min.js");
    if hls.is_file() {
        println!("cargo::rerun-if-changed={}", hls.display());
        println!("cargo::rustc-cfg=hls_js");
        println!("cargo::rustc-env=LLHLS_HLS_JS={}", hls.display());
    } else {
        // Not installed: look again when anything under scripts/player changes (npm install
        // creates node_modules there). A missing path would rerun this script on every build.
        println!("cargo::rerun-if-changed={}", player.display());
    }
}
