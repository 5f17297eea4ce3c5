//! `jf_version()` reports the version written in the manifests, which is what
//! packagers and the Python wheel publish.

use std::ffi::CStr;
use std::path::Path;

/// The package version as Cargo.toml states it: ffi/Cargo.toml's own, or the
/// workspace's when it says `version.workspace = true`.
fn manifest_version() -> String {
    let read = |path: &Path| -> toml::Table {
        let text = std::fs::read_to_string(path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        toml::from_str(&text).unwrap_or_else(|e| panic!("{} is not TOML: {e}", path.display()))
    };
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let own = read(&dir.join("Cargo.toml"));
    match &own["package"]["version"] {
        toml::Value::String(version) => version.clone(),
        _ => {
            let root = read(&dir.join("../Cargo.toml"));
            root["workspace"]["package"]["version"]
                .as_str()
                .expect("[workspace.package] version is a string")
                .to_owned()
        }
    }
}

#[test]
fn jf_version_is_the_manifest_version() {
    let version = unsafe { CStr::from_ptr(jifen::jf_version()) };
    assert_eq!(version.to_str(), Ok(manifest_version().as_str()));
}
