//! The report is the same whatever the number of threads: `--threads 1` keeps every stage on
//! one thread, more puts the report writer on its own; every format, every fixture.

use crate::harness::Fixture;

/// The output with the command line (which names `--threads`) taken out.
fn report(f: &Fixture, format: &str, threads: &str) -> String {
    let threads = format!("--threads={threads}");
    let out = f.run(format, &[threads.as_str(), "-v"]);
    assert!(matches!(out.status.code(), Some(0 | 1)), "{}", f.name);
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter(|l| !l.contains("--threads") && !l.starts_with("<sub>s3wire"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn one_thread_and_many_write_the_same_report() {
    let mut compared = 0;
    for f in Fixture::all() {
        for format in ["json", "jsonl", "table", "markdown"] {
            let one = report(&f, format, "1");
            assert!(one.len() > 200, "{} {format}: {one}", f.name);
            let many = report(&f, format, "4");
            assert!(one == many, "{} {format}: {one}\n---\n{many}", f.name);
            compared += 1;
        }
    }
    assert!(compared >= 4 * 20, "{compared}");
}
