//! Hosts that carry a bucket: `my-bucket.s3.local:8443` is the bucket `my-bucket` on the service
//! host `s3.local:8443`. Configured endpoints are often written so (object_store and obstore
//! take the bucket in the endpoint URL); read as a plain endpoint, every request to one would
//! be misnamed path-style.

/// Providers whose service host has a fixed number of labels before their domain, so that one
/// more leading part is a bucket (each provider's "virtual-hosted style" documentation). Only
/// domains that serve nothing but object storage: a shared cloud domain (`aliyuncs.com`) or one
/// with optional labels (R2's `{account}[.eu].r2…`) would make a service label look like a bucket.
const PROVIDER_SERVICES: &[(&str, usize)] = &[
    (".digitaloceanspaces.com", 1), // {bucket}.{region}.digitaloceanspaces.com
    (".linodeobjects.com", 1),      // {bucket}.{region}.linodeobjects.com
    (".storage.googleapis.com", 0), // {bucket}.storage.googleapis.com
];

/// The length of the bucket at the start of a host name that is `<bucket>.<service host>`:
/// the service host starts with a label `s3` or `s3-…` (`s3.local`, `s3.eu-central-003.
/// backblazeb2.com`, `s3-accelerate.example`), is `localhost`, or is a known provider's. A
/// bucket is 3–63 characters of `a-z 0-9 . -` (S3 bucket naming rules). IP literals carry none.
pub(super) fn bucket_in_name(name: &str) -> Option<usize> {
    if name.starts_with('[') || name.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return None;
    }
    let labels: Vec<&str> = name.split('.').collect();
    let service_at = labels
        .iter()
        .enumerate()
        .skip(1)
        .find(|(i, l)| {
            ((**l == "s3" || l.starts_with("s3-")) && *i + 1 < labels.len())
                || (**l == "localhost" && *i + 1 == labels.len())
        })
        .map(|(i, _)| i)
        .or_else(|| {
            PROVIDER_SERVICES.iter().find_map(|(suffix, extra)| {
                let rest = name.strip_suffix(suffix)?;
                let n = rest.split('.').count();
                (n > *extra).then(|| n - extra)
            })
        })?;
    let len = labels[..service_at]
        .iter()
        .map(|l| l.len() + 1)
        .sum::<usize>()
        - 1;
    let bucket = name.get(..len)?;
    let ok_char = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.';
    let edge = |b: Option<u8>| b.is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    ((3..=63).contains(&bucket.len())
        && bucket.bytes().all(ok_char)
        && edge(bucket.bytes().next())
        && edge(bucket.bytes().last()))
    .then_some(len)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_in_a_host_name() {
        fn bucket(name: &str) -> Option<&str> {
            bucket_in_name(name).map(|len| &name[..len])
        }
        assert_eq!(bucket("my-bucket.s3.local"), Some("my-bucket"));
        assert_eq!(bucket("b.c.s3.eu-central-003.backblazeb2.com"), Some("b.c"));
        assert_eq!(bucket("fxa.s3-accelerate.example"), Some("fxa"));
        assert_eq!(bucket("fxl.localhost"), Some("fxl"));
        assert_eq!(bucket("bkt.nyc3.digitaloceanspaces.com"), Some("bkt"));
        assert_eq!(bucket("bkt.storage.googleapis.com"), Some("bkt"));
        // Service hosts, and names that cannot be buckets.
        for name in [
            "s3.local",
            "nyc3.digitaloceanspaces.com",
            "storage.googleapis.com",
            "minio.example.com",
            "localhost",
            "x.s3",
            "ab.s3.local",
            "My_Bucket.s3.local",
            "-b-.s3.local",
            "10.0.0.1",
            "[::1]",
        ] {
            assert_eq!(bucket(name), None, "{name}");
        }
    }
}
