//! `s3wire::policy::aws_config::resolve_detailed` (what `resolve` wraps): the input is
//! `config text \0 environment (KEY=VALUE lines) \0 --profile value`; an empty profile means
//! no `--profile`. Config text is the shared AWS config file. Nothing may panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::collections::HashMap;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let [config, env_text, profile] = s3wire_fuzz::fields::<3>(text);
    let env: HashMap<String, String> = env_text
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let profile = (!profile.is_empty()).then_some(profile);
    let detailed =
        s3wire::policy::aws_config::resolve_detailed(&env, Some(config), "fuzz/config", profile);
    let plain = s3wire::policy::aws_config::resolve(&env, Some(config), "fuzz/config", profile);
    // The wrapper is the detailed resolution without its notes.
    assert_eq!(detailed.map(|r| r.endpoints).ok(), plain.ok());
});
